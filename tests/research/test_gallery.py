import pytest

from explanations.models import Explanation
from research.gallery import study_gallery
from study.models import Study
from tests.factories import make_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(demo_catalog):
    return make_study(
        demo_catalog,
        conditions=[("features", "features"), ("spectrogram", "spectrogram"), ("both", "both"), ("control", "none")],
    )


def test_the_gallery_shows_every_active_condition_in_every_language_with_its_numbers(study):
    study.conditions.filter(slug="spectrogram").update(is_active=False)
    rows = study_gallery(study=study, n_pairs=2, languages=["en", "de"])
    assert len(rows) == 2
    for row in rows:
        assert [cell["condition"].slug for cell in row["cells"]] == ["features", "both", "control"]
        for cell in row["cells"]:
            assert [(lang["code"], lang["name"]) for lang in cell["languages"]] == [("en", "English"), ("de", "Deutsch")]
            for language in cell["languages"]:
                kinds = [shown["explanation"].kind for shown in language["explanations"]]
                assert kinds == cell["condition"].explanation_kinds
                for shown in language["explanations"]:
                    explanation, numbers = shown["explanation"], shown["numbers"]
                    assert explanation.language == language["code"]
                    assert (explanation.seed_track, explanation.track) == (row["seed"], row["track"])
                    # The number each figure states is the recommendation's score.
                    assert numbers["score"] == pytest.approx(row["score"], abs=1e-6)
                    if numbers["kind"] == "features":
                        assert sum(bar["share"] for bar in numbers["bars"]) == pytest.approx(1 - row["score"], abs=1e-4)
                    else:
                        assert numbers["threshold"] == explanation.data["threshold"]
                        assert all(r["score"] >= numbers["threshold"] for r in numbers["regions"])
    # features + both: a chart each, both: a spectrogram; each pair in two languages.
    assert Explanation.objects.filter(kind="features").count() == 2 * 2 * 1
    assert Explanation.objects.filter(kind="spectrogram").count() == 2 * 2


def test_the_gallery_defaults_to_every_configured_language(study, settings):
    settings.LANGUAGES = [("en", "English"), ("de", "Deutsch")]
    rows = study_gallery(study=study, n_pairs=1)
    assert [lang["code"] for lang in rows[0]["cells"][0]["languages"]] == ["en", "de"]


def test_the_gallery_page_shows_conditions_by_languages(study, admin_client, settings):
    settings.LANGUAGES = [("en", "English"), ("de", "Deutsch")]
    page = admin_client.get(f"/admin/study/study/{study.pk}/gallery/?n=3")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<h3>Liked: ") == 3
    # features + both show a chart, spectrogram + both a spectrogram, control nothing: each in two languages
    assert html.count('class="explanation explanation-features"') == 3 * 2 * 2
    assert html.count('class="explanation explanation-spectrogram"') == 3 * 2 * 2
    assert html.count('class="none"') == 3 * 2
    assert html.count(" · English <small>") == html.count(" · Deutsch <small>") == 3 * 4  # a card per condition
    assert html.count('<table class="numbers"') == 3 * 4 * 2
    assert "share of 1 − score" in html and "Threshold" in html
    styles = {row.split("(")[1].split(")")[0] for row in html.split("Liked: ")[1:]}
    assert len(styles) == 3  # one liked track per style first


def test_the_gallery_is_for_staff_only(study, client, django_user_model):
    assert client.get(f"/admin/study/study/{study.pk}/gallery/").status_code == 302
    user = django_user_model.objects.create_user("participant-ish", password="x")
    client.force_login(user)
    assert client.get(f"/admin/study/study/{study.pk}/gallery/").status_code == 302


def test_the_study_page_links_to_its_gallery(study, admin_client):
    page = admin_client.get(f"/admin/study/study/{study.pk}/change/")
    assert f"/admin/study/study/{study.pk}/gallery/".encode() in page.content
    assert Study.objects.count() == 1
