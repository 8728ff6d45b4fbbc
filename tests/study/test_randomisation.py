import random
from collections import Counter

import pytest

from study.randomisation import least_filled


def test_it_picks_the_condition_with_fewest_participants():
    assert least_filled({"a": 5, "b": 3, "c": 4}) == "b"


def test_ties_are_broken_at_random_among_the_tied_only():
    rng = random.Random(0)
    picks = Counter(least_filled({"a": 2, "b": 2, "c": 9}, rng) for _ in range(400))
    assert set(picks) == {"a", "b"}
    assert min(picks.values()) > 150


def test_sequential_arrivals_stay_balanced_to_within_one():
    rng = random.Random(1)
    counts = {"features": 0, "spectrogram": 0, "control": 0}
    for n in range(1, 101):
        counts[least_filled(counts, rng)] += 1
        assert max(counts.values()) - min(counts.values()) <= 1


def test_no_condition_is_an_error():
    with pytest.raises(ValueError):
        least_filled({})
