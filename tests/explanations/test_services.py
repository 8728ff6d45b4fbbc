import pytest

from explanations import services
from explanations.models import Explanation
from recommender import services as recommender_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(demo_catalog):
    index = recommender_services.catalog_latest_index(demo_catalog)
    seed, track = list(demo_catalog.tracks.order_by("pk")[:2])
    return index, seed, track


@pytest.mark.parametrize("kind", [Explanation.Kind.FEATURES, Explanation.Kind.SPECTROGRAM])
def test_an_explanation_is_rendered_once_and_named_by_its_content_hash(pair, kind, monkeypatch):
    index, seed, track = pair
    first = services.explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index)
    assert first.image.name == f"explanations/{first.content_hash}.png"
    assert first.image.read(8) == b"\x89PNG\r\n\x1a\n"
    assert first.text and first.alt_text

    monkeypatch.setattr(services.charts, "contribution_chart", lambda *a: pytest.fail("rendered again"))
    monkeypatch.setattr(services.charts, "spectrogram_pair", lambda *a, **k: pytest.fail("rendered again"))
    again = services.explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index)
    assert again.pk == first.pk and Explanation.objects.count() == 1


def test_a_lost_figure_file_is_drawn_again(pair):
    index, seed, track = pair
    explanation = services.explanation_get_or_render(kind="features", seed_track=seed, track=track, index=index)
    explanation.image.storage.delete(explanation.image.name)
    again = services.explanation_get_or_render(kind="features", seed_track=seed, track=track, index=index)
    assert again.pk == explanation.pk
    assert again.image.storage.exists(again.image.name)


def test_feature_explanation_numbers_add_up_to_the_recommendation_score(pair):
    index, seed, track = pair
    numbers = services.feature_contributions(index=index, seed_track=seed, track=track)
    loaded = recommender_services.load_index(index.pk)
    assert sum(numbers["contributions"]) == pytest.approx(float(loaded.vector(seed.pk) @ loaded.vector(track.pk)), abs=1e-5)
    assert numbers["seed_values"][0] == seed.analysis.features["tempo"]
