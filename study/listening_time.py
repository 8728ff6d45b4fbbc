"""Seconds of a clip a participant heard, from the player events the server received.

The browser's own running total is never trusted: each stretch between two events
counts only while the clip was playing, and only as much as both the server's clock
(time that really passed between the events' arrival) and the player's position (how
far the clip moved, within its duration) allow. A forged "listened 3600 s", or a
position jumping 30 s ahead one second later, therefore buys at most the seconds that
passed. Seeks are conservative: the stretch before a seek is not counted. No Django here.
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


def seconds_heard(events: Iterable[PlayerEvent], duration_s: float | None = None) -> float:
    """Seconds heard, summed over playing stretches, each capped by elapsed server time and clip movement."""
    total = 0.0
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
                total += gained
        if event.kind in STARTS_PLAYING:
            playing, stretch = True, 0.0
        elif event.kind in STOPS_PLAYING:
            playing = False
        last = event
    return total
