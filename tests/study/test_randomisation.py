import random
from collections import Counter

import pytest

from study.randomisation import least_filled, permuted_block


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
    for _ in range(100):
        counts[least_filled(counts, rng)] += 1
        assert max(counts.values()) - min(counts.values()) <= 1


def test_no_condition_is_an_error():
    with pytest.raises(ValueError, match="no condition"):
        least_filled({})


def test_weights_give_conditions_their_share():
    rng = random.Random(2)
    counts = {"features": 0, "control": 0}
    weights = {"features": 2, "control": 1}
    for _ in range(300):
        counts[least_filled(counts, rng, weights)] += 1
    assert counts == {"features": 200, "control": 100}


def test_a_permuted_block_holds_each_condition_by_weight_in_a_seeded_random_order():
    conditions = ["a", "b", "c"]
    weights = {"a": 2, "b": 1, "c": 1}
    sequence = [permuted_block(i, conditions, seed=42, weights=weights, repeats=2) for i in range(80)]
    for start in range(0, 80, 8):
        assert Counter(sequence[start : start + 8]) == {"a": 4, "b": 2, "c": 2}
    assert sequence == [permuted_block(i, conditions, seed=42, weights=weights, repeats=2) for i in range(80)]
    assert sequence != [permuted_block(i, conditions, seed=43, weights=weights, repeats=2) for i in range(80)]
    assert len({tuple(sequence[s : s + 8]) for s in range(0, 80, 8)}) > 1  # blocks differ in order
