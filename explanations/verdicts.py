"""What the feature chart says: feature groups, their shares of the difference, verdicts, units and the sentence.

Pure numbers and words, no Django: drawing.py lays out these bars (one per feature group), and the
sentence is built from the same verdicts, so the words cannot contradict the picture.
Every text is an English msgid marked with ``gettext_noop`` and passed through
``translate`` when used.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from recommender.audio import PITCH_CLASSES

Translate = Callable[[str], str]
#: Writes a number with ``places`` decimals the way the reader's language does (0.89 or 0,89).
Number = Callable[[float, int], str]


def plain_number(value: float, places: int) -> str:
    return f"{value:.{places}f}"


def gettext_noop(message: str) -> str:
    """Mark a msgid for makemessages (xgettext knows this name) without translating it here."""
    return message


def untranslated(message: str) -> str:
    return message



#: Bar label for each feature. Thirteen MFCCs mean nothing to a listener one by one,
#: so they form one "Timbre" bar, and the twelve chroma one "Harmony" bar; a group's
#: share of the difference is the sum of its members', so the bars still add up.
FEATURE_GROUPS = {
    "tempo": gettext_noop("Tempo"),
    "rms": gettext_noop("Loudness"),
    "spectral_centroid": gettext_noop("Brightness"),
    "spectral_bandwidth": gettext_noop("Fullness of sound"),
    "spectral_rolloff": gettext_noop("High-frequency content"),
    "zero_crossing_rate": gettext_noop("Noisiness"),
    **{f"mfcc_{i}": gettext_noop("Timbre (tone colour)") for i in range(1, 14)},
    **{f"chroma_{pc}": gettext_noop("Harmony (notes used)") for pc in PITCH_CLASSES},
    # Spotify's own audio features, for catalogs indexed on them.
    "danceability": gettext_noop("Danceability"),
    "energy": gettext_noop("Energy"),
    "loudness": gettext_noop("Loudness"),
    "speechiness": gettext_noop("Spoken words"),
    "acousticness": gettext_noop("Acoustic sound"),
    "instrumentalness": gettext_noop("Instrumental"),
    "liveness": gettext_noop("Live feel"),
    "valence": gettext_noop("Mood (cheerful)"),
}

#: How the sentence names each group (a separate msgid: German capitalises nouns, English does not).
GROUP_PHRASES = {
    "Tempo": gettext_noop("tempo"),
    "Loudness": gettext_noop("loudness"),
    "Brightness": gettext_noop("brightness"),
    "Fullness of sound": gettext_noop("fullness of sound"),
    "High-frequency content": gettext_noop("high-frequency content"),
    "Noisiness": gettext_noop("noisiness"),
    "Timbre (tone colour)": gettext_noop("timbre"),
    "Harmony (notes used)": gettext_noop("harmony"),
    "Danceability": gettext_noop("danceability"),
    "Energy": gettext_noop("energy"),
    "Spoken words": gettext_noop("spoken words"),
    "Acoustic sound": gettext_noop("acoustic sound"),
    "Instrumental": gettext_noop("instrumental sound"),
    "Live feel": gettext_noop("live feel"),
    "Mood (cheerful)": gettext_noop("mood"),
}

HARMONY = "Harmony (notes used)"

# When a bar counts as alike or different, against its "even share": the mean bar (1 − similarity
# divided by the number of bars), so that a bar's colour agrees with its length on the chart.
#: Alike: at most half its even share of the distance...
ALIKE_FRACTION_OF_EVEN_SHARE = 0.5
#: ...or a share that the chart prints as 0.00, whatever the total.
NEGLIGIBLE_SHARE = 0.005
#: Harmony is alike only if the raw pitch-class profiles also agree: Pearson's r of the 12
#: chroma means at least this (about the one-sided 5 % critical value for 12 points, so
#: unlikely by chance)...
HARMONY_MIN_CORRELATION = 0.5
#: ...and at least this many of each track's three strongest notes (the ones the chart shows) shared.
HARMONY_MIN_SHARED_NOTES = 2

ALIKE, DIFFERENT, NEITHER = "alike", "different", "neither"


def group_of(feature: str) -> str:
    return FEATURE_GROUPS.get(feature, feature.replace("_", " ").capitalize())


def _hz(value: float, t: Translate, n: Number) -> str:
    if value >= 1000:
        return t(gettext_noop("%(value)s kHz")) % {"value": n(value / 1000, 1)}
    return t(gettext_noop("%(value).0f Hz")) % {"value": value}


def percent(value: float, translate: Translate = untranslated) -> str:
    """A share written as a whole percentage in the reader's language (14%; German 14 %)."""
    return translate(gettext_noop("%(value).0f%%")) % {"value": 100 * value}


