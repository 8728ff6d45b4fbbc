import csv
import io

import pytest
from django.core.management import call_command

from explanations.models import Explanation
from tests.factories import make_study
from tests.participants import ParticipantBrowser

pytestmark = pytest.mark.django_db(transaction=True)


def test_prerendering_covers_every_explanation_a_participant_can_be_shown(demo_catalog, tmp_path, settings):
    # One kind, one language and three recommendations keep this fast; the pool and the caching
    # depend on none of them (every language: the next test).
    settings.LANGUAGES = [("en", "English")]
    study = make_study(
        demo_catalog, conditions=[("features", "features"), ("control", "none")], max_liked=1, n_recommendations=3
    )
    out = io.StringIO()
    call_command("prerender_explanations", study.slug, stdout=out)
    n_tracks = demo_catalog.tracks.count()
    pairs = n_tracks * (study.n_recommendations + study.max_liked)
    assert f"{pairs} track pairs sent" in out.getvalue()
    rendered = Explanation.objects.count()
    assert rendered == pairs * len(settings.LANGUAGES)  # each pair in every language a participant may read
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
    call_command("export_responses", study.slug, "--out", str(export), "--reason", "test: the record")
    rows = [r for r in csv.DictReader(export.open()) if r["section"] == "rating"]
    shown = {r["feature_explanation"] for r in rows}
    assert len(shown) == 3 and "" not in shown
    assert shown <= set(Explanation.objects.values_list("content_hash", flat=True))
    assert {r["spectrogram_explanation"] for r in rows} == {""}


def test_prerendering_draws_each_pair_in_every_language_asked_for(demo_catalog):
    from explanations.services import explanations_prerender, pool_pairs
    from recommender.services import catalog_latest_index

    index = catalog_latest_index(demo_catalog)
    sent = len(explanations_prerender(index=index, kinds=["features"], per_seed=1, languages=["en", "de"]))
    assert sent == len(pool_pairs(index=index, per_seed=1))
    assert Explanation.objects.filter(language="en").count() == sent
    assert Explanation.objects.filter(language="de").count() == sent
    # Without languages it stays English, as before, and finds everything drawn already.
    explanations_prerender(index=index, kinds=["features"], per_seed=1)
    assert Explanation.objects.count() == 2 * sent
