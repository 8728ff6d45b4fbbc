"""The tags explanation: what the musicnn tagger hears in both tracks, as words and a small chart.

Tag probabilities in, shared tags, a sentence and a matplotlib Figure out; no Django. Every text
is an English msgid (gettext_noop) passed through ``translate`` when drawn, tag names included.
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

#: A tag is "heard in both" when the tagger gives it at least this probability in each track.
SHARED_MIN_PROBABILITY = 0.1
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

    @property
    def shared(self) -> float:
        """How strongly both tracks have it: the smaller of the two probabilities."""
        return min(self.liked, self.recommended)

    @property
    def heard_in_both(self) -> bool:
        return self.shared >= SHARED_MIN_PROBABILITY


def tag_rows(names: Sequence[str], liked: Sequence[float], recommended: Sequence[float]) -> list[TagRow]:
    """The SHOWN tags to chart: those most strongly in both first; if fewer are shared, each track's strongest."""
    rows = [TagRow(n, float(a), float(b)) for n, a, b in zip(names, liked, recommended)]
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
            "The tagger hears no tag in both tracks with a probability of at least %(min).0f%%; the chart shows "
            "each track's strongest tags."
        )) % {"min": 100 * SHARED_MIN_PROBABILITY}
    tags = ", ".join(label(r.tag, t) for r in shared)
    return t(gettext_noop("Both sound like: %(tags)s.")) % {"tags": tags}


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
    ax.axvline(SHARED_MIN_PROBABILITY, color="#777777", linestyle=":", linewidth=1)
    ax.set_xlabel(t(gettext_noop("Probability the tagger gives the tag")), fontsize=size["value"], parse_math=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    title = t(gettext_noop("Similarity %(score)s")) % {"score": number(score, 2)}
    fig.text(0.03, 1 - 0.25 / height, title, fontsize=size["title"], fontweight="bold", va="center", parse_math=False)
    both = t(gettext_noop("✓ heard in both (at least %(min).0f%% in each, dotted line)")) % {"min": 100 * SHARED_MIN_PROBABILITY}
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
