"""The words and verdicts of the feature chart, checked on pairs whose answers are known."""
import numpy as np
import pytest

from explanations import verdicts
from recommender import audio, similarity

NAMES = audio.FEATURE_NAMES
CHROMA = [f"chroma_{pc}" for pc in verdicts.PITCH_CLASSES]


def catalog(rng, n=60):
    raw = rng.normal(size=(n, len(NAMES)))
    raw[:, 0] = rng.uniform(60, 200, size=n)  # tempo in BPM
    raw[:, NAMES.index("rms")] = rng.uniform(0.01, 0.3, size=n)
    raw[:, -12:] = rng.uniform(0.1, 0.6, size=(n, 12))  # chroma means
    return raw


def raw_dict(row):
    return dict(zip(NAMES, map(float, row)))


def bars_of(index, a, b, raw):
    shares = similarity.distance_shares(*index.zscores(raw[[a, b]]), cosine=float(index.vectors[a] @ index.vectors[b]))
    return verdicts.chart_bars(NAMES, shares, raw_dict(raw[a]), raw_dict(raw[b])), float(index.vectors[a] @ index.vectors[b])


def bar(bars, label):
    return next(b for b in bars if b.label == label)


@pytest.fixture
def shares():
    rng = np.random.default_rng(3)
    raw = rng.normal(size=(50, len(NAMES)))
    index = similarity.build_index(raw)
    return similarity.distance_shares(*index.zscores(raw[:2])), float(index.vectors[0] @ index.vectors[1])


def test_the_bars_are_each_group_s_exact_share_of_one_minus_the_similarity(shares):
    values, score = shares
    bars = verdicts.chart_bars(NAMES, values)
    assert sum(b.share for b in bars) == pytest.approx(1 - score, abs=1e-6)
    assert {b.label for b in bars} >= {"Tempo", "Loudness", "Timbre (tone colour)", "Harmony (notes used)"}
    assert sorted(f for b in bars for f in b.features) == sorted(NAMES)
    assert [b.share for b in bars] == sorted((b.share for b in bars), reverse=True)
    assert all(b.share >= 0 for b in bars)


@pytest.mark.parametrize("tempo", [60.0, 120.0, 199.0])
def test_identical_tempi_give_a_zero_tempo_bar_wherever_they_lie_in_the_catalog(tempo):
    rng = np.random.default_rng(11)
    raw = catalog(rng)
    raw[0, 0] = raw[1, 0] = tempo
    index = similarity.build_index(raw)
    bars, _ = bars_of(index, 0, 1, raw)
    tempo_bar = bar(bars, "Tempo")
    assert tempo_bar.share == pytest.approx(0, abs=1e-9)
    assert tempo_bar.verdict == verdicts.ALIKE


def test_a_pair_identical_but_for_opposite_loudness_differs_only_in_loudness():
    """Every group but loudness is identical (0 bars, alike); loudness holds the whole distance."""
    rng = np.random.default_rng(5)
    raw = catalog(rng)
    index = similarity.build_index(raw)
    rms = NAMES.index("rms")
    raw[1] = raw[0]
    # Mirror track 0's loudness about the catalog mean: the same distance from it, on the other side.
    raw[0, rms] = index.mean[rms] + 2 * index.std[rms]
    raw[1, rms] = index.mean[rms] - 2 * index.std[rms]
    vectors = index.standardise(raw[:2])
    shares = similarity.distance_shares(*index.zscores(raw[:2]))
    score = float(vectors[0] @ vectors[1])
    bars = verdicts.chart_bars(NAMES, shares, raw_dict(raw[0]), raw_dict(raw[1]))

    assert bars[0].label == "Loudness" and bars[0].verdict == verdicts.DIFFERENT
    assert bars[0].share == pytest.approx(1 - score, abs=1e-6)
    assert all(b.share == pytest.approx(0, abs=1e-9) and b.verdict == verdicts.ALIKE for b in bars[1:])
    text = verdicts.sentence(bars, "Liked Song")
    assert text.startswith("Recommended because it sounds like “Liked Song”, which you liked.")
    assert text.endswith("They differ most in loudness.")
    alike_part = text.split("They are alike in ")[1].split(".")[0]
    assert "loudness" not in alike_part and len(alike_part.split(",")) + alike_part.count(" and ") <= 3


