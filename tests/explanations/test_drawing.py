import io

import numpy as np
import pytest

from explanations import drawing, tags, verdicts
from explanations.regions import Region
from recommender import audio

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

#: The German a participant should read; the lead adds these to locale/de.
GERMAN = {
    "Tempo": "Tempo",
    "Loudness": "Lautstärke",
    "Timbre (tone colour)": "Klangfarbe (Timbre)",
    "Harmony (notes used)": "Harmonie (verwendete Töne)",
    "loudness": "Lautstärke",
    "tempo": "Tempo",
    "Similarity %(score)s = 1 − sum of the bars": "Ähnlichkeit %(score)s = 1 − Summe der Balken",
    "Similarity %(score)s": "Ähnlichkeit %(score)s",
    "Difference in each group (0 = identical)": "Unterschied je Gruppe (0 = gleich)",
    "You liked → this one": "Dein Titel → dieser",
    "You liked: %(title)s": "Dir gefällt: %(title)s",
    "Recommended: %(title)s": "Empfohlen: %(title)s",
    "Time (s)": "Zeit (s)",
    "Pitch (Hz)": "Tonhöhe (Hz)",
    "Loudness (dB)": "Lautstärke (dB)",
    "%(value).0f BPM": "%(value).0f BPM",
    "Recommended because it sounds like “%(title)s”, which you liked.": (
        "Empfohlen, weil es ähnlich klingt wie „%(title)s“, das dir gefallen hat."
    ),
    "They differ most in %(group)s.": "Am meisten unterscheiden sie sich in: %(group)s.",
}


def german(message: str) -> str:
    return GERMAN.get(message, message)


def comma(value: float, places: int) -> str:
    """Numbers as German writes them."""
    return verdicts.plain_number(value, places).replace(".", ",")


BARS = [
    verdicts.ChartBar("Loudness", 0.3, ("rms",), 0.1, verdicts.DIFFERENT),
    verdicts.ChartBar("Tempo", 0.0, ("tempo",), 0.1, verdicts.ALIKE),
    verdicts.ChartBar("Noisiness", 0.1, ("zero_crossing_rate",), 0.1, verdicts.NEITHER),
]


def test_the_feature_drawing_gives_each_bar_its_length_number_verdict_and_values_largest_first():
    drawn = drawing.feature_drawing(BARS, 0.6, ["-20 dB → -40 dB", "120 BPM → 120 BPM", ""])
    assert drawn["title"] == "Similarity 0.60 = 1 − sum of the bars"
    assert [bar["label"] for bar in drawn["bars"]] == ["Loudness", "Tempo", "Noisiness"]
    # Lengths in percent of the axis, which runs a tenth past the longest bar.
    assert [bar["width"] for bar in drawn["bars"]] == [pytest.approx(100 / 1.1, abs=0.01), 0.0, pytest.approx(100 / 3.3, abs=0.01)]
    assert [bar["printed"] for bar in drawn["bars"]] == ["0.30", "0.00", "0.10"]
    assert [bar["verdict"] for bar in drawn["bars"]] == ["different", "alike", "neither"]
    assert drawn["bars"][0]["values"] == "-20 dB → -40 dB"
    assert [key["text"] for key in drawn["key"]] == ["alike", "in between", "differ more than average"]


def test_the_printed_bars_add_up_to_one_minus_the_printed_score():
    bars = [verdicts.ChartBar(f"g{i}", share, (), 0.1) for i, share in enumerate([0.0449, 0.0449, 0.0449])]
    drawn = drawing.feature_drawing(bars, 1 - 3 * 0.0449, ["", "", ""])
    printed = sum(float(bar["printed"]) for bar in drawn["bars"])
    assert printed == pytest.approx(1 - float(drawn["title"].split()[1]), abs=1e-9)


