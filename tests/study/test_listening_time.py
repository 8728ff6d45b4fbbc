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
