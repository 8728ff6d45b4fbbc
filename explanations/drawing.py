"""What the page draws for each explanation: numbers in, a drawing (positions in percent, printed numbers, words
in the participant's language) out. Templates in ``templates/snippets/explanation*.html`` turn a drawing into
HTML and SVG; each track's spectrogram picture is coloured here once (``spectrogram_png``) and laid under its
outlines by the page. No Django, no matplotlib figures.

A drawing is plain JSON, stored with the explanation: the record keeps what was drawn, and the template's
version (TEMPLATE_VERSION) is part of the explanation's content hash.
"""
from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from explanations.regions import Region
from explanations.tags import TagRow, label
from explanations.verdicts import (
    ALIKE,
    DIFFERENT,
    NEITHER,
    ChartBar,
    Number,
    Translate,
    gettext_noop,
    percent,
    plain_number,
    shown_shares,
    untranslated,
)

#: Bump when a template draws the same data differently: explanations are then drawn anew, and the record
#: tells the two apart by their content hash.
TEMPLATE_VERSION = {"features": 1, "spectrogram": 2, "tags": 1}
#: Bump when the per-track picture changes (colours, range, size).
PICTURE_VERSION = 1
#: The picture's loudness range: its loudest cell at the top of the colour map, this many dB below at the bottom.
DYNAMIC_RANGE_DB = 80.0
#: The picture's width in pixels at most: a phone shows it about 330 px wide, a laptop about 560.
PICTURE_COLUMNS = 720
#: Frequencies labelled on the pitch axis (Hz); below 500 Hz they would crowd the bottom of a mel scale.
PITCH_TICKS_HZ = (500, 1000, 2000, 4000, 8000)

VERDICT_KEYS = {
    ALIKE: gettext_noop("alike"),
    NEITHER: gettext_noop("in between"),
    DIFFERENT: gettext_noop("differ more than average"),
}


def _position(value: float, top: float) -> float:
    """``value`` as a percentage of ``top``, clipped to the panel and rounded for the page."""
    return round(100 * min(max(value / top, 0.0), 1.0), 2) if top > 0 else 0.0


# --- feature chart ---------------------------------------------------------------------------------------


def feature_drawing(
    bars: Sequence[ChartBar], score: float, values: Sequence[str], *, translate: Translate = untranslated,
    number: Number = plain_number,
) -> dict:
    """Each feature group's bar: its length as a share of the longest possible bar, its printed number (the
    printed numbers add up to 1 − the printed score), its verdict's colour and word, both tracks' values."""
    t = translate
    longest = max((bar.share for bar in bars), default=0.0)
    limit = max(0.05, longest * 1.1)
    printed = shown_shares(list(bars), score)
    return {
        "title": t(gettext_noop("Similarity %(score)s = 1 − sum of the bars")) % {"score": number(score, 2)},
        "axis": t(gettext_noop("Difference in each group (0 = identical)")),
        "values_heading": t(gettext_noop("You liked → this one")),
        "bars": [
            {"label": t(bar.label), "verdict": bar.verdict, "verdict_text": t(VERDICT_KEYS[bar.verdict]),
             "width": _position(bar.share, limit), "printed": number(shown, 2), "values": value}
            for bar, shown, value in zip(bars, printed, values)
        ],
        "key": [{"verdict": v, "text": t(VERDICT_KEYS[v])} for v in (ALIKE, NEITHER, DIFFERENT)],
    }


# --- tags chart ------------------------------------------------------------------------------------------


def tags_drawing(
    rows: Sequence[TagRow], score: float, *, liked_title: str, recommended_title: str,
    translate: Translate = untranslated, number: Number = plain_number,
) -> dict:
    """Each shown tag's probability in both tracks (bar lengths in percent of 100 %), where it starts to stand
    out against the catalog's typical track, and whether it does in both."""
    t = translate
    return {
        "title": t(gettext_noop("Similarity %(score)s")) % {"score": number(score, 2)},
        "liked": t(gettext_noop("You liked: %(title)s")) % {"title": liked_title},
        "recommended": t(gettext_noop("Recommended: %(title)s")) % {"title": recommended_title},
        "axis": t(gettext_noop("Probability the tagger gives the tag")),
        "both": t(gettext_noop("✓ in both more than in a typical track here (past the dotted line in each)")),
        "rows": [
            {"tag": label(row.tag, t), "heard_in_both": row.heard_in_both,
             "liked": _position(row.liked, 1.0), "recommended": _position(row.recommended, 1.0),
             "liked_printed": percent(row.liked, t), "recommended_printed": percent(row.recommended, t),
             "threshold": _position(row.threshold, 1.0), "threshold_printed": percent(row.threshold, t),
             "typical_printed": percent(row.typical, t)}
            for row in rows
        ],
    }


