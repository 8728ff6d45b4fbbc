"""Listening time from player events and the server's clock, never from the browser's own total."""
import pytest

from study.listening_time import PlayerEvent, seconds_heard


def events(*rows):
    return [PlayerEvent(kind, position, at) for kind, position, at in rows]


def test_playing_straight_through_counts_the_seconds_played():
    heard = seconds_heard(events(("play", 0, 100), ("progress", 5, 105), ("progress", 10, 110), ("pause", 12, 112)), 30)
    assert heard == pytest.approx(12)


def test_a_position_that_runs_ahead_of_the_clock_counts_only_the_time_that_passed():
    # A forged "ended at 30 s" one second after play buys one second.
    assert seconds_heard(events(("play", 0, 100), ("ended", 30, 101)), 30) == pytest.approx(1)


def test_a_clock_that_runs_ahead_of_the_position_counts_only_how_far_the_clip_moved():
    # Buffering: 20 s passed, the clip moved 4 s.
    assert seconds_heard(events(("play", 0, 100), ("progress", 4, 120)), 30) == pytest.approx(4)


def test_paused_time_does_not_count():
    rows = events(("play", 0, 0), ("pause", 5, 5), ("progress", 5, 60), ("play", 5, 60), ("pause", 8, 63))
    assert seconds_heard(rows, 30) == pytest.approx(8)


def test_events_without_a_play_count_nothing():
    assert seconds_heard(events(("progress", 16, 0), ("progress", 30, 40)), 30) == 0


def test_a_seek_does_not_count_the_jump_and_playing_goes_on_from_the_new_place():
    rows = events(("play", 0, 0), ("progress", 5, 5), ("seeked", 25, 6), ("progress", 29, 10))
    assert seconds_heard(rows, 30) == pytest.approx(9)


def test_positions_beyond_the_clip_are_capped_by_its_duration():
    assert seconds_heard(events(("play", 0, 0), ("progress", 500, 1000)), 30) == pytest.approx(30)


def test_replaying_counts_each_hearing():
    rows = events(("play", 0, 0), ("ended", 10, 10), ("seeked", 0, 11), ("play", 0, 11), ("ended", 10, 21))
    assert seconds_heard(rows, 10) == pytest.approx(20)


def test_events_are_read_in_server_order_whatever_order_they_are_given_in():
    rows = events(("pause", 6, 6), ("play", 0, 0), ("progress", 3, 3))
    assert seconds_heard(rows, 30) == pytest.approx(6)


def test_a_seek_back_within_one_play_never_counts_more_than_the_clip_holds():
    """Found by hypothesis: play, reach the end, seek to the start and go on without a new play event."""
    rows = events(("play", 0, 0), ("progress", 1, 1), ("seeked", 0, 2), ("pause", 1, 3))
    assert seconds_heard(rows, 1) == pytest.approx(1)


def test_clips_played_at_the_same_time_count_once_for_the_one_started_last():
    from study.listening_time import seconds_heard_one_at_a_time

    def played(start, seconds):
        return events(("play", 0, start), *[("progress", t, start + t) for t in range(5, seconds + 1, 5)])

    # Issue 19: five recommendations started together and played 30 s "heard" 30 s each in 31 s.
    together = seconds_heard_one_at_a_time({rank: (played(100 + rank * 0.2, 30), 30) for rank in range(1, 6)})
    assert sum(together.values()) == pytest.approx(30 + 4 * 0.2, abs=0.01)  # no more than the time that passed
    assert all(seconds < 30 for seconds in together.values())
    # One after the other, each keeps exactly what seconds_heard gives it.
    apart = {rank: (played(100 + rank * 40, 30), 30) for rank in range(1, 4)}
    assert seconds_heard_one_at_a_time(apart) == {rank: seconds_heard(*apart[rank]) for rank in apart} == dict.fromkeys(apart, 30)
    # A second clip started 10 s into the first takes the overlap; the first keeps its first 10 s and what is
    # left after the second stops.
    first = events(("play", 0, 0), *[("progress", t, t) for t in range(5, 31, 5)])
    second = events(("play", 0, 10), ("progress", 5, 15), ("pause", 10, 20))
    heard = seconds_heard_one_at_a_time({"a": (first, 30), "b": (second, 30)})
    assert heard == {"a": pytest.approx(20), "b": pytest.approx(10)}
