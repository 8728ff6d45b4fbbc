import numpy as np
import pytest
from matplotlib.patches import Rectangle

from explanations import charts, verdicts
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
    "Frequency (Hz)": "Frequenz (Hz)",
    "Loudness (dB)": "Lautstärke (dB)",
    "%(value).0f BPM": "%(value).0f BPM",
    "Recommended because it sounds like “%(title)s”, which you liked.": (
        "Empfohlen, weil es ähnlich klingt wie „%(title)s“, das dir gefallen hat."
    ),
    "They differ most in %(group)s.": "Am meisten unterscheiden sie sich in: %(group)s.",
}


def german(message: str) -> str:
    return GERMAN.get(message, message)


def texts(fig):
    return [t.get_text() for t in fig.findobj(lambda artist: hasattr(artist, "get_text")) if t.get_text()]


@pytest.mark.parametrize("narrow", [False, True])
def test_the_chart_draws_each_bar_s_share_with_its_label_value_and_colour(narrow):
    bars = [
        verdicts.ChartBar("Loudness", 0.3, ("rms",), 0.1, verdicts.DIFFERENT),
        verdicts.ChartBar("Tempo", 0.0, ("tempo",), 0.1, verdicts.ALIKE),
        verdicts.ChartBar("Noisiness", 0.1, ("zero_crossing_rate",), 0.1, verdicts.NEITHER),
    ]
    fig = charts.contribution_figure(bars, 0.6, ["-20 dB → -40 dB", "120 BPM → 120 BPM", ""], narrow=narrow)
    ax = fig.axes[0]
    drawn = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert [round(p.get_width(), 6) for p in drawn] == [0.3, 0.0, 0.1]
    assert [p.get_facecolor()[:3] for p in drawn] == [
        pytest.approx(tuple(int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)))
        for c in (charts.DIFFERENT_COLOUR, charts.ALIKE_COLOUR, charts.NEUTRAL_COLOUR)
    ]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0].startswith("Loudness") and labels[1].startswith("Tempo")  # largest share at the top
    shown = texts(fig)
    assert "Similarity 0.60 = 1 − sum of the bars" in shown
    assert {"0.30", "0.00", "0.10"} <= set(shown)
    assert any("-20 dB → -40 dB" in t for t in shown)
    assert charts.contribution_chart(bars, 0.6, narrow=narrow).startswith(PNG_MAGIC)


def test_the_chart_speaks_german_under_a_german_translate():
    bars = [verdicts.ChartBar("Loudness", 0.3, ("rms",), 0.1, verdicts.DIFFERENT), verdicts.ChartBar("Tempo", 0.0, ("tempo",), 0.1, verdicts.ALIKE)]
    for narrow in (False, True):
        fig = charts.contribution_figure(bars, 0.7, ["a", "b"], narrow=narrow, translate=german)
        shown = texts(fig)
        assert "Ähnlichkeit 0.70 = 1 − Summe der Balken" in shown
        assert "Unterschied je Gruppe (0 = gleich)" in shown
        assert any(t.startswith("Lautstärke") for t in shown)
        assert not any("Similarity" in t or "Loudness" in t for t in shown)
    assert verdicts.sentence(bars, "Lied", german) == (
        "Empfohlen, weil es ähnlich klingt wie „Lied“, das dir gefallen hat. They are alike in Tempo. "
        "Am meisten unterscheiden sie sich in: Lautstärke."
    )  # "They are alike in" has no German in this test's dictionary


def spectrogram(**options):
    rng = np.random.default_rng(0)
    mel = (rng.normal(size=(128, 400)) * 10 - 40).astype(np.float16)
    defaults = {
        "frequencies": audio.mel_frequencies(), "seconds_per_frame": audio.frame_seconds(),
        "liked_title": "A", "recommended_title": "B", "score": 0.8234,
    }
    return mel, {**defaults, **options}


@pytest.mark.parametrize("layout", [charts.WIDE, charts.STACKED])
def test_the_spectrogram_figure_outlines_each_region_on_both_panels_with_its_letter(layout):
    regions = [Region("A", (3.0, 6.0), (0.0, 3.0), 0.9), Region("B", (0.0, 3.0), (6.0, 9.0), 0.6)]
    mel, options = spectrogram(regions=regions, layout=layout)
    fig = charts.spectrogram_figure(mel, mel + 5, **options)
    liked_ax, recommended_ax = fig.axes[:2]
    for ax, side in ((liked_ax, "liked"), (recommended_ax, "recommended")):
        outlines = [p for p in ax.patches if isinstance(p, Rectangle)]
        # Each outline sits inside its passage, inset a hair so that two passages that meet show a gap.
        for outline, region in zip(outlines, regions, strict=True):
            start, end = getattr(region, side)
            assert start < outline.get_x() < start + 0.1 and end - 0.1 < outline.get_x() + outline.get_width() < end
            assert outline.get_height() > 120  # no frequency range given: the whole height
        assert [t.get_text() for t in ax.texts] == ["A 0.90", "B 0.60"]  # each outline states its number
    assert "Similarity 0.82" in texts(fig)  # the same rounding as the feature chart's title


