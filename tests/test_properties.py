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
