"""The explanation figures Resonance drew with matplotlib until the page drew them from data (explanations/drawing.py):
kept as bench/render.py's baseline, so its report compares the page's way with this one in the same run.

Bars and spectrograms in, matplotlib Figures and PNG bytes out.

Figures are built on a bare ``Figure`` with the Agg canvas (no pyplot state),
so rendering is safe in threads and in Celery workers. Colours come from the
Okabe-Ito palette, which stays distinguishable with colour-vision deficiency.
Every text is an English msgid marked with ``gettext_noop`` and passed through
``translate`` when drawn, so this module needs no Django; track titles are drawn
literally (``parse_math=False``), never as mathtext.
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps, font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

from explanations.regions import Region
from explanations.verdicts import (
    ALIKE,
    DIFFERENT,
    NEITHER,
    ChartBar,
    Number,
    Translate,
    gettext_noop,
    plain_number,
    shown_shares,
    untranslated,
)

ALIKE_COLOUR = "#0072B2"  # blue: a group the two tracks have alike
DIFFERENT_COLOUR = "#D55E00"  # vermillion: a group holding more than its even share of the difference
NEUTRAL_COLOUR = "#999999"  # grey: neither
DPI = 200  # 2x a 100 dpi layout, sharp on high-density screens
REGION_COLOUR = "#56B4E9"  # sky blue: stands out on magma's dark and bright ends alike

# Track titles may be in any script. DejaVu Sans covers Latin, Greek and Cyrillic; where the
# machine has fonts for the rest (e.g. Debian's fonts-noto-cjk), matplotlib falls back to them
# glyph by glyph. Only installed families are listed: a missing one would warn at every title.
_FALLBACK_FAMILIES = ["Noto Sans CJK JP", "Noto Sans", "Noto Sans Symbols 2", "Noto Color Emoji"]
_INSTALLED = {font.name for font in font_manager.fontManager.ttflist}
TITLE_FAMILIES = ["DejaVu Sans", *(family for family in _FALLBACK_FAMILIES if family in _INSTALLED)]


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(fig)
    # zlib level 3 instead of 6: a tenth larger, a fifth faster to encode (the budget is 200 ms a figure).
    fig.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 3})
    return buffer.getvalue()


VERDICT_COLOURS = {ALIKE: ALIKE_COLOUR, DIFFERENT: DIFFERENT_COLOUR, NEITHER: NEUTRAL_COLOUR}
VERDICT_KEYS = {
    ALIKE: gettext_noop("alike"),
    NEITHER: gettext_noop("in between"),
    DIFFERENT: gettext_noop("differ more than average"),
}


def contribution_figure(
    bars: list[ChartBar],
    score: float,
    value_labels: Sequence[str] = (),
    *,
    narrow: bool = False,
    translate: Translate = untranslated,
    number: Number = plain_number,
) -> Figure:
    """A bar chart of each group's share of the difference (1 − similarity), largest at the top.

    A bar of 0 means the two tracks have that group exactly alike. ``value_labels`` (one
    per bar, from bar_values) give both tracks' values in their own units: a column on
    the right, or, ``narrow`` (for phones), a second line under each bar's name.
    """
    t = translate
    labels = [t(bar.label) for bar in bars]
    if narrow:
        labels = [f"{label}\n{value}" if value else label for label, value in zip(labels, value_labels or [""] * len(bars))]
        value_labels = ()
    # A phone shows the narrow figure about 330 px wide, a third of its pixels: larger type keeps
    # its words at 12-14 CSS px there.
    size = {"label": 12.5, "value": 11, "key": 10.5, "title": 13.5} if narrow else {"label": 10, "value": 9, "key": 8, "title": 11}
    row = 0.8 if narrow else 0.42
    bottom = 1.5 if narrow else 0.95  # x axis, its label and the colour key (two rows of it on phones)
    height = row * len(bars) + bottom + 0.62
    width = 4.6 if narrow else 7.8 if value_labels else 6.4
    fig = Figure(figsize=(width, height))
    # A fixed layout: constrained layout would draw the figure twice to measure it. The label
    # column is sized from the longest line instead (about 0.08 in a character at 10 pt),
    # so a longer translation widens it rather than being cut off.
    longest = max((len(line) for label in labels for line in label.split("\n")), default=10)
    per_character = 0.08 * size["label"] / 10
    left = min(max(1.9 if narrow else 2.1, per_character * longest + 0.25), 2.75 if narrow else 3.0)
    plot_width = width - left - (0.6 if narrow else 2.45 if value_labels else 0.6)
    left, plot_width = left / width, plot_width / width
    ax = fig.add_axes((left, bottom / height, plot_width, 1 - (bottom + 0.62) / height))
    values = np.array([bar.share for bar in bars])
    y = np.arange(len(bars))[::-1]
    ax.barh(y, values, color=[VERDICT_COLOURS[bar.verdict] for bar in bars], height=0.68)
    ax.set_yticks(y, labels, fontsize=size["label"], parse_math=False)
    ax.axvline(0, color="#333333", linewidth=1)
    # Room beyond the longest bar for its number label.
    limit = max(0.05, float(np.max(values, initial=0.0)) * (1.45 if narrow else 1.25))
    ax.set_xlim(0, limit)
    # The printed numbers add up to 1 − the printed score (verdicts.shown_shares); the bars keep their exact length.
    for yi, value, shown in zip(y, values, shown_shares(bars, score)):
        ax.text(value + 0.015 * limit, yi, number(shown, 2), va="center", ha="left", fontsize=size["value"],
                color="#222222")
    # Round steps (0.02, 0.05, 0.1): a tick at 0.025 would print as a misleading 0.03.
    ax.xaxis.set_major_locator(MaxNLocator(nbins=3 if narrow else 5, steps=[1, 2, 5, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _position: number(v, 2)))
    ax.tick_params(axis="x", labelsize=size["value"])
    if value_labels:
        column = left + plot_width + 0.2 / width
        ax.annotate(t(gettext_noop("You liked → this one")), xy=(column, 1.0), xycoords=("figure fraction", "axes fraction"),
                    va="bottom", fontsize=9, fontweight="bold", color="#333333", parse_math=False)
        for yi, text in zip(y, value_labels):
            ax.annotate(text, xy=(column, yi), xycoords=("figure fraction", "data"), va="center", fontsize=9,
                        color="#333333", parse_math=False)
    # On a phone the axis sits right of long group names: the label ends where the axis ends, so it fits.
    ax.set_xlabel(t(gettext_noop("Difference in each group (0 = identical)")), fontsize=size["value"], parse_math=False,
                  loc="right" if narrow else "center")
    title = t(gettext_noop("Similarity %(score)s = 1 − sum of the bars")) % {"score": number(score, 2)}
    # Across the whole figure, above the bars and the values column alike, so neither can overlap it.
    fig.text(0.04 if narrow else left, 1 - 0.22 / height, title, fontsize=size["title"], va="center", parse_math=False)
    fig.legend(
        handles=[Patch(color=VERDICT_COLOURS[v], label=t(VERDICT_KEYS[v])) for v in (ALIKE, NEITHER, DIFFERENT)],
        loc="lower left", bbox_to_anchor=(0.02 if narrow else left, 0.0), ncol=2 if narrow else 3, fontsize=size["key"],
        frameon=False,
        handlelength=1.2, columnspacing=1.0,
    )
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig


def contribution_chart(
    bars: list[ChartBar],
    score: float,
    value_labels: Sequence[str] = (),
    *,
    narrow: bool = False,
    translate: Translate = untranslated,
    number: Number = plain_number,
) -> bytes:
    """contribution_figure as PNG bytes."""
    return png(contribution_figure(bars, score, value_labels, narrow=narrow, translate=translate, number=number))


def _mel_ticks(n_mels: int, frequencies: np.ndarray) -> tuple[list[float], list[str]]:
    positions, labels = [], []
    # From 500 Hz up: on a mel scale 100 and 250 Hz sit a few rows apart at the bottom, unreadable.
    for hz in (500, 1000, 2000, 4000, 8000):
        if frequencies[0] <= hz <= frequencies[-1]:
            positions.append(float(np.interp(hz, frequencies, np.arange(n_mels))))
            labels.append(f"{hz // 1000}k" if hz >= 1000 else str(hz))
    return positions, labels


@dataclass(frozen=True)
class SpectrogramLayout:
    """Where the panels sit, as (left, bottom, width, height) fractions of the figure.

    The page's play head uses the same numbers to find each time axis on the image.
    """

    size: tuple[float, float]
    liked: tuple[float, float, float, float]
    recommended: tuple[float, float, float, float]
    colourbar: tuple[float, float, float, float]
    stacked: bool
    title_chars: int  # a panel title longer than this is shortened, so it cannot run into its neighbour

    @property
    def panels(self) -> dict[str, tuple[float, float, float, float]]:
        return {"liked": self.liked, "recommended": self.recommended}


#: Side by side for laptops; one above the other for phones, where side by side is too small to read.
WIDE = SpectrogramLayout(
    (10, 4.0), (0.065, 0.14, 0.4, 0.66), (0.495, 0.14, 0.4, 0.66), (0.91, 0.14, 0.013, 0.66), False, 46
)
STACKED = SpectrogramLayout(
    (5.4, 6.9), (0.15, 0.545, 0.66, 0.325), (0.15, 0.085, 0.66, 0.325), (0.85, 0.085, 0.03, 0.785), True, 44
)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def spectrogram_figure(
    liked_mel_db: np.ndarray,
    recommended_mel_db: np.ndarray,
    *,
    frequencies: np.ndarray,
    seconds_per_frame: float,
    liked_title: str,
    recommended_title: str,
    score: float | None = None,
    regions: Sequence[Region] = (),
    layout: SpectrogramLayout = WIDE,
    translate: Translate = untranslated,
    number: Number = plain_number,
    score_places: int = 2,
    share_of: float | None = None,
) -> Figure:
    """Two mel spectrograms on one dB colour scale, time in seconds, frequency in Hz, the score above.

    Each region is outlined on both panels with its letter, so "A" on the liked
    track's panel is the passage the recommender finds alike to "A" on the recommendation's.
    """
    t = translate
    mels = [np.asarray(liked_mel_db, dtype=np.float32), np.asarray(recommended_mel_db, dtype=np.float32)]
    # One scale for both: the loudest cell of either at the top, 80 dB of range below it.
    vmax = float(max(m.max() for m in mels))
    vmin = vmax - 80.0
    fig = Figure(figsize=layout.size)
    if score is not None:  # explanations always state it; a benchmark may leave it out
        title = t(gettext_noop("Similarity %(score)s")) % {"score": number(score, 2)}
        fig.text(layout.liked[0], 0.985, title, fontsize=12, fontweight="bold", va="top", ha="left", parse_math=False)
    # Fixed axes positions (not constrained layout, which draws twice) keep this under 200 ms.
    first = fig.add_axes(layout.liked)
    axes = [first, fig.add_axes(layout.recommended, sharey=first)]
    colourbar_axes = fig.add_axes(layout.colourbar)
    norm, cmap = Normalize(vmin=vmin, vmax=vmax), colormaps["magma"]
    titles = [
        t(gettext_noop("You liked: %(title)s")) % {"title": liked_title},
        t(gettext_noop("Recommended: %(title)s")) % {"title": recommended_title},
    ]
    for ax, mel, title in zip(axes, mels, titles):
        duration = mel.shape[1] * seconds_per_frame
        # Colour the cells here, once: handing Agg a float image makes it normalise and
        # colour-map after resampling, which costs more than the rest of the figure.
        ax.imshow(
            cmap(norm(mel), bytes=True),
            origin="lower",
            aspect="auto",
            extent=(0, duration, -0.5, mel.shape[0] - 0.5),
            interpolation="nearest",
        )
        # Titles are drawn literally: "Price Tag ($ $)" must not become mathtext.
        ax.set_title(_shorten(title, layout.title_chars), fontsize=11, loc="left", parse_math=False, family=TITLE_FAMILIES)
        ax.set_xlabel(t(gettext_noop("Time (s)")))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _position: number(v, 0 if float(v).is_integer() else 1)))
    n_rows = mels[0].shape[0]

    def worth(region: Region) -> str:
        # A CNN region's number is its part of what makes the tracks alike, as a percentage of it (share_of);
        # others print as found.
        if share_of:
            return t(gettext_noop("%(value)s%%")) % {"value": number(100 * region.score / share_of, 0)}
        return number(region.score, score_places)

    for k, region in enumerate(regions):
        for ax, span, hz in zip(axes, (region.liked, region.recommended), (region.liked_hz, region.recommended_hz)):
            if span is None:
                continue
            start, end = span
            # A frequency range becomes rows of this spectrogram's own mel scale; none: the whole height.
            low, high = (-0.5, n_rows - 0.5) if hz is None else (
                float(np.interp(hz[0], frequencies, np.arange(n_rows))), float(np.interp(hz[1], frequencies, np.arange(n_rows)))
            )
            # Inset a little, so two outlines that meet (3-6 s and 6-9 s) show a gap, not one shared line.
            inset = 0.006 * (ax.get_xlim()[1] or 1.0)
            ax.add_patch(
                Rectangle((start + inset, low + 0.6), end - start - 2 * inset, high - low - 1.2, fill=False,
                          edgecolor=REGION_COLOUR, linewidth=2.2, linestyle=(0, (4, 2)))
            )
            # Each outline says what it is worth, not only the caption's threshold. Labels start at their
            # outline's left edge, each a step lower than the one before, so neighbours never overlap.
            ax.text(
                start + inset, min(high, n_rows * 0.97) - 1 - (k % 3) * 0.12 * n_rows, f"{region.label} {worth(region)}",
                ha="left", va="top", fontsize=10.5, fontweight="bold", color="black", parse_math=False,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": REGION_COLOUR, "linewidth": 0},
            )
    positions, labels = _mel_ticks(mels[0].shape[0], frequencies)
    axes[0].set_yticks(positions, labels)
    if layout.stacked:
        for ax in axes:
            ax.set_ylabel(t(gettext_noop("Frequency (Hz)")))
            ax.tick_params(labelleft=True)
    else:
        axes[0].set_ylabel(t(gettext_noop("Frequency (Hz)")))
        axes[1].tick_params(labelleft=False)
    colourbar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=colourbar_axes)
    colourbar.set_label(t(gettext_noop("Loudness (dB)")))
    return fig


def spectrogram_pair(liked_mel_db: np.ndarray, recommended_mel_db: np.ndarray, **options) -> bytes:
    """spectrogram_figure as PNG bytes."""
    return png(spectrogram_figure(liked_mel_db, recommended_mel_db, **options))
