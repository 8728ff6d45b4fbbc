"""A condition chooses its recommender (features, tagger, trained CNN) apart from its explanation, and every
explanation comes from the model that made the recommendation."""
import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from explanations import network_regions
from research import services as research_services
from study.models import Condition
from tests.factories import make_study
from tests.participants import ParticipantBrowser
from tests.study.test_parity import walk

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def networked(networked_catalog):
    return networked_catalog


@pytest.fixture
def crossed(networked):
    """Recommender x explanation, crossed on purpose."""
    return make_study(networked, conditions=[
        ("features-chart", "features", 1, "features"),
        ("tagger-tags", "tags", 1, "tagger"),
        ("tagger-spectrogram", "spectrogram", 1, "tagger"),
        ("cnn-spectrogram", "spectrogram", 1, "cnn"),
        ("cnn-none", "none", 1, "cnn"),
    ])


@pytest.mark.parametrize(("recommender", "explanation"), [("cnn", "features"), ("cnn", "tags"), ("tagger", "features"),
                                                      ("features", "tags"), ("cnn", "both")])
def test_an_explanation_the_recommender_cannot_give_truthfully_is_refused(demo_catalog, recommender, explanation):
    with pytest.raises(ValidationError, match="cannot give a truthful"):
        make_study(demo_catalog, conditions=[("x", explanation, 1, recommender)])
    condition = Condition(recommender=recommender, explanation=explanation)
    with pytest.raises(ValidationError):
        condition.clean()


def test_each_condition_recommends_from_its_own_recommender_and_says_which_in_the_record(crossed, demo_catalog):
    liked = list(demo_catalog.tracks.order_by("pk")[:1])
    seen = {slug: walk(crossed, slug, liked) for slug in ("features-chart", "tagger-tags", "tagger-spectrogram",
                                                           "cnn-spectrogram", "cnn-none")}
    # The same recommender gives the same recommendations whatever its explanation.
    assert seen["tagger-tags"]["recommendations"] == seen["tagger-spectrogram"]["recommendations"]
    assert seen["cnn-spectrogram"]["recommendations"] == seen["cnn-none"]["recommendations"]
    for slug in seen:
        assert seen[slug]["questions"] == seen["features-chart"]["questions"]
        assert seen[slug]["pages"] == seen["features-chart"]["pages"]
    kinds = {
        p.assignment.condition.slug: {r.index.feature_set for r in p.recommendations.all()}
        for p in crossed.participants.select_related("assignment__condition")
    }
    assert kinds == {"features-chart": {"audio"}, "tagger-tags": {"tagger"}, "tagger-spectrogram": {"tagger"},
                     "cnn-spectrogram": {"cnn"}, "cnn-none": {"cnn"}}
    cnn = crossed.participants.get(assignment__condition__slug="cnn-spectrogram").recommendations.first()
    assert cnn.index.model.sha256 == cnn.spectrogram_explanation.data["model"]


def test_the_cnn_s_spectrogram_outlines_regions_of_the_recommendation_that_sum_exactly_to_the_score(
        crossed, demo_catalog):
    crossed.conditions.exclude(slug="cnn-spectrogram").update(is_active=False)
    browser = ParticipantBrowser(crossed)
    browser.get()
    browser.consent()
    browser.get_recommendations(demo_catalog.tracks.order_by("pk").first())
    for recommendation in browser.participant.recommendations.all():
        data = recommendation.spectrogram_explanation.data
        # The score is centred on the catalog (the index ranks by it) and the regions add up to it exactly.
        assert data["pair_sum"] == pytest.approx(recommendation.score, abs=1e-4)
        assert np.sum(data["region_pairs"]) == pytest.approx(recommendation.score, abs=1e-4)
        assert np.sum(data["by_region"]) == pytest.approx(recommendation.score, abs=1e-4)
        assert len(data["regions"]) <= 3 and len({tuple(r["liked"]) + tuple(r["liked_hz"]) for r in data["regions"]}) == len(data["regions"])
        for region in data["regions"]:
            assert region["score"] >= data["threshold"] > 0
            assert region["liked_hz"][1] > region["liked_hz"][0]
        outlined = sum(r["score"] for r in data["regions"]) / data["positive_sum"] if data["regions"] else 0.0
        assert data["outlined_share"] == pytest.approx(outlined, abs=2e-3)
        assert ("Together they carry" in recommendation.spectrogram_explanation.text) == bool(data["regions"])
    # Each drawing outlines each region pair on both panels, a box as tall as its pitch band, never two boxes
    # over the same cells of one track.
    for recommendation in browser.participant.recommendations.all():
        explanation = recommendation.spectrogram_explanation
        regions = explanation.data["regions"]
        for panel in explanation.drawing["panels"]:
            boxes = [(o["left"], o["bottom"]) for o in panel["outlines"]]
            assert len(boxes) == len(set(boxes)) == len(regions)
            assert all(0 < o["height"] < 100 for o in panel["outlines"])
        assert len(explanation.drawing["passages"]) == len(regions)


