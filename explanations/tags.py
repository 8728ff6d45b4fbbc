"""The tags explanation: what the musicnn tagger hears in both tracks more than in a typical track of
the catalog, as words and a small chart.

A tag the tagger gives every track of a catalog (MagnaTagATune's "sitar" for chiptune, say) says nothing
about two of them: a tag is named only where it stands out in both tracks against its median over the
catalog. Tag probabilities in, shared tags, a sentence and a matplotlib Figure out; no Django. Every
text is an English msgid (gettext_noop) passed through ``translate`` when drawn, tag names included.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter

from explanations.charts import TITLE_FAMILIES
from explanations.verdicts import Number, Translate, gettext_noop, plain_number, untranslated

#: A tag is "heard in both" when the tagger gives it, in each track, at least this probability, and at least
#: STANDS_OUT_FACTOR times (and STANDS_OUT_MARGIN above) its median over the catalog's tracks.
SHARED_MIN_PROBABILITY = 0.1
STANDS_OUT_FACTOR = 2.0
STANDS_OUT_MARGIN = 0.05
#: At most this many shared tags are named; the chart shows up to SHOWN tags.
NAMED = 5  # every tag the chart ticks as heard in both
SHOWN = 5
LIKED_COLOUR = "#0072B2"
RECOMMENDED_COLOUR = "#E69F00"

#: The MagnaTagATune tags musicnn predicts, as participants read them.
TAG_LABELS = {
    "guitar": gettext_noop("guitar"), "classical": gettext_noop("classical"), "slow": gettext_noop("slow"),
    "techno": gettext_noop("techno"), "strings": gettext_noop("strings"), "drums": gettext_noop("drums"),
    "electronic": gettext_noop("electronic"), "rock": gettext_noop("rock"), "fast": gettext_noop("fast"),
    "piano": gettext_noop("piano"), "ambient": gettext_noop("ambient"), "beat": gettext_noop("beat"),
    "violin": gettext_noop("violin"), "vocal": gettext_noop("vocal"), "synth": gettext_noop("synth"),
    "female": gettext_noop("female"), "indian": gettext_noop("Indian"), "opera": gettext_noop("opera"),
    "male": gettext_noop("male"), "singing": gettext_noop("singing"), "vocals": gettext_noop("vocals"),
    "no vocals": gettext_noop("no vocals"), "harpsichord": gettext_noop("harpsichord"), "loud": gettext_noop("loud"),
    "quiet": gettext_noop("quiet"), "flute": gettext_noop("flute"), "woman": gettext_noop("woman"),
    "male vocal": gettext_noop("male vocal"), "no vocal": gettext_noop("no vocal"), "pop": gettext_noop("pop"),
    "soft": gettext_noop("soft"), "sitar": gettext_noop("sitar"), "solo": gettext_noop("solo"),
    "man": gettext_noop("man"), "classic": gettext_noop("classic"), "choir": gettext_noop("choir"),
    "voice": gettext_noop("voice"), "new age": gettext_noop("new age"), "dance": gettext_noop("dance"),
    "male voice": gettext_noop("male voice"), "female vocal": gettext_noop("female vocal"),
    "beats": gettext_noop("beats"), "harp": gettext_noop("harp"), "cello": gettext_noop("cello"),
    "no voice": gettext_noop("no voice"), "weird": gettext_noop("weird"), "country": gettext_noop("country"),
    "metal": gettext_noop("metal"), "female voice": gettext_noop("female voice"), "choral": gettext_noop("choral"),
}


@dataclass(frozen=True)
class TagRow:
    tag: str  # the tagger's own name (English msgid)
    liked: float
    recommended: float
    typical: float = 0.0  # the tag's median probability over the catalog's tracks

    @property
    def threshold(self) -> float:
        """The least probability at which this tag stands out in a track of this catalog."""
        return max(SHARED_MIN_PROBABILITY, STANDS_OUT_FACTOR * self.typical, self.typical + STANDS_OUT_MARGIN)

    @property
    def shared(self) -> float:
        """How strongly both tracks have it beyond the catalog's typical track: the smaller of the two
        probabilities over the tag's threshold."""
        return min(self.liked, self.recommended) / self.threshold

    @property
    def heard_in_both(self) -> bool:
        return self.shared >= 1.0


def catalog_medians(probabilities: np.ndarray) -> np.ndarray:
    """(tags,) each tag's median probability over a catalog's (tracks, tags) tagger outputs."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    return np.median(probabilities, axis=0) if len(probabilities) else np.zeros(probabilities.shape[-1])


@dataclass(frozen=True)
class TagUsage:
    tag: str
    top_share: float  # share of the catalog's tracks that have it among their TOP_OF strongest tags
    median: float  # its median probability over the catalog's tracks


TOP_OF = 3


def vocabulary_usage(names: Sequence[str], probabilities: np.ndarray, *, count: int = 10) -> list[TagUsage]:
    """The tags a tagger uses most on a catalog: how often each is among a track's TOP_OF strongest, and its median.
    A tag near the top for most tracks (or one that does not describe the music) warns of a vocabulary mismatch."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if not len(probabilities):
        return []
    top = np.argsort(-probabilities, axis=1)[:, :TOP_OF]
    shares = np.bincount(top.ravel(), minlength=len(names)) / len(probabilities)
    medians = np.median(probabilities, axis=0)
    order = np.lexsort((-medians, -shares))[:count]
    return [TagUsage(names[i], round(float(shares[i]), 3), round(float(medians[i]), 3)) for i in order]