def test_a_pair_without_shared_strong_notes_is_never_called_alike_in_harmony():
    liked = dict.fromkeys(CHROMA, 0.1) | {"chroma_G": 0.6, "chroma_G#": 0.5, "chroma_C": 0.4}
    recommended = dict.fromkeys(CHROMA, 0.1) | {"chroma_A#": 0.6, "chroma_D#": 0.5, "chroma_F#": 0.4}
    agrees, correlation = verdicts.harmony_agrees(liked, recommended)
    assert not agrees and correlation < verdicts.HARMONY_MIN_CORRELATION
    # Even with a tiny harmony share (the catalog may scale chroma down), the words stay true.
    names = ["tempo", *CHROMA, "rms"]
    shares = np.array([0.0] + [0.0001] * 12 + [0.5])
    bars = verdicts.chart_bars(names, shares, liked | {"tempo": 1, "rms": 1}, recommended | {"tempo": 1, "rms": 2})
    assert bar(bars, "Harmony (notes used)").verdict != verdicts.ALIKE
    assert "harmony" not in verdicts.sentence(bars, "X")
    values = verdicts.bar_values(bar(bars, "Harmony (notes used)"), liked, recommended)
    assert values == "G G# C → A# D# F#"


def test_harmony_is_alike_only_when_the_raw_pitch_profiles_agree_too():
    liked = dict.fromkeys(CHROMA, 0.1) | {"chroma_G": 0.6, "chroma_D": 0.5, "chroma_B": 0.4}
    recommended = dict.fromkeys(CHROMA, 0.12) | {"chroma_G": 0.55, "chroma_D": 0.6, "chroma_E": 0.35}
    assert verdicts.harmony_agrees(liked, recommended)[0]
    bars = verdicts.chart_bars(CHROMA, np.zeros(12), liked, recommended)
    assert bars[0].verdict == verdicts.ALIKE
    assert verdicts.chart_bars(CHROMA, np.zeros(12))[0].verdict != verdicts.ALIKE  # raw values unknown: say nothing


def test_a_group_holding_only_its_even_share_is_neither_alike_nor_named_as_the_difference():
    bars = verdicts.chart_bars(["tempo", "rms", "spectral_centroid"], np.array([0.1, 0.1, 0.1]))
    assert {b.verdict for b in bars} == {verdicts.NEITHER}
    assert verdicts.sentence(bars, "X") == "Recommended because it sounds like “X”, which you liked."


def test_each_bar_shows_both_tracks_values_in_a_listener_s_units():
    liked = {"tempo": 121.6, "rms": 0.1, "spectral_centroid": 2345.0, "zero_crossing_rate": 0.052, "energy": 0.8}
    recommended = {"tempo": 98.2, "rms": 0.01, "spectral_centroid": 870.0, "zero_crossing_rate": 0.031, "energy": 0.35}
    chroma = dict.fromkeys(CHROMA, 0.1)

    def shown(features, a=liked, b=recommended):
        return verdicts.bar_values(verdicts.ChartBar("x", 0.1, tuple(features)), a, b)

    assert shown(["tempo"]) == "122 BPM → 98 BPM"
    assert shown(["rms"]) == "-20 dB → -40 dB"
    assert shown(["spectral_centroid"]) == "2.3 kHz → 870 Hz"
    assert shown(["zero_crossing_rate"]) == "5.2% → 3.1%"
    assert shown(["energy"]) == "80% → 35%"
    liked_notes = {**chroma, "chroma_G": 0.5, "chroma_D": 0.4, "chroma_B": 0.3}
    recommended_notes = {**chroma, "chroma_D": 0.5, "chroma_G": 0.45, "chroma_F#": 0.3}
    assert shown(CHROMA, liked_notes, recommended_notes) == "G D B → D G F#"
    assert shown([f"mfcc_{i}" for i in range(1, 14)]) == ""  # timbre has no unit a listener knows