# --- spectrograms ----------------------------------------------------------------------------------------


def spectrogram_png(mel_db: np.ndarray, *, columns: int = PICTURE_COLUMNS) -> tuple[bytes, list[int]]:
    """A clip's (bands, frames) mel spectrogram in dB as a PNG (low pitch at the bottom, magma colours, the
    loudest cell bright, DYNAMIC_RANGE_DB below it black) and its [width, height] in pixels.

    Frames are averaged in groups of equal size down to at most ``columns`` (in power, so a short loud
    note is not drowned by the quiet around it).
    """
    from matplotlib import colormaps
    from PIL import Image

    mel = np.asarray(mel_db, dtype=np.float64)
    if mel.ndim != 2 or mel.size == 0:
        raise ValueError("a spectrogram needs (bands, frames) values")
    group = max(1, int(np.ceil(mel.shape[1] / columns)))
    if group > 1:
        # The last group is filled up with the clip's last frame, so the picture spans every frame.
        padded = np.pad(mel, ((0, 0), (0, -mel.shape[1] % group)), mode="edge")
        power = 10.0 ** (padded / 10.0)
        mel = 10.0 * np.log10(power.reshape(mel.shape[0], -1, group).mean(axis=2) + 1e-30)
    top = float(np.max(mel))
    scaled = np.clip((mel - (top - DYNAMIC_RANGE_DB)) / DYNAMIC_RANGE_DB, 0.0, 1.0)
    rgb = colormaps["magma"](scaled[::-1], bytes=True)[..., :3]
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb), mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue(), [int(rgb.shape[1]), int(rgb.shape[0])]


def pitch_position(hz: float, frequencies: np.ndarray) -> float:
    """Where ``hz`` sits on a picture of these mel bands, as a percentage of its height from the bottom."""
    frequencies = np.asarray(frequencies, dtype=np.float64)
    row = float(np.interp(hz, frequencies, np.arange(len(frequencies))))
    return round(100 * (row + 0.5) / len(frequencies), 2)


def time_ticks(seconds: float) -> list[float]:
    """Round times to label a clip's time axis with: every 5 s up to 20 s, else every 10 s."""
    step = 5 if seconds <= 20 else 10
    return [float(v) for v in np.arange(0, seconds + 1e-9, step)]


#: A pitch range named as a listener would: its upper edge at most LOW_PITCH_HZ is low, its lower edge at least
#: HIGH_PITCH_HZ high, anything else middle. The networks' three bands (network_regions.Grid.hertz) run from the
#: edges of their mel filters, which overlap: 0-1.03, 0.995-2.87 and 2.78-8 kHz; the thresholds leave room for that.
LOW_PITCH_HZ, HIGH_PITCH_HZ = 1100.0, 2500.0
PITCH_NAMES = {"low": gettext_noop("low pitch"), "middle": gettext_noop("middle pitch"), "high": gettext_noop("high pitch")}


def pitch_name(hz) -> str:
    return "low" if hz[1] <= LOW_PITCH_HZ else "high" if hz[0] >= HIGH_PITCH_HZ else "middle"


def where(span, hz, t: Translate, number: Number) -> str:
    """A passage in words: "24–29 s, high pitch, 2.8–8.0 kHz" (its time, and its pitch range if it has one)."""
    words = t(gettext_noop("%(start)s–%(end)s s")) % {"start": number(span[0], 0), "end": number(span[1], 0)}
    if hz is not None:
        words += t(gettext_noop(", %(band)s, %(low)s–%(high)s kHz")) % {
            "band": t(PITCH_NAMES[pitch_name(hz)]), "low": number(hz[0] / 1000, 1), "high": number(hz[1] / 1000, 1),
        }
    return words


