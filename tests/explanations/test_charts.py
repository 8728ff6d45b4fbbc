import numpy as np
import pytest

from explanations import charts
from recommender import audio, similarity

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def shares():
    rng = np.random.default_rng(3)
    vectors = similarity.build_index(rng.normal(size=(50, len(audio.FEATURE_NAMES)))).vectors
    return similarity.contributions(vectors[0], vectors[1])


def test_bars_group_features_and_still_sum_to_the_score(shares):
    bars = charts.chart_bars(audio.FEATURE_NAMES, shares)
    assert sum(bar.contribution for bar in bars) == pytest.approx(shares.sum())
    assert {bar.label for bar in bars} >= {"Tempo", "Loudness", "Timbre (tone colour)", "Harmony (notes used)"}
    assert sorted(f for bar in bars for f in bar.features) == sorted(audio.FEATURE_NAMES)
    sizes = [abs(bar.contribution) for bar in bars]
    assert sizes == sorted(sizes, reverse=True)


def test_the_sentence_names_the_chart_s_top_agreeing_and_most_different_bars(shares):
    bars = charts.chart_bars(audio.FEATURE_NAMES, shares)
    text = charts.sentence(bars, "Liked Song")
    agreeing = sorted((b for b in bars if b.contribution > 0), key=lambda b: -b.contribution)[:3]
    for bar in agreeing:
        assert bar.label.split(" (")[0].lower() in text
    most_different = min(bars, key=lambda b: b.contribution)
    assert f"differ most in {most_different.label.split(' (')[0].lower()}" in text
    assert "“Liked Song”" in text


def test_sentence_without_disagreement_says_nothing_about_differences():
    bars = [charts.ChartBar("Tempo", 0.5, ("tempo",)), charts.ChartBar("Loudness", 0.2, ("rms",))]
    assert charts.sentence(bars, "X") == "Recommended because it sounds like “X”, which you liked: they have a similar tempo and loudness."


def test_contribution_chart_is_a_png(shares):
    png = charts.contribution_chart(charts.chart_bars(audio.FEATURE_NAMES, shares), float(shares.sum()))
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000


def test_spectrogram_pair_is_a_png():
    rng = np.random.default_rng(0)
    mel = (rng.normal(size=(128, 200)) * 10 - 40).astype(np.float16)
    png = charts.spectrogram_pair(
        mel, mel + 5, frequencies=audio.mel_frequencies(), seconds_per_frame=audio.frame_seconds(),
        liked_title="A", recommended_title="B",
    )
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000


def test_each_bar_shows_both_tracks_values_in_a_listener_s_units():
    liked = {"tempo": 121.6, "rms": 0.1, "spectral_centroid": 2345.0, "zero_crossing_rate": 0.052, "energy": 0.8}
    recommended = {"tempo": 98.2, "rms": 0.01, "spectral_centroid": 870.0, "zero_crossing_rate": 0.031, "energy": 0.35}
    chroma = {f"chroma_{pc}": 0.1 for pc in charts.PITCH_CLASSES}

    def shown(features, a=liked, b=recommended):
        return charts.bar_values(charts.ChartBar("x", 0.1, tuple(features)), a, b)

    assert shown(["tempo"]) == "122 BPM → 98 BPM"
    assert shown(["rms"]) == "-20 dB → -40 dB"
    assert shown(["spectral_centroid"]) == "2.3 kHz → 870 Hz"
    assert shown(["zero_crossing_rate"]) == "5.2% → 3.1%"
    assert shown(["energy"]) == "80% → 35%"
    names = [f"chroma_{pc}" for pc in charts.PITCH_CLASSES]
    liked_notes = {**chroma, "chroma_G": 0.5, "chroma_D": 0.4, "chroma_B": 0.3}
    recommended_notes = {**chroma, "chroma_D": 0.5, "chroma_G": 0.45, "chroma_F#": 0.3}
    assert shown(names, liked_notes, recommended_notes) == "G D B → D G F#"
    assert shown([f"mfcc_{i}" for i in range(1, 14)]) == ""  # timbre has no unit a listener knows


def test_the_chart_with_values_is_a_png(shares):
    bars = charts.chart_bars(audio.FEATURE_NAMES, shares)
    png = charts.contribution_chart(bars, float(shares.sum()), ["1 → 2"] * len(bars))
    assert png.startswith(PNG_MAGIC)
