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
    # A second layout for phones, named after the same hash.
    assert first.image_narrow.name == f"explanations/{first.content_hash}-narrow.png"
    assert first.image_narrow.read(8) == b"\x89PNG\r\n\x1a\n"
    assert first.text and first.alt_text

    monkeypatch.setattr(services.charts, "contribution_chart", lambda *a, **k: pytest.fail("rendered again"))
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


def test_the_feature_alt_text_reads_out_every_bar_with_both_tracks_values(pair):
    index, seed, track = pair
    explanation = services.explanation_get_or_render(kind="features", seed_track=seed, track=track, index=index)
    for label in ("Tempo", "Loudness", "Brightness", "Timbre (tone colour)", "Harmony (notes used)"):
        assert label in explanation.alt_text
    assert " BPM → " in explanation.alt_text and " kHz" in explanation.alt_text


def test_the_spectrogram_explanation_records_the_regions_it_outlines(pair):
    index, seed, track = pair
    explanation = services.explanation_get_or_render(kind="spectrogram", seed_track=seed, track=track, index=index)
    regions = explanation.data["regions"]
    assert regions[0]["label"] == "A"  # the 4 s test clips hold one 3 s segment each
    assert [r["score"] for r in regions] == sorted((r["score"] for r in regions), reverse=True)
    assert "Outlined = where the two tracks sound most alike" in explanation.text
    assert f"A: {regions[0]['liked'][0]:.0f}" in explanation.alt_text
    assert set(explanation.data["panels"]) == set(explanation.data["panels_narrow"]) == {"liked", "recommended"}
