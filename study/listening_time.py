"""Seconds of a clip a participant heard, from the player events the server received.

The browser's own running total is never trusted: each stretch between two events
counts only while the clip was playing, and only as much as both the server's clock
(time that really passed between the events' arrival) and the player's position (how
far the clip moved, within its duration) allow. A forged "listened 3600 s", or a
position jumping 30 s ahead one second later, therefore buys at most the seconds that
passed. Seeks are conservative: the stretch before a seek is not counted. Clips are heard one at a time:
a moment in which several of a participant's clips played (two players, two tabs) counts for one of them
only, the one that started playing last, so five recommendations played at once for 30 s are not five
times 30 s heard. No Django here.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Only a play event starts a playing stretch (progress and seeks keep the state they find),
# so a stream of forged progress events without a play counts nothing.
STARTS_PLAYING = {"play"}
STOPS_PLAYING = {"pause", "ended"}


@dataclass(frozen=True)
class PlayerEvent:
    kind: str  # play, pause, seeked, ended, progress
    position_s: float  # where in the clip, as the player reported it
    at_s: float  # server time the event arrived, in seconds


@dataclass(frozen=True)
class Stretch:
    """Between two events of one clip: the server times they arrived, and the seconds of clip heard then."""

    start_s: float
    end_s: float
    gained: float


def heard_stretches(events: Iterable[PlayerEvent], duration_s: float | None = None) -> list[Stretch]:
    """Each stretch of a clip that counts, capped by elapsed server time and clip movement."""
    found = []
    playing = False
    stretch = 0.0  # counted since the last play
    last: PlayerEvent | None = None
    limit = duration_s if duration_s and duration_s > 0 else float("inf")
    for event in sorted(events, key=lambda e: e.at_s):
        position = min(max(event.position_s, 0.0), limit)
        if playing and last is not None and event.kind != "seeked":
            moved = position - min(max(last.position_s, 0.0), limit)
            elapsed = event.at_s - last.at_s
            if moved > 0 and elapsed > 0:
                # Seeking back within one play does not make the clip longer: a stretch counts at most its length.
                gained = min(moved, elapsed, limit - stretch)
                stretch += gained
                found.append(Stretch(last.at_s, event.at_s, gained))
        if event.kind in STARTS_PLAYING:
            playing, stretch = True, 0.0
        elif event.kind in STOPS_PLAYING:
            playing = False
        last = event
    return found


def seconds_heard(events: Iterable[PlayerEvent], duration_s: float | None = None) -> float:
    """Seconds heard of one clip, summed over playing stretches, each capped by elapsed server time and clip movement."""
    return sum(s.gained for s in heard_stretches(events, duration_s))


def _covered(start: float, end: float, spans: list[tuple[float, float]]) -> float:
    """How much of [start, end] the union of ``spans`` covers."""
    covered, reach = 0.0, start
    for a, b in sorted((max(a, start), min(b, end)) for a, b in spans if b > start and a < end):
        if b > reach:
            covered += b - max(a, reach)
            reach = b
    return covered


def seconds_heard_one_at_a_time(clips: dict) -> dict:
    """Seconds heard per clip of one participant, ``clips`` mapping a key to (events, duration_s): a moment in
    which several clips played counts for the one whose stretch began last (ties: the later key in order);
    a clip that never overlapped another keeps exactly its own seconds_heard."""
    stretches = {key: heard_stretches(events, duration) for key, (events, duration) in clips.items()}
    order = {key: i for i, key in enumerate(clips)}
    heard = {}
    for key, own in stretches.items():
        total = 0.0
        for s in own:
            later = [(o.start_s, o.end_s) for other, theirs in stretches.items() if other != key for o in theirs
                     if (o.start_s, order[other]) > (s.start_s, order[key])]
            lost = _covered(s.start_s, s.end_s, later)
            total += s.gained if lost == 0 else s.gained * max(0.0, 1 - lost / (s.end_s - s.start_s))
        heard[key] = total
    return heard
