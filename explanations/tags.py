"""The tags explanation: what the musicnn tagger hears in both tracks more than in a typical track of
the catalog, as words and a small chart.

A tag the tagger gives every track of a catalog (MagnaTagATune's "sitar" for chiptune, say) says nothing
about two of them: a tag is named only where it stands out in both tracks against its median over the
catalog. Tag probabilities in; the rows a template charts and a sentence out; no Django. Every
text is an English msgid (gettext_noop) passed through ``translate`` when drawn, tag names included.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from explanations.verdicts import Translate, gettext_noop, untranslated

#: A tag is "heard in both" when the tagger gives it, in each track, at least this probability, and at least
#: STANDS_OUT_FACTOR times (and STANDS_OUT_MARGIN above) its median over the catalog's tracks.
SHARED_MIN_PROBABILITY = 0.1
STANDS_OUT_FACTOR = 2.0
STANDS_OUT_MARGIN = 0.05
#: At most this many shared tags are named; the chart shows up to SHOWN tags.
NAMED = 5  # every tag the chart ticks as heard in both
SHOWN = 5

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
#: The Million Song Dataset tagger's (Last.fm tags: genres, moods, decades) that MagnaTagATune lacks.
TAG_LABELS |= {
    "alternative": gettext_noop("alternative"), "indie": gettext_noop("indie"),
    "female vocalists": gettext_noop("female vocalists"), "00s": gettext_noop("2000s"),
    "alternative rock": gettext_noop("alternative rock"), "jazz": gettext_noop("jazz"),
    "beautiful": gettext_noop("beautiful"), "chillout": gettext_noop("chillout"),
    "male vocalists": gettext_noop("male vocalists"), "classic rock": gettext_noop("classic rock"),
    "soul": gettext_noop("soul"), "indie rock": gettext_noop("indie rock"), "Mellow": gettext_noop("mellow"),
    "electronica": gettext_noop("electronica"), "80s": gettext_noop("1980s"), "folk": gettext_noop("folk"),
    "90s": gettext_noop("1990s"), "chill": gettext_noop("chill"), "instrumental": gettext_noop("instrumental"),
    "punk": gettext_noop("punk"), "oldies": gettext_noop("oldies"), "blues": gettext_noop("blues"),
    "hard rock": gettext_noop("hard rock"), "acoustic": gettext_noop("acoustic"),
    "experimental": gettext_noop("experimental"), "female vocalist": gettext_noop("female vocalist"),
    "Hip-Hop": gettext_noop("hip-hop"), "70s": gettext_noop("1970s"), "party": gettext_noop("party"),
    "easy listening": gettext_noop("easy listening"), "sexy": gettext_noop("sexy"), "catchy": gettext_noop("catchy"),
    "funk": gettext_noop("funk"), "electro": gettext_noop("electro"), "heavy metal": gettext_noop("heavy metal"),
    "Progressive rock": gettext_noop("progressive rock"), "60s": gettext_noop("1960s"), "rnb": gettext_noop("R&B"),
    "indie pop": gettext_noop("indie pop"), "sad": gettext_noop("sad"), "House": gettext_noop("house"),
    "happy": gettext_noop("happy"),
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
    order = np.lexsort((-medians, -shares))
    first = {}  # a tag both taggers know ("rock") is listed once, where it ranks higher
    for i in order:
        first.setdefault(names[i], i)
    return [TagUsage(names[i], round(float(shares[i]), 3), round(float(medians[i]), 3)) for i in list(first.values())[:count]]


def tag_rows(
    names: Sequence[str], liked: Sequence[float], recommended: Sequence[float], typical: Sequence[float] | None = None,
) -> list[TagRow]:
    """The SHOWN tags to chart: those standing out most in both first; if fewer do, each track's strongest."""
    typical = [0.0] * len(names) if typical is None else typical
    every = [TagRow(n, float(a), float(b), round(float(c), 4)) for n, a, b, c in zip(names, liked, recommended, typical)]
    # Both taggers side by side know some tags twice ("rock"): each is charted once, as the tagger hearing it more clearly.
    rows = list({r.tag: r for r in sorted(every, key=lambda r: r.shared)}.values())
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