def test_the_printed_bars_add_up_to_one_minus_the_printed_score_where_plain_rounding_would_not():
    """Shares 0.0824 + 0.0274 + 0.0075 + 0.0075 = 1 − 0.8752: plain rounding prints 0.08 + 0.03 + 0.01 + 0.01
    = 0.13 under "Similarity 0.88"; the printed bars must give 0.12."""
    bars = [verdicts.ChartBar(name, share, (name,)) for name, share in
            zip(["a", "b", "c", "d"], [0.0824, 0.0274, 0.0075, 0.0075])]
    assert sum(round(b.share, 2) for b in bars) == pytest.approx(0.13)
    printed = verdicts.shown_shares(bars, 0.8752)
    # Largest remainders (.75, .75) get the two hundredths floors leave over: 8 + 2 + 1 + 1.
    assert printed == [0.08, 0.02, 0.01, 0.01]
    assert all(abs(p - b.share) < 0.01 for p, b in zip(printed, bars))


@pytest.mark.parametrize("seed", range(25))
def test_printed_bars_always_add_up_to_one_minus_the_printed_score(seed):
    rng = np.random.default_rng(seed)
    score = float(rng.uniform(-0.5, 1.0))
    shares = rng.dirichlet(np.ones(rng.integers(2, 15))) * (1 - score)
    bars = [verdicts.ChartBar(str(i), float(s), (str(i),)) for i, s in enumerate(shares)]
    printed = verdicts.shown_shares(bars, score)
    assert round(sum(printed) * 100) == 100 - round(float(f"{score:.2f}") * 100)
    assert all(p >= 0 and abs(p - b.share) < 0.01 + 1e-9 for p, b in zip(printed, bars))


def test_colour_agrees_with_length_a_long_bar_of_many_features_is_never_alike():
    """Seen in the gallery: timbre (13 MFCCs) held the longest bar yet read "alike" against a per-feature share."""
    names = ["tempo", "rms", "spectral_centroid"] + [f"mfcc_{i}" for i in range(1, 14)]
    shares = np.array([0.019, 0.005, 0.021] + [0.055 / 13] * 13)
    bars = {b.label: b for b in verdicts.chart_bars(names, shares)}
    assert bars["Timbre (tone colour)"].verdict == verdicts.DIFFERENT
    assert bars["Loudness"].verdict == verdicts.ALIKE
    ordered = sorted(bars.values(), key=lambda b: -b.share)
    rank = {verdicts.DIFFERENT: 2, verdicts.NEITHER: 1, verdicts.ALIKE: 0}
    assert [rank[b.verdict] for b in ordered] == sorted((rank[b.verdict] for b in ordered), reverse=True)


def test_the_same_notes_in_another_balance_are_never_called_different_harmony():
    liked = {f"chroma_{pc}": v for pc, v in zip(verdicts.PITCH_CLASSES, [0.2] * 7 + [0.9, 0.8, 0.85, 0.2, 0.2])}
    recommended = {k: (v * 1.4 if v > 0.5 else v) for k, v in liked.items()}
    names = ["tempo", *CHROMA]
    shares = np.array([0.01] + [0.05] * 12)
    harmony = next(b for b in verdicts.chart_bars(names, shares, {"tempo": 1, **liked}, {"tempo": 1, **recommended})
                   if b.label == verdicts.HARMONY)
    assert harmony.share > 0.5 and harmony.verdict == verdicts.NEITHER
