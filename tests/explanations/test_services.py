import numpy as np
import pytest
from django.utils import translation
from matplotlib.patches import Rectangle

from explanations import charts, regions, services, verdicts
from explanations.models import Explanation
from recommender import csv_formats
from recommender import services as recommender_services
from recommender.models import AudioAnalysis, SimilarityIndex
from tests.explanations.test_charts import GERMAN

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(demo_catalog):
    index = recommender_services.catalog_latest_index(demo_catalog)
    seed, track = list(demo_catalog.tracks.select_related("analysis").order_by("pk")[:2])
    return index, seed, track


@pytest.fixture
def drawn(monkeypatch):
    """Every spectrogram Figure the service draws, to look at what it shows."""
    figures = []
    original = charts.spectrogram_figure

    def spy(*args, **kwargs):
        figures.append(original(*args, **kwargs))
        return figures[-1]

    monkeypatch.setattr(charts, "spectrogram_figure", spy)
    return figures


def outlines(fig):
    return [p for ax in fig.axes[:2] for p in ax.patches if isinstance(p, Rectangle)]


@pytest.mark.parametrize("kind", [Explanation.Kind.FEATURES, Explanation.Kind.SPECTROGRAM])
def test_an_explanation_is_rendered_once_and_named_by_its_content_hash(pair, kind, monkeypatch):
    index, seed, track = pair
    first = services.explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index)
    assert first.image.name == f"explanations/{first.content_hash}.png"
    assert first.image.read(8) == b"\x89PNG\r\n\x1a\n"
    # A second layout for phones, named after the same hash.
    assert first.image_narrow.name == f"explanations/{first.content_hash}-narrow.png"
    assert first.image_narrow.read(8) == b"\x89PNG\r\n\x1a\n"
    assert first.text and first.alt_text and first.language == "en"

    monkeypatch.setattr(services.charts, "contribution_chart", lambda *a, **k: pytest.fail("rendered again"))
    monkeypatch.setattr(services.charts, "spectrogram_pair", lambda *a, **k: pytest.fail("rendered again"))
    again = services.explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index)
    assert again.pk == first.pk and Explanation.objects.count() == 1


@pytest.mark.parametrize("kind", [Explanation.Kind.FEATURES, Explanation.Kind.SPECTROGRAM])
def test_each_language_is_its_own_explanation_drawn_in_that_language(pair, kind, monkeypatch):
    index, seed, track = pair
    english = services.explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index)
    seen = []
    original = charts.contribution_figure if kind == "features" else charts.spectrogram_figure

    def spy(*args, **kwargs):
        seen.append((translation.get_language(), kwargs["translate"]("Time (s)"), kwargs["translate"]("Tempo")))
        return original(*args, **kwargs)

    monkeypatch.setattr(charts, original.__name__, spy)
    monkeypatch.setattr(translation, "gettext", lambda message: GERMAN.get(message, message))
    german = services.explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index, language="de")
    assert german.pk != english.pk and german.content_hash != english.content_hash
    assert german.language == "de" and german.data["language"] == "de"
    # Drawn under the participant's language, with its gettext, for both layouts.
    assert seen == [("de", "Zeit (s)", "Tempo")] * 2
    if kind == "features":
        assert german.text.startswith("Empfohlen, weil es ähnlich klingt wie „")
    assert translation.get_language() == "en"


def test_a_lost_figure_file_is_drawn_again(pair):
    index, seed, track = pair
    explanation = services.explanation_get_or_render(kind="features", seed_track=seed, track=track, index=index)
    explanation.image.storage.delete(explanation.image.name)
    again = services.explanation_get_or_render(kind="features", seed_track=seed, track=track, index=index)
    assert again.pk == explanation.pk
    assert again.image.storage.exists(again.image.name)


