"""Explanation figures and sentences: numbers in, PNG bytes and plain words out.

Figures are built on a bare ``Figure`` with the Agg canvas (no pyplot state),
so rendering is safe in threads and in Celery workers. Colours come from the
Okabe-Ito palette, which stays distinguishable with colour-vision deficiency.
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from explanations.regions import Region

ALIKE_COLOUR = "#0072B2"  # blue: pushes the tracks together
DIFFERENT_COLOUR = "#D55E00"  # vermillion: pulls them apart
DPI = 200  # 2x a 100 dpi layout, sharp on high-density screens
REGION_COLOUR = "#56B4E9"  # sky blue: stands out on magma's dark and bright ends alike

PITCH_CLASSES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]

#: Bar label for each feature. Thirteen MFCCs mean nothing to a listener one by one,
#: so they form one "Timbre" bar, and the twelve chroma one "Harmony" bar; a group's
#: contribution is the sum of its members', so the bars still add up to the score.
FEATURE_GROUPS = {
    "tempo": "Tempo",
    "rms": "Loudness",
    "spectral_centroid": "Brightness",
    "spectral_bandwidth": "Fullness of sound",
    "spectral_rolloff": "High-frequency content",
    "zero_crossing_rate": "Noisiness",
    **{f"mfcc_{i}": "Timbre (tone colour)" for i in range(1, 14)},
    **{f"chroma_{pc}": "Harmony (notes used)" for pc in PITCH_CLASSES},
    # Spotify's own audio features, for catalogs indexed on them.
    "danceability": "Danceability",
    "energy": "Energy",
    "loudness": "Loudness",
    "speechiness": "Spoken words",
    "acousticness": "Acoustic sound",
    "instrumentalness": "Instrumental",
    "liveness": "Live feel",
    "valence": "Mood (cheerful)",
}


def group_of(feature: str) -> str:
    return FEATURE_GROUPS.get(feature, feature.replace("_", " ").capitalize())


def _hz(value: float) -> str:
    return f"{value / 1000:.1f} kHz" if value >= 1000 else f"{value:.0f} Hz"


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


#: How a listener reads each feature's value: BPM, dB, Hz, per cent.
FEATURE_UNITS = {
    "tempo": lambda v: f"{v:.0f} BPM",
    "rms": lambda v: f"{20 * np.log10(max(v, 1e-6)):.0f} dB",
    "loudness": lambda v: f"{v:.0f} dB",
    "spectral_centroid": _hz,
    "spectral_bandwidth": _hz,
    "spectral_rolloff": _hz,
    "zero_crossing_rate": lambda v: f"{100 * v:.1f}%",
    **{name: _percent for name in (
        "danceability", "energy", "speechiness", "acousticness", "instrumentalness", "liveness", "valence",
    )},
}


def bar_values(bar: "ChartBar", liked: dict[str, float], recommended: dict[str, float]) -> str:
    """Both tracks' values of one bar in the listener's units, "liked → recommended"; "" where none exists.

    A bar of one feature shows its value; harmony shows each track's three strongest notes;
    timbre (13 MFCCs) has no unit a listener would know, so it shows nothing.
    """
    if len(bar.features) == 1 and bar.features[0] in FEATURE_UNITS:
        show = FEATURE_UNITS[bar.features[0]]
        return f"{show(liked[bar.features[0]])} → {show(recommended[bar.features[0]])}"
    if all(name.startswith("chroma_") for name in bar.features):
        # The three strongest notes: two tracks in one key share most of them even
        # when their single strongest note differs.
        def top_notes(values):
            strongest = sorted(bar.features, key=lambda name: -values[name])[:3]
            return " ".join(name.removeprefix("chroma_") for name in strongest)

        return f"{top_notes(liked)} → {top_notes(recommended)}"
    return ""


@dataclass(frozen=True)
class ChartBar:
    label: str
    contribution: float
    features: tuple[str, ...]


def chart_bars(names: list[str], contributions: np.ndarray) -> list[ChartBar]:
    """One bar per feature group, largest contribution (by size) first."""
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(group_of(name), []).append(i)
    bars = [
        ChartBar(group, float(np.sum(np.asarray(contributions)[members])), tuple(names[i] for i in members))
        for group, members in groups.items()
    ]
    return sorted(bars, key=lambda bar: -abs(bar.contribution))


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _phrase(bar: ChartBar) -> str:
    return bar.label.split(" (")[0].lower()


def sentence(bars: list[ChartBar], liked_title: str) -> str:
    """One or two sentences naming the bars that agree most and the one that differs most.

    Built from the chart's own bars, so the words cannot contradict the picture.
    """
    agreeing = [bar for bar in sorted(bars, key=lambda b: -b.contribution) if bar.contribution > 0][:3]
    text = f"Recommended because it sounds like “{liked_title}”, which you liked"
    text += f": they have a similar {_join([_phrase(b) for b in agreeing])}." if agreeing else "."
    most_different = min(bars, key=lambda b: b.contribution)
    if most_different.contribution < 0:
        text += f" They differ most in {_phrase(most_different)}."
    return text


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(fig)
    # zlib level 3 instead of 6: a tenth larger, a fifth faster to encode (the budget is 200 ms a figure).
    fig.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 3})
    return buffer.getvalue()


def contribution_chart(
    bars: list[ChartBar], score: float, value_labels: Sequence[str] = (), *, narrow: bool = False
) -> bytes:
    """A diverging bar chart of per-feature contributions, largest at the top.

    ``value_labels`` (one per bar, from bar_values) give both tracks' values in their
    own units: a column on the right, or, ``narrow`` (for phones), a second line
    under each bar's name.
    """
    labels = [bar.label for bar in bars]
    if narrow:
        labels = [f"{label}\n{value}" if value else label for label, value in zip(labels, value_labels or [""] * len(bars))]
        value_labels = ()
    row = 0.62 if narrow else 0.42
    height = row * len(bars) + 1.3
    width = 4.6 if narrow else 7.6 if value_labels else 6.4
    fig = Figure(figsize=(width, height))
    # A fixed layout: constrained layout would draw the figure twice to measure it.
    left = (1.9 if narrow else 2.1) / width
    plot_width = (2.4 if narrow else 3.7 if value_labels else 3.85) / width
    ax = fig.add_axes((left, 0.75 / height, plot_width, 1 - 1.25 / height))
    values = np.array([bar.contribution for bar in bars])
    y = np.arange(len(bars))[::-1]
    colours = [ALIKE_COLOUR if v >= 0 else DIFFERENT_COLOUR for v in values]
    ax.barh(y, values, color=colours, height=0.68)
    ax.set_yticks(y, labels, fontsize=10)
    ax.axvline(0, color="#333333", linewidth=1)
    # Room beyond the longest bar for its number label.
    limit = max(0.05, float(np.max(np.abs(values))) * (1.55 if narrow else 1.3))
    ax.set_xlim(-limit, limit)
    for yi, value in zip(y, values):
        ax.text(
            value + (0.012 * limit * 2 if value >= 0 else -0.012 * limit * 2),
            yi,
            f"{value:+.2f}",
            va="center",
            ha="left" if value >= 0 else "right",
            fontsize=9,
            color="#222222",
        )
    if value_labels:
        column = left + plot_width + 0.2 / width
        ax.annotate("You liked → this one", xy=(column, 1.0), xycoords=("figure fraction", "axes fraction"),
                    va="bottom", fontsize=9, fontweight="bold", color="#333333")
        for yi, text in zip(y, value_labels):
            ax.annotate(text, xy=(column, yi), xycoords=("figure fraction", "data"), va="center", fontsize=9,
                        color="#333333")
    if narrow:
        ax.set_xlabel("← makes them different · alike →", fontsize=9)
        fig.text(0.04, 1 - 0.3 / height, f"Similarity {score:.2f} = sum of the bars", fontsize=11, va="center")
    else:
        ax.set_xlabel("← makes them different  ·  contribution  ·  makes them alike →", fontsize=9)
        ax.set_title(f"Similarity {score:.2f} = sum of the bars", fontsize=11, loc="left")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    return _png(fig)


def _mel_ticks(n_mels: int, frequencies: np.ndarray) -> tuple[list[float], list[str]]:
    positions, labels = [], []
    for hz in (100, 250, 500, 1000, 2000, 4000, 8000):
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

    @property
    def panels(self) -> dict[str, tuple[float, float, float, float]]:
        return {"liked": self.liked, "recommended": self.recommended}


#: Side by side for laptops; one above the other for phones, where side by side is too small to read.
WIDE = SpectrogramLayout((10, 3.6), (0.065, 0.15, 0.4, 0.75), (0.495, 0.15, 0.4, 0.75), (0.91, 0.15, 0.013, 0.75), False)
STACKED = SpectrogramLayout((5.4, 6.4), (0.15, 0.58, 0.66, 0.35), (0.15, 0.1, 0.66, 0.35), (0.85, 0.1, 0.03, 0.83), True)


def spectrogram_pair(
    liked_mel_db: np.ndarray,
    recommended_mel_db: np.ndarray,
    *,
    frequencies: np.ndarray,
    seconds_per_frame: float,
    liked_title: str,
    recommended_title: str,
    regions: Sequence[Region] = (),
    layout: SpectrogramLayout = WIDE,
) -> bytes:
    """Two mel spectrograms on one dB colour scale, time in seconds, frequency in Hz.

    Each region is outlined on both panels with its letter, so "A" on the liked
    track's panel sounds most like "A" on the recommendation's.
    """
    mels = [np.asarray(liked_mel_db, dtype=np.float32), np.asarray(recommended_mel_db, dtype=np.float32)]
    # One scale for both: the loudest cell of either at the top, 80 dB of range below it.
    vmax = float(max(m.max() for m in mels))
    vmin = vmax - 80.0
    fig = Figure(figsize=layout.size)
    # Fixed axes positions (not constrained layout, which draws twice) keep this under 200 ms.
    first = fig.add_axes(layout.liked)
    axes = [first, fig.add_axes(layout.recommended, sharey=first)]
    colourbar_axes = fig.add_axes(layout.colourbar)
    norm, cmap = Normalize(vmin=vmin, vmax=vmax), colormaps["magma"]
    for ax, mel, title in zip(axes, mels, [f"You liked: {liked_title}", f"Recommended: {recommended_title}"]):
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
        ax.set_title(title, fontsize=11, loc="left")
        ax.set_xlabel("Time (s)")
    for region in regions:
        for ax, (start, end) in zip(axes, (region.liked, region.recommended)):
            ax.add_patch(
                Rectangle((start, 0), end - start, mels[0].shape[0] - 1, fill=False, edgecolor=REGION_COLOUR,
                          linewidth=2.2, linestyle=(0, (4, 2)))
            )
            ax.text(
                (start + end) / 2, mels[0].shape[0] * 0.97, region.label, ha="center", va="top", fontsize=12,
                fontweight="bold", color="black", bbox={"boxstyle": "round,pad=0.15", "facecolor": REGION_COLOUR, "linewidth": 0},
            )
    positions, labels = _mel_ticks(mels[0].shape[0], frequencies)
    axes[0].set_yticks(positions, labels)
    if layout.stacked:
        for ax in axes:
            ax.set_ylabel("Frequency (Hz)")
            ax.tick_params(labelleft=True)
    else:
        axes[0].set_ylabel("Frequency (Hz)")
        axes[1].tick_params(labelleft=False)
    colourbar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=colourbar_axes)
    colourbar.set_label("Loudness (dB)")
    return _png(fig)