def test_an_outline_with_a_frequency_range_covers_only_those_rows_and_a_cnn_pair_prints_what_it_adds():
    regions = [Region("A", (3.0, 6.0), (0.0, 3.0), 0.0123, (1000.0, 2800.0), (0.0, 1000.0))]
    mel, options = spectrogram(regions=regions, share_of=0.82)
    fig = charts.spectrogram_figure(mel, mel, **options)
    frequencies = audio.mel_frequencies()
    for ax, (low, high) in zip(fig.axes[:2], ((1000.0, 2800.0), (0.0, 1000.0))):
        (box,) = [p for p in ax.patches if isinstance(p, Rectangle)]
        rows = np.interp([low, high], frequencies, np.arange(len(frequencies)))
        assert box.get_y() == pytest.approx(rows[0], abs=1) and box.get_y() + box.get_height() == pytest.approx(rows[1], abs=1)
        assert [t.get_text() for t in ax.texts] == ["A 2%"]  # 0.0123 of 0.82 (what makes them alike), whole percent


def test_a_spectrogram_without_regions_outlines_nothing():
    mel, options = spectrogram()
    fig = charts.spectrogram_figure(mel, mel, **options)
    assert not [p for ax in fig.axes for p in ax.patches if isinstance(p, Rectangle)]
    assert charts.spectrogram_pair(mel, mel, **options).startswith(PNG_MAGIC)


def test_the_spectrogram_speaks_german_under_a_german_translate():
    mel, options = spectrogram(translate=german, liked_title="Lied", recommended_title="Song")
    shown = texts(charts.spectrogram_figure(mel, mel, **options))
    assert {"Ähnlichkeit 0.82", "Dir gefällt: Lied", "Empfohlen: Song", "Zeit (s)", "Frequenz (Hz)", "Lautstärke (dB)"} <= set(shown)
    assert not any("Similarity" in t or "Time" in t for t in shown)


@pytest.mark.parametrize("title", ["Price Tag ($ $)", "a$b$c", "x_1^2 \\alpha", "$\\notacommand{$", "Ünïcödé – ♪ ß"])
def test_titles_are_drawn_literally_never_as_mathtext(title):
    mel, options = spectrogram(liked_title=title, recommended_title=title)
    fig = charts.spectrogram_figure(mel, mel, **options)
    titles = [ax._left_title for ax in fig.axes[:2]]  # set_title(loc="left") draws this one
    assert [t.get_text() for t in titles] == [f"You liked: {title}", f"Recommended: {title}"]
    assert not any(t.get_parse_math() for t in titles)
    assert charts.png(fig).startswith(PNG_MAGIC)  # "$\notacommand{$" would fail to parse as mathtext
    bars = [verdicts.ChartBar("Tempo", 0.1, ("tempo",), 0.1)]
    assert charts.contribution_chart(bars, 0.9, [title]).startswith(PNG_MAGIC)
    assert charts.contribution_chart(bars, 0.9, [title], narrow=True).startswith(PNG_MAGIC)


def test_the_figure_and_wording_modules_need_no_django():
    """They run the same in a notebook: every text is translated by the caller's function."""
    import inspect

    from explanations import network_regions, regions, tags
    from recommender.cnn import contrastive, frontend, tagger

    for module in (charts, verdicts, regions, tags, network_regions, contrastive, frontend, tagger):
        assert "django" not in inspect.getsource(module)


@pytest.mark.parametrize("narrow", [False, True])
@pytest.mark.parametrize("language", ["en", "de"])
def test_no_text_of_the_feature_chart_is_cut_off_at_the_figure_s_edge(narrow, language):
    """A phone's chart once cut its axis label ("… (0 = identica"): every text drawn lies inside the figure."""
    from matplotlib.text import Text

    bars = [verdicts.ChartBar("High-frequency content", 0.32, ("mfcc",), 0.05, verdicts.DIFFERENT),
            verdicts.ChartBar("Harmony (notes used)", 0.07, ("chroma",), 0.05, verdicts.DIFFERENT),
            verdicts.ChartBar("Noisiness", 0.001, ("flatness",), 0.05, verdicts.ALIKE)]
    fig = charts.contribution_figure(bars, 0.61, ["5.2 kHz → 5.3 kHz", "F# B D# → A F# E", "5.4% → 5.5%"],
                                     narrow=narrow, translate=german if language == "de" else charts.untranslated)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # axis labels find their place while drawing
    renderer = canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    beyond_the_axis = {tick.label1 for tick in ax.xaxis.get_major_ticks() if not low <= tick.get_loc() <= high}
    drawn = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and t not in beyond_the_axis]
    assert any("0 = " in t.get_text() for t in drawn)
    for text in drawn:
        box = text.get_window_extent(renderer)
        assert box.x0 >= -1 and box.x1 <= width + 1 and box.y0 >= -1 and box.y1 <= height + 1, text.get_text()