def test_the_tagger_s_spectrogram_outlines_what_occlusion_finds_on_each_track(crossed, demo_catalog):
    crossed.conditions.exclude(slug="tagger-spectrogram").update(is_active=False)
    browser = ParticipantBrowser(crossed)
    browser.get()
    browser.consent()
    browser.get_recommendations(demo_catalog.tracks.order_by("pk").first())
    recommendation = browser.participant.recommendations.first()
    data = recommendation.spectrogram_explanation.data
    assert data["method"].startswith("occlusion")
    assert data["occlusion_score"] == pytest.approx(recommendation.score, abs=1e-4)
    drops = {"liked": data["drops_liked"], "recommended": data["drops_recommended"]}
    for region in data["regions"]:
        side = "liked" if region["liked"] else "recommended"
        assert region["score"] == pytest.approx(max(d for d in drops[side] if round(d, 4) <= region["score"] + 1e-9), abs=1e-4)
        assert region["score"] >= network_regions.OCCLUSION_MIN_DROP


def test_the_tags_explanation_names_what_the_tagger_hears_in_both_in_the_participant_s_language(crossed, demo_catalog):
    crossed.conditions.exclude(slug="tagger-tags").update(is_active=False)
    browser = ParticipantBrowser(crossed)
    browser.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"
    browser.get()
    browser.consent()
    page = browser.get_recommendations(demo_catalog.tracks.order_by("pk").first()).content.decode()
    recommendation = browser.participant.recommendations.first()
    explanation = recommendation.tags_explanation
    assert explanation.kind == "tags" and explanation.language == "de"
    rows = explanation.data["rows"]
    shared = [r for r in rows if r["heard_in_both"]]
    # Named only where it stands out in both against the catalog's typical track (its median).
    assert all(min(r["liked"], r["recommended"]) >= max(r["threshold"], 2 * r["typical"]) for r in shared)
    if shared:
        assert explanation.text.startswith("Beide klingen mehr als die meisten Titel hier nach: ")
    else:
        assert explanation.text.startswith("Das Tagging-Modell hört kein Schlagwort")
    assert f"{recommendation.score:.2f}".replace(".", ",") in explanation.alt_text  # the score, German-style
    assert explanation.content_hash in page and explanation.text.split(":")[0] in page


def test_prerendering_draws_each_recommender_s_explanations_from_its_own_index(crossed, monkeypatch):
    """What is asked for, per index; drawing each figure is tested on its own (and takes time)."""
    asked = set()

    def record(*, kind, seed_track, track, index, language):
        asked.add((index.feature_set, kind, language))

    monkeypatch.setattr("explanations.services.explanation_get_or_render", record)
    batches = research_services.study_prerender_explanations(study=crossed)
    per_index = 12 * (crossed.n_recommendations + crossed.max_liked)
    assert [len(batch.pairs) for batch in batches] == [per_index] * 3  # features, tagger and CNN: each pool once, whatever its explanations
    assert asked == {
        (feature_set, kind, language)
        for feature_set, kind in (("audio", "features"), ("tagger", "tags"), ("tagger", "spectrogram"), ("cnn", "spectrogram"))
        for language in ("en", "de")
    }


def test_the_demo_gets_a_second_study_of_the_networks_once_the_catalog_has_them(demo_catalog, networked):
    import io

    from django.core.management import call_command

    from study.models import Study

    out = io.StringIO()
    call_command("create_demo_study", stdout=out)
    networks_study = Study.objects.get(slug="demo-networks")
    assert {(c.recommender, c.explanation) for c in networks_study.conditions.all()} == {
        ("cnn", "spectrogram"), ("tagger", "tags"), ("tagger", "spectrogram"),
    }
    assert "/s/demo-networks/" in out.getvalue()
    assert Study.objects.get(slug="demo").conditions.filter(recommender="features").count() == 2


def test_the_gallery_shows_which_tags_the_tagger_uses_most_on_the_study_s_catalog(crossed, admin_client):
    from research.gallery import study_tag_vocabularies

    chosen = next(v for v in study_tag_vocabularies(study=crossed) if v.chosen)
    assert chosen.code == "mtt" and 0 < len(chosen.usage) <= 10
    assert [u.top_share for u in chosen.usage] == sorted((u.top_share for u in chosen.usage), reverse=True)
    page = admin_client.get(reverse("admin:study_study_gallery", args=[crossed.pk]), {"n": 1}).content.decode()
    assert "vocabularies on this catalog" in page
    assert chosen.usage[0].tag in page


def test_a_study_without_a_tagger_index_shows_no_vocabulary(study):
    from research.gallery import study_tag_vocabularies

    assert all(v.usage == [] for v in study_tag_vocabularies(study=study))
