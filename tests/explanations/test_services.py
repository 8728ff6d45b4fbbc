import numpy as np
import pytest
from django.template.loader import render_to_string
from django.utils import translation

from explanations import drawing, regions, services, verdicts
from explanations.models import Explanation, Spectrogram
from recommender import csv_formats
from recommender import services as recommender_services
from recommender.models import AudioAnalysis, SimilarityIndex
from tests.explanations.test_drawing import GERMAN

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(demo_catalog):
    index = recommender_services.catalog_latest_index(demo_catalog)
    seed, track = list(demo_catalog.tracks.select_related("analysis").order_by("pk")[:2])
    return index, seed, track


def outlines(explanation):
    return [o for panel in explanation.drawing.get("panels", []) for o in panel["outlines"]]


@pytest.mark.parametrize("kind", [Explanation.Kind.FEATURES, Explanation.Kind.SPECTROGRAM])
def test_an_explanation_is_computed_once_and_named_by_its_content_hash(pair, kind, monkeypatch):
    index, seed, track = pair
    first = services.explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index)
    assert first.drawing and first.text and first.alt_text and first.language == "en"
    assert first.data["versions"] == {"renderer": services.RENDERER_VERSION[kind], "template": drawing.TEMPLATE_VERSION[kind]}
    assert not first.image  # no figure file: the page draws it

    monkeypatch.setattr(drawing, "feature_drawing", lambda *a, **k: pytest.fail("computed again"))
    monkeypatch.setattr(drawing, "spectrogram_drawing", lambda *a, **k: pytest.fail("computed again"))
    again = services.explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index)
    assert again.pk == first.pk and Explanation.objects.count() == 1


def test_the_content_hash_changes_with_the_template_s_version(pair, monkeypatch):
    """The record names what was shown: the same numbers drawn by another template are another explanation."""
    index, seed, track = pair
    first = services.explanation_get_or_render(kind="features", seed_track=seed, track=track, index=index)
    monkeypatch.setitem(drawing.TEMPLATE_VERSION, "features", drawing.TEMPLATE_VERSION["features"] + 1)
    second = services.explanation_get_or_render(kind="features", seed_track=seed, track=track, index=index)
    assert second.content_hash != first.content_hash and second.data["versions"]["template"] == first.data["versions"]["template"] + 1


def test_each_track_s_spectrogram_is_drawn_once_whatever_the_pairs_and_languages(pair, demo_catalog, monkeypatch):
    index, seed, track = pair
    drawn = []
    original = drawing.spectrogram_png
    monkeypatch.setattr(drawing, "spectrogram_png", lambda mel: drawn.append(1) or original(mel))
    third = demo_catalog.tracks.select_related("analysis").order_by("pk")[2]
    for other in (track, third):
        for language in ("en", "de"):
            services.explanation_get_or_render(kind="spectrogram", seed_track=seed, track=other, index=index, language=language)
    assert len(drawn) == 3 == Spectrogram.objects.count()  # three tracks, four explanations
    picture = Spectrogram.objects.get(track=seed)
    assert picture.image.read(8) == b"\x89PNG\r\n\x1a\n" and picture.seconds == pytest.approx(4.0, abs=0.05)  # the demo clips last 4 s


@pytest.mark.parametrize("kind", [Explanation.Kind.FEATURES, Explanation.Kind.SPECTROGRAM])
def test_each_language_is_its_own_explanation_written_in_that_language(pair, kind, monkeypatch):
    index, seed, track = pair
    english = services.explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index)
    monkeypatch.setattr(translation, "gettext", lambda message: GERMAN.get(message, message))
    german = services.explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index, language="de")
    assert german.pk != english.pk and german.content_hash != english.content_hash
    assert german.language == "de" and german.data["language"] == "de"
    assert german.drawing["title"].startswith("Ähnlichkeit ")
    if kind == "features":
        assert german.text.startswith("Empfohlen, weil es ähnlich klingt wie „")
    else:
        assert [p["title"] for p in german.drawing["panels"]] == [f"Dir gefällt: {seed.title}", f"Empfohlen: {track.title}"]
    assert translation.get_language() == "en"


def test_a_lost_spectrogram_file_is_drawn_again(pair):
    index, seed, track = pair
    explanation = services.explanation_get_or_render(kind="spectrogram", seed_track=seed, track=track, index=index)
    picture = explanation.liked_spectrogram
    picture.image.storage.delete(picture.image.name)
    again = services.explanation_get_or_render(kind="spectrogram", seed_track=seed, track=track, index=index)
    assert again.pk == explanation.pk
    assert picture.image.storage.exists(picture.image.name) and Spectrogram.objects.count() == 2


def test_a_lost_picture_is_drawn_again_without_computing_the_explanation_again(pair, monkeypatch):
    index, seed, track = pair
    explanation = services.explanation_get_or_render(kind="spectrogram", seed_track=seed, track=track, index=index)
    picture = explanation.recommended_spectrogram
    picture.image.storage.delete(picture.image.name)
    monkeypatch.setattr(drawing, "spectrogram_drawing", lambda *a, **k: pytest.fail("computed again"))
    services.explanation_get_or_render(kind="spectrogram", seed_track=seed, track=track, index=index)
    assert picture.image.storage.exists(picture.image.name)


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
def test_the_spectrogram_outlines_exactly_the_passages_at_or_above_the_threshold(pair, monkeypatch, threshold):
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
    assert len(outlines(explanation)) == 2 * len(found)
    assert explanation.drawing["title"] == f"Similarity {data['score']:.2f}"
    assert len(explanation.drawing["passages"]) == len(found)
    if found:
        assert "Outlined: 3-second passages that the recommender" in explanation.text
        assert f"at least {threshold:.2f} alike" in explanation.text
        assert f"A ({found[0]['score']:.2f} alike): {found[0]['liked'][0]:.0f}" in explanation.alt_text
    else:
        assert "Nothing is outlined: measured the way the recommender measures whole tracks" in explanation.text
    assert [p["role"] for p in explanation.drawing["panels"]] == ["liked", "recommended"]