def test_the_feature_drawing_speaks_german_under_a_german_translate():
    drawn = drawing.feature_drawing(BARS[:2], 0.7, ["a", "b"], translate=german, number=comma)
    assert drawn["title"] == "Ähnlichkeit 0,70 = 1 − Summe der Balken"
    assert drawn["axis"] == "Unterschied je Gruppe (0 = gleich)"
    assert drawn["bars"][0]["label"] == "Lautstärke" and drawn["bars"][0]["printed"] == "0,30"
    assert verdicts.sentence(BARS[:2], "Lied", german) == (
        "Empfohlen, weil es ähnlich klingt wie „Lied“, das dir gefallen hat. They are alike in Tempo. "
        "Am meisten unterscheiden sie sich in: Lautstärke."
    )  # "They are alike in" has no German in this test's dictionary


def outlines_of(drawn, role):
    (panel,) = [p for p in drawn["panels"] if p["role"] == role]
    return panel["outlines"]


def pair_drawing(regions, **options):
    defaults = {"seconds": [30.0, 15.0], "frequencies": audio.mel_frequencies(), "liked_title": "A",
                "recommended_title": "B", "score": 0.8234}
    return drawing.spectrogram_drawing(regions=regions, **{**defaults, **options})


def test_each_outline_is_placed_in_percent_of_its_own_track_s_time_and_height():
    regions = [Region("A", (3.0, 6.0), (0.0, 3.0), 0.9), Region("B", (0.0, 3.0), (6.0, 9.0), 0.6)]
    drawn = pair_drawing(regions)
    liked, recommended = outlines_of(drawn, "liked"), outlines_of(drawn, "recommended")
    assert [(o["left"], o["width"]) for o in liked] == [(10.0, 10.0), (0.0, 10.0)]  # of 30 s
    assert [(o["left"], o["width"]) for o in recommended] == [(0.0, 20.0), (40.0, 20.0)]  # of 15 s
    assert all(o["bottom"] == 0 and o["height"] == 100 for o in liked + recommended)  # no pitch range: all of it
    assert [o["label"] + " " + o["value"] for o in liked] == ["A 0.90", "B 0.60"]
    assert drawn["title"] == "Similarity 0.82"


def test_a_pitch_range_covers_only_its_rows_and_a_cnn_region_prints_its_share_of_what_makes_them_alike():
    frequencies = audio.mel_frequencies()
    regions = [Region("A", (3.0, 6.0), (0.0, 3.0), 0.0123, (1000.0, 2800.0), (0.0, 1000.0))]
    drawn = pair_drawing(regions, share_of=0.082)
    (box,) = outlines_of(drawn, "liked")
    rows = np.interp([1000.0, 2800.0], frequencies, np.arange(len(frequencies)))
    assert box["bottom"] == pytest.approx(100 * (rows[0] + 0.5) / 128, abs=0.01)
    assert box["bottom"] + box["height"] == pytest.approx(100 * (rows[1] + 0.5) / 128, abs=0.01)
    assert box["value"] == "15%"  # 0.0123 of 0.082, in whole percent
    (passage,) = drawn["passages"]
    assert passage["words"] == (
        "A (15%): your track 3–6 s, middle pitch, 1.0–2.8 kHz, then the recommendation 0–3 s, low pitch, 0.0–1.0 kHz"
    )
    assert passage["liked"] == [3.0, 6.0] and passage["recommended"] == [0.0, 3.0]


def test_an_outline_on_one_track_only_is_drawn_and_said_on_that_track_only():
    drawn = pair_drawing([Region("1", None, (6.0, 9.0), 0.12)])
    assert outlines_of(drawn, "liked") == [] and len(outlines_of(drawn, "recommended")) == 1
    (passage,) = drawn["passages"]
    assert passage["liked"] is None and passage["words"] == "1 (0.12) on the recommendation: 6–9 s"


def test_without_regions_nothing_is_outlined_and_no_passage_is_offered():
    drawn = pair_drawing([])
    assert drawn["passages"] == [] and all(panel["outlines"] == [] for panel in drawn["panels"])


def test_the_axes_are_labelled_with_round_times_and_frequencies_inside_the_picture():
    drawn = pair_drawing([], seconds=[29.7, 12.0])
    liked, recommended = drawn["panels"]
    assert [t["label"] for t in liked["time_ticks"]] == ["0", "10", "20"]
    assert [t["label"] for t in recommended["time_ticks"]] == ["0", "5", "10"]
    assert [t["label"] for t in liked["pitch_ticks"]] == ["500", "1k", "2k", "4k", "8k"]
    assert all(0 <= t["at"] <= 100 for panel in drawn["panels"] for t in panel["time_ticks"] + panel["pitch_ticks"])