def test_the_feature_bars_add_up_to_one_minus_the_recommendation_score(pair):
    index, seed, track = pair
    numbers = services.feature_distance_shares(index=index, seed_track=seed, track=track)
    loaded = recommender_services.load_index(index.pk)
    score = float(loaded.vector(seed.pk) @ loaded.vector(track.pk))
    assert numbers["score"] == pytest.approx(score, abs=1e-6)
    assert sum(numbers["shares"]) == pytest.approx(1 - score, abs=1e-5)
    assert numbers["seed_values"][0] == seed.analysis.features["tempo"]

    explanation = services.explanation_get_or_render(kind="features", seed_track=seed, track=track, index=index)
    bars = explanation.data["bars"]
    assert sum(b["share"] for b in bars) == pytest.approx(1 - score, abs=1e-5)
    assert {b["verdict"] for b in bars} <= {verdicts.ALIKE, verdicts.DIFFERENT, verdicts.NEITHER}
    for b in bars:  # the sentence names exactly the bars coloured alike (up to three) and the longest different one
        phrase = verdicts.GROUP_PHRASES[b["label"]]
        if b["verdict"] == verdicts.NEITHER:
            assert f" {phrase}" not in explanation.text.split("which you liked.")[1]


def test_the_feature_alt_text_reads_out_every_bar_with_both_tracks_values(pair):
    index, seed, track = pair
    explanation = services.explanation_get_or_render(kind="features", seed_track=seed, track=track, index=index)
    for label in ("Tempo", "Loudness", "Brightness", "Timbre (tone colour)", "Harmony (notes used)"):
        assert label in explanation.alt_text
    assert " BPM → " in explanation.alt_text and " kHz" in explanation.alt_text
    assert f"similarity {explanation.data['score']:.2f} = 1 − sum of the bars" in explanation.alt_text


@pytest.mark.parametrize("threshold", [-1.0, 1.01])
def test_the_spectrogram_outlines_exactly_the_passages_at_or_above_the_threshold(pair, drawn, monkeypatch, threshold):
    index, seed, track = pair
    monkeypatch.setattr(regions, "REGION_MIN_SIMILARITY", threshold)
    explanation = services.explanation_get_or_render(kind="spectrogram", seed_track=seed, track=track, index=index)
    data = explanation.data
    features = services.explanation_get_or_render(kind="features", seed_track=seed, track=track, index=index)
    assert data["score"] == features.data["score"]  # both conditions state the same number
    assert data["threshold"] == threshold
    # The 4 s demo clips hold one 3 s segment each.
    assert np.array(data["segment_similarity"]).shape == (1, 1)
    found = data["regions"]
    assert all(r["score"] >= threshold for r in found)
    assert len(found) == (1 if threshold < 0 else 0)
    for fig in drawn:
        assert len(outlines(fig)) == 2 * len(found)
        assert f"Similarity {data['score']:.2f}" in [t.get_text() for t in fig.texts]
    if found:
        assert "Outlined: 3-second passages that the recommender" in explanation.text
        assert f"at least {threshold:.2f} alike" in explanation.text
        assert f"A ({found[0]['score']:.2f} alike): {found[0]['liked'][0]:.0f}" in explanation.alt_text
    else:
        assert "Nothing is outlined: measured the way the recommender measures whole tracks" in explanation.text
    assert set(data["panels"]) == set(data["panels_narrow"]) == {"liked", "recommended"}


def test_an_analysis_made_before_segments_were_stored_gets_them_from_its_audio(pair):
    index, seed, track = pair
    AudioAnalysis.objects.filter(track__in=[seed, track]).update(segments=None)
    seed.analysis.refresh_from_db()
    track.analysis.refresh_from_db()
    explanation = services.explanation_get_or_render(kind="spectrogram", seed_track=seed, track=track, index=index)
    assert explanation.data["segment_similarity"]
    assert AudioAnalysis.objects.filter(track__in=[seed, track], segments__isnull=True).count() == 0