def tag_rows(
    names: Sequence[str], liked: Sequence[float], recommended: Sequence[float], typical: Sequence[float] | None = None,
) -> list[TagRow]:
    """The SHOWN tags to chart: those standing out most in both first; if fewer do, each track's strongest."""
    typical = [0.0] * len(names) if typical is None else typical
    rows = [TagRow(n, float(a), float(b), round(float(c), 4)) for n, a, b, c in zip(names, liked, recommended, typical)]
    shown = [r for r in sorted(rows, key=lambda r: -r.shared) if r.heard_in_both][:SHOWN]
    for row in sorted(rows, key=lambda r: -max(r.liked, r.recommended)):
        if len(shown) >= SHOWN:
            break
        if row not in shown:
            shown.append(row)
    return shown


def label(tag: str, translate: Translate = untranslated) -> str:
    return translate(TAG_LABELS.get(tag, tag))


def sentence(rows: list[TagRow], translate: Translate = untranslated) -> str:
    """"Both sound like: …" naming the shared tags, or a plain statement that none is shared."""
    t = translate
    shared = [r for r in rows if r.heard_in_both][:NAMED]
    if not shared:
        return t(gettext_noop(
            "The tagger hears no tag in both tracks clearly more than in a typical track of this collection; the "
            "chart shows each track's strongest tags."
        ))
    tags = ", ".join(label(r.tag, t) for r in shared)
    return t(gettext_noop("Both sound more than most tracks here like: %(tags)s.")) % {"tags": tags}


def tags_figure(
    rows: list[TagRow], score: float, *, liked_title: str, recommended_title: str, narrow: bool = False,
    translate: Translate = untranslated, number: Number = plain_number,
) -> Figure:
    """Each shown tag's probability in the liked and the recommended track, side by side, shared tags first."""
    t = translate
    width, row_height = (4.6, 0.8) if narrow else (6.8, 0.5)
    size = {"label": 12.5, "value": 10.5, "key": 10, "title": 13.5} if narrow else {"label": 10, "value": 8, "key": 8, "title": 11}
    top, bottom = (1.55, 1.0) if narrow else (1.1, 0.75)  # title and key above; x axis and its label below
    height = row_height * len(rows) + top + bottom
    fig = Figure(figsize=(width, height))
    left = (1.55 if narrow else 1.6) / width
    ax = fig.add_axes((left, bottom / height, 1 - left - 0.45 / width, 1 - (top + bottom) / height))
    y = np.arange(len(rows))[::-1].astype(float)
    bar = 0.38
    liked = [r.liked for r in rows]
    recommended = [r.recommended for r in rows]
    ax.barh(y + bar / 2, liked, height=bar, color=LIKED_COLOUR)
    ax.barh(y - bar / 2, recommended, height=bar, color=RECOMMENDED_COLOUR)

    def percent(value: float) -> str:
        return t(gettext_noop("%(value).0f%%")) % {"value": 100 * value}

    for yi, a, b in zip(y, liked, recommended):
        ax.text(a + 0.01, yi + bar / 2, percent(a), va="center", fontsize=size["value"], color="#222222")
        ax.text(b + 0.01, yi - bar / 2, percent(b), va="center", fontsize=size["value"], color="#222222")
    labels = [label(r.tag, t) + (" ✓" if r.heard_in_both else "") for r in rows]
    ax.set_yticks(y, labels, fontsize=size["label"], parse_math=False)
    ax.set_xlim(0, 1.12)
    ax.xaxis.set_major_locator(FixedLocator([0, 0.25, 0.5, 0.75, 1.0]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _position: percent(v)))
    ax.tick_params(axis="x", labelsize=size["value"])
    # Each tag's threshold: where it starts to stand out against the collection's typical track.
    for yi, row in zip(y, rows):
        ax.plot([row.threshold, row.threshold], [yi - 0.45, yi + 0.45], color="#555555", linestyle=":", linewidth=1.2)
    ax.set_xlabel(t(gettext_noop("Probability the tagger gives the tag")), fontsize=size["value"], parse_math=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    title = t(gettext_noop("Similarity %(score)s")) % {"score": number(score, 2)}
    fig.text(0.03, 1 - 0.25 / height, title, fontsize=size["title"], fontweight="bold", va="center", parse_math=False)
    both = t(gettext_noop("✓ in both more than in a typical track here (past the dotted line in each)"))
    limit = 38 if narrow else 80
    legend = fig.legend(
        handles=[
            Patch(color=LIKED_COLOUR, label=_shorten(t(gettext_noop("You liked: %(title)s")) % {"title": liked_title}, limit)),
            Patch(color=RECOMMENDED_COLOUR,
                  label=_shorten(t(gettext_noop("Recommended: %(title)s")) % {"title": recommended_title}, limit)),
            Patch(color="none", label=both),
        ],
        loc="upper left", bbox_to_anchor=(0.01, 1 - 0.42 / height), ncol=1, fontsize=size["key"], frameon=False,
        handlelength=1.2,
    )
    for text in legend.get_texts():  # titles are drawn literally, in any script: never mathtext
        text.set_parse_math(False)
        text.set_fontfamily(TITLE_FAMILIES)
    return fig


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