def test_a_tick_at_the_panels_right_edge_is_set_flush_right_and_only_that_one():
    drawn = pair_drawing([], seconds=[30.0, 29.7])
    liked, recommended = drawn["panels"]
    assert [(t["label"], t["end"]) for t in liked["time_ticks"]] == [("0", False), ("10", False), ("20", False), ("30", True)]
    assert not any(t["end"] for t in recommended["time_ticks"])


@pytest.mark.parametrize(("band", "name"), [(0, "low pitch"), (1, "middle pitch"), (2, "high pitch")])
def test_each_of_the_networks_three_bands_is_named_by_its_own_pitch(band, name):
    from explanations import network_regions

    grid = network_regions.grid_of(np.zeros((1875, 96), dtype=np.float32))
    hz = grid.hertz(band)  # passage 0 in this band: the mel filters' edges, which overlap the next band's
    assert f", {name}, " in drawing.where((0.0, 6.0), hz, drawing.untranslated, drawing.plain_number)


def test_the_spectrogram_drawing_speaks_german_under_a_german_translate():
    drawn = pair_drawing([], translate=german, number=comma, liked_title="Lied", recommended_title="Song")
    assert drawn["title"] == "Ähnlichkeit 0,82" and drawn["time_axis"] == "Zeit (s)" and drawn["pitch_axis"] == "Tonhöhe (Hz)"
    assert [p["title"] for p in drawn["panels"]] == ["Dir gefällt: Lied", "Empfohlen: Song"]


def test_the_tags_drawing_shows_both_tracks_and_where_each_tag_stands_out():
    rows = tags.tag_rows(["rock", "piano"], [0.6, 0.05], [0.5, 0.3], [0.1, 0.02])
    drawn = drawing.tags_drawing(rows, 0.42, liked_title="a", recommended_title="b")
    rock = drawn["rows"][0]
    assert rock["tag"] == "rock" and rock["heard_in_both"]
    assert (rock["liked"], rock["recommended"], rock["threshold"]) == (60.0, 50.0, 20.0)
    assert (rock["liked_printed"], rock["recommended_printed"], rock["typical_printed"]) == ("60%", "50%", "10%")
    assert not drawn["rows"][1]["heard_in_both"]
    assert drawn["title"] == "Similarity 0.42" and drawn["liked"] == "You liked: a"


def test_a_track_s_picture_has_low_pitch_at_the_bottom_and_its_loudest_cell_brightest():
    from PIL import Image

    mel = np.full((128, 2000), -100.0)
    mel[5, :] = 0.0  # a loud low band
    png, (width, height) = drawing.spectrogram_png(mel)
    assert (width, height) == (667, 128)  # 2000 frames averaged in threes: at most PICTURE_COLUMNS
    picture = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    assert picture.shape == (128, 667)
    assert picture[128 - 1 - 5].mean() > 200 and picture[:100].mean() < 10  # bright near the bottom, black above


def test_a_picture_of_nothing_is_refused():
    with pytest.raises(ValueError, match="needs"):
        drawing.spectrogram_png(np.zeros((128, 0)))


@pytest.mark.parametrize("title", ["Price Tag ($ $)", "a$b$c", "<script>alert(1)</script>", "Ünïcödé – ♪ ß"])
def test_titles_are_kept_as_written_for_the_template_to_escape(title):
    drawn = pair_drawing([], liked_title=title, recommended_title=title)
    assert [p["title"] for p in drawn["panels"]] == [f"You liked: {title}", f"Recommended: {title}"]


def test_the_drawing_and_wording_modules_need_no_django():
    """They run the same in a notebook: every text is translated by the caller's function."""
    import inspect

    from explanations import network_regions, regions
    from recommender.cnn import contrastive, frontend, tagger

    for module in (drawing, verdicts, regions, tags, network_regions, contrastive, frontend, tagger):
        assert "django" not in inspect.getsource(module)