#: How a listener reads each feature's value: BPM, dB, Hz, per cent.
FEATURE_UNITS: dict[str, Callable[[float, Translate, Number], str]] = {
    "tempo": lambda v, t, n: t(gettext_noop("%(value).0f BPM")) % {"value": v},
    "rms": lambda v, t, n: t(gettext_noop("%(value).0f dB")) % {"value": 20 * np.log10(max(v, 1e-6))},
    "loudness": lambda v, t, n: t(gettext_noop("%(value).0f dB")) % {"value": v},
    "spectral_centroid": _hz,
    "spectral_bandwidth": _hz,
    "spectral_rolloff": _hz,
    "zero_crossing_rate": lambda v, t, n: t(gettext_noop("%(value)s%%")) % {"value": n(100 * v, 1)},
    **dict.fromkeys(("danceability", "energy", "speechiness", "acousticness", "instrumentalness", "liveness", "valence"),
                     lambda v, t, n: percent(v, t)),
}


def top_notes(features: Sequence[str], values: dict[str, float], n: int = 3) -> list[str]:
    """The ``n`` strongest pitch classes: two tracks in one key share most of them even
    when their single strongest note differs."""
    strongest = sorted(features, key=lambda name: -values[name])[:n]
    return [name.removeprefix("chroma_") for name in strongest]


def harmony_agrees(liked: dict[str, float], recommended: dict[str, float]) -> tuple[bool, float]:
    """Whether the raw pitch-class profiles agree, and their Pearson correlation (nan if undefined)."""
    names = [f"chroma_{pc}" for pc in PITCH_CLASSES]
    a = np.array([liked[n] for n in names], dtype=np.float64)
    b = np.array([recommended[n] for n in names], dtype=np.float64)
    if np.allclose(a, b, rtol=0, atol=1e-12):
        return True, 1.0
    a, b = a - a.mean(), b - b.mean()
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    correlation = float(a @ b / norm) if norm > 0 else float("nan")
    shared = len(set(top_notes(names, liked)) & set(top_notes(names, recommended)))
    return bool(correlation >= HARMONY_MIN_CORRELATION and shared >= HARMONY_MIN_SHARED_NOTES), correlation


@dataclass(frozen=True)
class ChartBar:
    label: str  # English msgid
    share: float  # ½‖a_g − b_g‖²: this group's exact part of 1 − similarity
    features: tuple[str, ...]
    even_share: float = 0.0  # what it would hold if every feature differed equally
    verdict: str = NEITHER  # ALIKE, DIFFERENT or NEITHER: the bar's colour and the sentence's words


def bar_values(
    bar: ChartBar, liked: dict[str, float], recommended: dict[str, float], translate: Translate = untranslated,
    number: Number = plain_number,
) -> str:
    """Both tracks' values of one bar in the listener's units, "liked → recommended"; "" where none exists.

    A bar of one feature shows its value; harmony shows each track's three strongest notes;
    timbre (13 MFCCs) has no unit a listener would know, so it shows nothing.
    """
    if len(bar.features) == 1 and bar.features[0] in FEATURE_UNITS:
        show = FEATURE_UNITS[bar.features[0]]
        name = bar.features[0]
        return f"{show(liked[name], translate, number)} → {show(recommended[name], translate, number)}"
    if all(name.startswith("chroma_") for name in bar.features):
        return f"{' '.join(top_notes(bar.features, liked))} → {' '.join(top_notes(bar.features, recommended))}"
    return ""


