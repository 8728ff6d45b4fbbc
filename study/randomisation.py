"""Choosing a condition for a new participant: counts in, one condition key out.

Pure functions with an injectable random source, so balance and tie-breaking
are tested without a database; study.services holds the lock that makes them
safe under concurrent arrivals.
"""
from __future__ import annotations

import random
from collections.abc import Hashable, Mapping


def least_filled(
    counts: Mapping[Hashable, int], rng: random.Random | None = None, weights: Mapping[Hashable, int] | None = None
) -> Hashable:
    """The condition furthest below its share so far (count / weight smallest); ties broken at random.

    With equal weights this is simply the condition with the fewest participants.
    """
    if not counts:
        raise ValueError("no condition to assign to")
    weights = weights or {}
    if any(weights.get(key, 1) <= 0 for key in counts):
        raise ValueError("weights must be positive")
    # Compare count_a * weight_b with count_b * weight_a: exact, no float ties lost to rounding.
    def fill(key):
        return counts[key], weights.get(key, 1)

    lowest = min(counts, key=lambda key: fill(key)[0] / fill(key)[1])
    n_low, w_low = fill(lowest)
    tied = sorted((key for key in counts if fill(key)[0] * w_low == n_low * fill(key)[1]), key=str)
    return (rng or random.SystemRandom()).choice(tied)


def permuted_block(
    position: int, conditions: list[Hashable], *, seed: int, weights: Mapping[Hashable, int] | None = None,
    repeats: int = 1,
) -> Hashable:
    """The condition of the ``position``-th participant (0-based) under permuted-block randomisation.

    Each block holds every condition weight x ``repeats`` times in a random order;
    the order of block b is drawn from (seed, b) alone, so it never has to be stored
    and the whole sequence can be reproduced for the methods section.
    """
    if not conditions:
        raise ValueError("no condition to assign to")
    weights = weights or {}
    block = [key for key in sorted(conditions, key=str) for _ in range(weights.get(key, 1) * max(1, repeats))]
    number, offset = divmod(position, len(block))
    random.Random(f"{seed}:{number}").shuffle(block)
    return block[offset]
