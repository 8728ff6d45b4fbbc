"""Properties that must hold for any input, not just the examples we thought of (hypothesis)."""
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from explanations import verdicts
from recommender import similarity
from study.listening_time import PlayerEvent, seconds_heard

KINDS = st.sampled_from(["play", "pause", "seeked", "ended", "progress"])
EVENTS = st.lists(
    st.builds(PlayerEvent, kind=KINDS, position_s=st.floats(-1e6, 1e6, allow_nan=False),
              at_s=st.floats(0, 1e5, allow_nan=False)),
    max_size=40,
)


@given(EVENTS, st.floats(1, 60))
def test_no_events_can_claim_more_listening_than_the_time_that_passed_or_the_clip_holds(events, duration):
    heard = seconds_heard(events, duration)
    assert heard >= 0
    if events:
        span = max(e.at_s for e in events) - min(e.at_s for e in events)
        assert heard <= span + 1e-6
    # Each playing stretch is capped by the clip's movement within it, so never past its length per stretch.
    plays = sum(e.kind == "play" for e in events)
    assert heard <= duration * max(1, plays) + 1e-6


@given(EVENTS)
def test_events_without_a_play_count_nothing(events):
    assert seconds_heard([e for e in events if e.kind != "play"], 30.0) == 0


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 30), st.integers(3, 12), st.integers(0, 2**32 - 1))
def test_the_bars_are_an_exact_non_negative_split_of_one_minus_the_cosine(n, d, seed):
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(n, d)) * rng.uniform(0.01, 100, size=d)
    index = similarity.build_index(raw)
    a, b = index.zscores(raw[:2])
    cosine = float(index.vectors[0] @ index.vectors[1])
    shares = similarity.distance_shares(a, b, cosine=cosine)
    assert np.all(shares >= 0)
    assert math.isclose(shares.sum(), 1 - cosine, abs_tol=1e-6) or np.allclose(a, b)
    names = [f"f{i}" for i in range(d)]
    printed = verdicts.shown_shares(verdicts.chart_bars(names, shares), cosine)
    assert round(sum(printed) * 100) == 100 - round(float(f"{cosine:.2f}") * 100) or np.allclose(a, b)


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 40), st.integers(2, 8), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_recommendations_never_include_a_liked_or_excluded_track_and_come_best_first(n, d, k, seed):
    rng = np.random.default_rng(seed)
    vectors = similarity.build_index(rng.normal(size=(n, d))).vectors
    liked = list(rng.choice(n, size=min(2, n - 1), replace=False))
    excluded = {int(rng.integers(n))}
    matches = similarity.recommend(vectors, liked, k, exclude_rows=excluded)
    rows = [m.row for m in matches]
    assert not set(rows) & (set(liked) | excluded)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    assert len(rows) == len(set(rows)) == min(k, n - len(set(liked) | excluded))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(item=JSON_VALUES, value=JSON_VALUES, seq=JSON_VALUES, recommendation=JSON_VALUES)
@settings(deadline=None)
def test_an_answer_body_is_either_strictly_typed_or_refused_never_coerced(item, value, seq, recommendation):
    from study.serializers import MAX_ID, AnswerSerializer

    answer = AnswerSerializer(data={"item": item, "value": value, "seq": seq, "recommendation": recommendation})
    if not answer.is_valid():
        assert answer.errors
        return
    data = answer.validated_data
    assert isinstance(item, str) and data["item"] == item and 1 <= len(item) <= 40
    assert data["value"] == value  # handed to the service as given, never converted
    for name, raw in (("seq", seq), ("recommendation", recommendation)):
        assert data[name] == raw
        assert raw is None or (type(raw) is int and 0 < raw < MAX_ID)


@given(track=st.text(max_size=30), position=st.text(max_size=30))
@settings(deadline=None)
def test_a_player_event_s_numbers_are_finite_and_bounded_or_refused(track, position):
    from study.serializers import ListenEventSerializer

    event = ListenEventSerializer(data={"track": track, "event": "play", "position": position})
    if event.is_valid():
        assert 0 < event.validated_data["track"] < 2**62 and str(event.validated_data["track"]) == track.lstrip("0")
        assert math.isfinite(event.validated_data["position"]) and 0 <= event.validated_data["position"] < 1e7


CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@given(st.lists(st.tuples(CELL, CELL, CELL), max_size=12))
@settings(deadline=None, max_examples=60)
def test_every_csv_row_is_imported_exactly_or_reported_on_its_line(tmp_path_factory, rows):
    """Titles and artists with commas, quotes, line breaks, any script: each row becomes a track with its text
    exactly (trimmed), or a problem report; none is lost, mangled or an error."""
    import csv as csv_module

    from recommender.csv_formats import read_generic

    path = tmp_path_factory.mktemp("csv") / "tracks.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv_module.writer(handle)
        writer.writerow(["id", "title", "artist"])
        for number, (track_id, title, artist) in enumerate(rows):
            writer.writerow([f"r{number}-{track_id}", title, artist])
    parsed = read_generic(path)
    assert parsed.rows == len(rows)
    by_id = {record.external_id: record for record in parsed.records}
    assert len(by_id) + len(parsed.problems) == len(rows)
    for number, (track_id, title, artist) in enumerate(rows):
        record = by_id.get(f"r{number}-{track_id}".strip())
        if title.strip():
            assert record is not None and record.title == title.strip()
            assert record.artists == [name.strip() for name in artist.split(";") if name.strip()]
        else:
            assert record is None