def chart_bars(
    names: list[str],
    shares: np.ndarray,
    liked: dict[str, float] | None = None,
    recommended: dict[str, float] | None = None,
) -> list[ChartBar]:
    """One bar per feature group, largest share of the difference first, each with its verdict.

    ``liked``/``recommended`` are the raw values; without them harmony is never called alike.
    """
    shares = np.asarray(shares, dtype=np.float64)
    total = float(shares.sum())
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(group_of(name), []).append(i)
    # The even share is the mean bar: a verdict compares a bar with the others on the chart, so that
    # colour and length agree (a long bar is never "alike", a short one never "different"), whatever the
    # number of features behind each bar.
    even = total / len(groups) if groups else 0.0
    harmony_same = liked is not None and recommended is not None and harmony_agrees(liked, recommended)[0]
    bars = []
    for label, members in groups.items():
        share = float(shares[members].sum())
        verdict = NEITHER
        if share <= NEGLIGIBLE_SHARE or share <= ALIKE_FRACTION_OF_EVEN_SHARE * even:
            if label != HARMONY or harmony_same:
                verdict = ALIKE
        elif share > even and not (label == HARMONY and harmony_same):
            # The same notes, in another balance, are not "different harmony": at most in between.
            verdict = DIFFERENT
        bars.append(ChartBar(label, share, tuple(names[i] for i in members), even, verdict))
    return sorted(bars, key=lambda bar: -bar.share)


def shown_shares(bars: Sequence[ChartBar], score: float, places: int = 2) -> list[float]:
    """Each bar's share as the chart prints it: rounded so that the printed bars add up exactly to 1 minus
    the printed score (largest remainders get the last hundredths), as the chart's title says they do.

    Plain rounding would print 0.08 + 0.03 + 0.01 + 0.01 under "Similarity 0.88 = 1 − sum of the bars".
    """
    unit = 10**places
    printed_score = round(float(plain_number(score, places)) * unit)  # exactly the digits the title prints
    total = unit - printed_score  # 1 − the printed score, in hundredths
    raw = [max(0.0, bar.share) * unit for bar in bars]
    floors = [int(np.floor(value)) for value in raw]
    left = total - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - floors[i]), i))
    for i in order[: max(0, left)]:
        floors[i] += 1
    # Rounding up beyond the remainders cannot happen (see the tests); taking away could, if the
    # shares did not sum to 1 − score: then the smallest remainders give their hundredth back.
    for i in reversed(order):
        if left >= 0:
            break
        if floors[i] > 0:
            floors[i] -= 1
            left += 1
    return [f / unit for f in floors]


def _join(words: list[str], t: Translate) -> str:
    if len(words) == 1:
        return words[0]
    return t(gettext_noop("%(items)s and %(last)s")) % {"items": ", ".join(words[:-1]), "last": words[-1]}


def _phrase(bar: ChartBar, t: Translate) -> str:
    return t(GROUP_PHRASES.get(bar.label, bar.label.lower()))


def sentence(bars: list[ChartBar], liked_title: str, translate: Translate = untranslated) -> str:
    """One to three sentences: the groups the tracks have alike, and the one they differ most in.

    Built from the bars' own verdicts (their colours on the chart), so the words cannot
    contradict the picture: at most three alike groups, most alike first; "differ most"
    only for the longest bar, and only when it holds more than its even share.
    """
    t = translate
    text = t(gettext_noop("Recommended because it sounds like “%(title)s”, which you liked.")) % {"title": liked_title}
    alike = sorted((b for b in bars if b.verdict == ALIKE), key=lambda b: b.share / b.even_share if b.even_share else 0)
    if alike:
        groups = _join([_phrase(b, t) for b in alike[:3]], t)
        text += " " + t(gettext_noop("They are alike in %(groups)s.")) % {"groups": groups}
    different = [b for b in bars if b.verdict == DIFFERENT]
    if different:
        most = max(different, key=lambda b: b.share)
        text += " " + t(gettext_noop("They differ most in %(group)s.")) % {"group": _phrase(most, t)}
    return text
