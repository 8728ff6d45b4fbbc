import csv
import io

import pytest
from django.core.management import call_command

from explanations.models import Explanation
from tests.factories import make_study
from tests.study.conftest import ParticipantBrowser

pytestmark = pytest.mark.django_db(transaction=True)


def test_prerendering_covers_every_explanation_a_participant_can_be_shown(demo_catalog, tmp_path):
    # One kind keeps this fast; the pool and the caching do not depend on the kind.
    study = make_study(demo_catalog, conditions=[("features", "features"), ("control", "none")], max_liked=1)
    out = io.StringIO()
    call_command("prerender_explanations", study.slug, stdout=out)
    n_tracks = demo_catalog.tracks.count()
    pairs = n_tracks * (study.n_recommendations + study.max_liked)
    assert f"{pairs} track pairs sent" in out.getvalue()
    rendered = Explanation.objects.count()
    assert rendered == pairs
    assert all(e.image.storage.exists(e.image.name) for e in Explanation.objects.all())

    call_command("prerender_explanations", study.slug, stdout=io.StringIO())
    assert Explanation.objects.count() == rendered  # nothing drawn twice

    study.conditions.filter(slug="control").update(is_active=False)
    browser = ParticipantBrowser(study)
    browser.get()
    browser.consent()
    browser.get_recommendations(demo_catalog.tracks.first())
    assert Explanation.objects.count() == rendered  # the participant's figures were all ready
    browser.post("rate", browser.rating_answers())

    export = tmp_path / "answers.csv"
    call_command("export_responses", study.slug, "--out", str(export))
    rows = [r for r in csv.DictReader(export.open()) if r["section"] == "rating"]
    shown = {r["feature_explanation"] for r in rows}
    assert len(shown) == 5 and "" not in shown
    assert shown <= set(Explanation.objects.values_list("content_hash", flat=True))
    assert {r["spectrogram_explanation"] for r in rows} == {""}
