"""Choosing a condition for a new participant: counts in, one condition key out.

Pure functions with an injectable random source, so balance and tie-breaking
are tested without a database; study.services holds the lock that makes them
safe under concurrent arrivals.
"""
from __future__ import annotations

import random
from collections.abc import Hashable, Mapping

LEAST_FILLED = "least_filled"


def least_filled(counts: Mapping[Hashable, int], rng: random.Random | None = None) -> Hashable:
    """The condition with the fewest participants so far; ties broken at random."""
    if not counts:
        raise ValueError("no condition to assign to")
    fewest = min(counts.values())
    tied = sorted((key for key, n in counts.items() if n == fewest), key=str)
    return (rng or random.SystemRandom()).choice(tied)