def _outline(region: Region, side: str, seconds: float, frequencies: np.ndarray, value: str) -> dict:
    span, hz = (region.liked, region.liked_hz) if side == "liked" else (region.recommended, region.recommended_hz)
    bottom, top = (0.0, 100.0) if hz is None else (pitch_position(hz[0], frequencies), pitch_position(hz[1], frequencies))
    left = _position(span[0], seconds)
    return {
        "label": region.label, "value": value, "left": left, "width": round(_position(span[1], seconds) - left, 2),
        "bottom": bottom, "height": round(top - bottom, 2),
    }


def spectrogram_drawing(
    *, regions: Sequence[Region], seconds: Sequence[float], frequencies: np.ndarray, liked_title: str,
    recommended_title: str, score: float, translate: Translate = untranslated, number: Number = plain_number,
    share_of: float | None = None, score_places: int = 2,
) -> dict:
    """Both tracks' panels with their outlines (in percent of each picture), their axes, and each outlined
    passage in words, to be heard with the passage buttons.

    ``seconds``: each picture's length (liked, recommended); ``frequencies``: the pictures' mel bands (Hz).
    A region's number is printed as a percentage of ``share_of`` (a CNN region's part of what makes the tracks
    alike) or, without it, as found (a passage pair's cosine, an occlusion's drop).
    """
    t = translate
    top_hz = float(frequencies[-1])

    def worth(region: Region) -> str:
        if share_of:
            return percent(region.score / share_of, t)
        return number(region.score, score_places)

    panels = []
    for side, title, length in (
        ("liked", t(gettext_noop("You liked: %(title)s")) % {"title": liked_title}, seconds[0]),
        ("recommended", t(gettext_noop("Recommended: %(title)s")) % {"title": recommended_title}, seconds[1]),
    ):
        panels.append({
            "role": side, "title": title, "seconds": round(float(length), 3),
            # A tick at the panel's right edge is set flush right, where a centred one would be cut off.
            "time_ticks": [{"at": _position(v, length), "label": number(v, 0), "end": _position(v, length) >= 99.5}
                           for v in time_ticks(length)],
            "pitch_ticks": [
                {"at": pitch_position(hz, frequencies), "label": f"{hz // 1000}k" if hz >= 1000 else str(hz)}
                for hz in PITCH_TICKS_HZ if frequencies[0] <= hz <= top_hz
            ],
            "outlines": [
                _outline(region, side, length, frequencies, worth(region))
                for region in regions if (region.liked if side == "liked" else region.recommended) is not None
            ],
        })
    passages = []
    for region in regions:
        if region.liked is not None and region.recommended is not None:
            words = t(gettext_noop("%(label)s (%(value)s): your track %(liked)s, then the recommendation %(recommended)s")) % {
                "label": region.label, "value": worth(region), "liked": where(region.liked, region.liked_hz, t, number),
                "recommended": where(region.recommended, region.recommended_hz, t, number),
            }
        elif region.liked is not None:
            words = t(gettext_noop("%(label)s (%(value)s) on your track: %(where)s")) % {
                "label": region.label, "value": worth(region), "where": where(region.liked, region.liked_hz, t, number),
            }
        else:
            words = t(gettext_noop("%(label)s (%(value)s) on the recommendation: %(where)s")) % {
                "label": region.label, "value": worth(region),
                "where": where(region.recommended, region.recommended_hz, t, number),
            }
        passages.append({
            "label": region.label, "words": words,
            "liked": None if region.liked is None else [round(float(v), 3) for v in region.liked],
            "recommended": None if region.recommended is None else [round(float(v), 3) for v in region.recommended],
        })
    return {
        "title": t(gettext_noop("Similarity %(score)s")) % {"score": number(score, 2)},
        "time_axis": t(gettext_noop("Time (s)")), "pitch_axis": t(gettext_noop("Pitch (Hz)")),
        "panels": panels, "passages": passages,
    }