def test_an_analysis_made_before_segments_were_stored_gets_them_from_its_audio(pair):
    index, seed, track = pair
    AudioAnalysis.objects.filter(track__in=[seed, track]).update(segments=None)
    seed.analysis.refresh_from_db()
    track.analysis.refresh_from_db()
    explanation = services.explanation_get_or_render(kind="spectrogram", seed_track=seed, track=track, index=index)
    assert explanation.data["segment_similarity"]
    assert AudioAnalysis.objects.filter(track__in=[seed, track], segments__isnull=True).count() == 0


def test_an_index_of_catalog_features_outlines_nothing_and_says_why(demo_catalog):
    rng = np.random.default_rng(0)
    for track in demo_catalog.tracks.all():
        track.features = {name: float(rng.random()) for name in csv_formats.SPOTIFY_SIMILARITY_FEATURES}
        track.save(update_fields=["features"])
    index = recommender_services.index_build(catalog=demo_catalog, feature_set=SimilarityIndex.FeatureSet.CATALOG)
    seed, track = list(demo_catalog.tracks.select_related("analysis").order_by("pk")[:2])
    explanation = services.explanation_get_or_render(kind="spectrogram", seed_track=seed, track=track, index=index)
    assert explanation.data["regions"] == [] and explanation.data["segment_similarity"] is None
    assert "Nothing is outlined: this recommender compares features the catalog provides" in explanation.text
    assert not outlines(explanation)


@pytest.mark.parametrize("title", ["Price Tag ($ $)", "<b>bold</b> & <script>x</script>", "x_1^2 \\alpha ♪"])
def test_titles_are_drawn_as_written_and_escaped_by_the_page(pair, title):
    index, seed, track = pair
    seed.title = track.title = title
    for kind in ("features", "spectrogram"):
        explanation = services.explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index)
        html = render_to_string("snippets/explanation.html", {"explanation": explanation})
        assert "<script>" not in html and "<b>bold" not in html
        assert title in explanation.alt_text or title in explanation.text


def test_passages_that_cannot_be_measured_are_not_outlined_and_the_caption_says_so(pair):
    index, seed, track = pair
    AudioAnalysis.objects.filter(track=track).update(segments=None)
    track.analysis.refresh_from_db()
    track.audio = ""
    explanation = services.explanation_get_or_render(kind="spectrogram", seed_track=seed, track=track, index=index)
    assert explanation.data["regions"] == [] and explanation.data["segment_similarity"] is None
    assert "could not be measured" in explanation.text
    assert not outlines(explanation)


@pytest.mark.parametrize("kind", ["features", "spectrogram"])
def test_german_drawings_and_texts_write_decimals_with_a_comma(pair, kind):
    """0,89 and 4,8 kHz for a German reader, with the real German catalogue; 0.89 for an English one."""
    index, seed, track = pair
    german = services.explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index, language="de")
    score = german.data["score"]
    written = f"{score:.2f}".replace(".", ",")
    html = render_to_string("snippets/explanation.html", {"explanation": german})
    assert f"Ähnlichkeit {written}" in html and f"Ähnlichkeit {written}" in german.alt_text
    shown = [german.drawing["title"], german.alt_text, german.text]
    assert not any(ch.isdigit() and nxt == "." and after.isdigit()
                   for t in shown for ch, nxt, after in zip(t, t[1:], t[2:]))
    english = services.explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index)
    assert f"imilarity {score:.2f}" in english.alt_text


@pytest.mark.parametrize("kind", [Explanation.Kind.FEATURES, Explanation.Kind.SPECTROGRAM])
def test_the_page_draws_the_explanation_as_text_and_svg_in_its_own_language(pair, kind):
    """Whatever language the page around it is in (the gallery shows both), an explanation is drawn in its own;
    the positions in its markup are written with a point, never a German comma."""
    index, seed, track = pair
    german = services.explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index, language="de")
    with translation.override("en"):
        html = render_to_string("snippets/explanation.html", {"explanation": german})
    assert german.drawing["title"] in html and f'data-explanation="{german.content_hash}"' in html
    assert "<img" not in html or 'alt=""' in html  # pictures only under the drawing; the words are text
    assert not __import__("re").search(r'(width|left|bottom|height)(="|: )\d+,\d', html)
    if kind == "spectrogram":
        assert "Tonhöhe (Hz)" in html and german.liked_spectrogram.image.url in html
        assert f'width="{german.liked_spectrogram.pixels[0]}" height="{german.liked_spectrogram.pixels[1]}"' in html


def test_an_explanation_drawn_as_a_picture_by_an_earlier_version_is_still_shown(pair):
    """Rows from before the page drew explanations keep their PNG: the record of what was shown stays readable."""
    from django.core.files.base import ContentFile

    index, seed, track = pair
    old = Explanation(kind="features", seed_track=seed, track=track, index=index, content_hash="0" * 64, text="old",
                      alt_text="The old chart.", data={"pixels": {"image": [800, 400]}})
    old.image.save("old.png", ContentFile(b"\x89PNG\r\n\x1a\n" + bytes(24)), save=True)
    html = render_to_string("snippets/explanation.html", {"explanation": old})
    assert f'src="{old.image.url}" alt="The old chart." loading="lazy" width="800" height="400"' in html