def test_an_index_of_catalog_features_outlines_nothing_and_says_why(demo_catalog, drawn):
    rng = np.random.default_rng(0)
    for track in demo_catalog.tracks.all():
        track.features = {name: float(rng.random()) for name in csv_formats.SPOTIFY_SIMILARITY_FEATURES}
        track.save(update_fields=["features"])
    index = recommender_services.index_build(catalog=demo_catalog, feature_set=SimilarityIndex.FeatureSet.CATALOG)
    seed, track = list(demo_catalog.tracks.select_related("analysis").order_by("pk")[:2])
    explanation = services.explanation_get_or_render(kind="spectrogram", seed_track=seed, track=track, index=index)
    assert explanation.data["regions"] == [] and explanation.data["segment_similarity"] is None
    assert "Nothing is outlined: this recommender compares features the catalog provides" in explanation.text
    assert all(not outlines(fig) for fig in drawn)


@pytest.mark.parametrize("title", ["Price Tag ($ $)", "a$b$c", "$\\notacommand{$", "x_1^2 \\alpha ♪"])
def test_titles_with_dollar_signs_render_literally_in_both_explanations(pair, title):
    index, seed, track = pair
    seed.title = track.title = title
    for kind in ("features", "spectrogram"):
        explanation = services.explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index)
        assert explanation.image.read(8) == b"\x89PNG\r\n\x1a\n"
        assert title in explanation.alt_text or title in explanation.text


def test_passages_that_cannot_be_measured_are_not_outlined_and_the_caption_says_so(pair, drawn):
    index, seed, track = pair
    AudioAnalysis.objects.filter(track=track).update(segments=None)
    track.analysis.refresh_from_db()
    track.audio = ""
    explanation = services.explanation_get_or_render(kind="spectrogram", seed_track=seed, track=track, index=index)
    assert explanation.data["regions"] == [] and explanation.data["segment_similarity"] is None
    assert "could not be measured" in explanation.text
    assert all(not outlines(fig) for fig in drawn)


@pytest.mark.parametrize("kind", ["features", "spectrogram"])
def test_german_figures_and_texts_write_decimals_with_a_comma(pair, kind, monkeypatch):
    """0,89 and 4,8 kHz for a German reader, with the real German catalogue; 0.89 for an English one."""
    index, seed, track = pair
    drawn = []
    original = charts.contribution_figure if kind == "features" else charts.spectrogram_figure

    def spy(*args, **kwargs):
        drawn.append(original(*args, **kwargs))
        return drawn[-1]

    monkeypatch.setattr(charts, original.__name__, spy)
    german = services.explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index, language="de")
    score = german.data["score"]
    written = f"{score:.2f}".replace(".", ",")
    texts = [t.get_text() for fig in drawn for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text()]
    assert f"Ähnlichkeit {written}" in " ".join(texts)
    assert f"Ähnlichkeit {written}" in german.alt_text
    assert not any(ch.isdigit() and nxt == "." and after.isdigit()
                   for t in [*texts, german.alt_text, german.text] for ch, nxt, after in zip(t, t[1:], t[2:]))
    english = services.explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index)
    assert f"imilarity {score:.2f}" in english.alt_text


@pytest.mark.parametrize("kind", [Explanation.Kind.FEATURES, Explanation.Kind.SPECTROGRAM])
def test_each_figure_s_size_is_recorded_and_the_page_keeps_its_place_while_it_loads(pair, kind):
    """A lazily loaded figure without width and height takes no room until it arrives, and everything below
    it (the questions a participant may be answering) jumps. The page states both sizes of both layouts."""
    from django.template.loader import render_to_string
    from PIL import Image

    index, seed, track = pair
    explanation = services.explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index)
    for field in ("image", "image_narrow"):
        with getattr(explanation, field).open("rb") as handle:
            assert explanation.data["pixels"][field] == list(Image.open(handle).size)
    html = render_to_string("snippets/explanation.html", {"explanation": explanation})
    (width, height), (narrow_width, narrow_height) = (explanation.data["pixels"][f] for f in ("image", "image_narrow"))
    assert f'loading="lazy" width="{width}" height="{height}">' in html
    assert f'srcset="{explanation.image_narrow.url}" width="{narrow_width}" height="{narrow_height}">' in html


def test_an_image_that_is_not_a_png_has_no_size():
    with pytest.raises(ValueError, match="not a PNG"):
        services.png_size(b"GIF89a" + bytes(30))
