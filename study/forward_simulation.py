"""Drawing understanding-test trials (forward simulation): which two candidates to show beside a liked track.

Plain numpy, no Django. A trial's candidates are drawn from a stream seeded by what the trial is (the study, the
recommender, the liked track, the band and how many such draws came before), never by the participant's
condition: participants of different conditions who share a recommender and a liked track meet the same trials,
so conditions are compared on the same items. What one participant may not see (their liked tracks, their
recommendations, candidates of their earlier trials) is skipped in that stream, not drawn around.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Pair:
    """Two candidate rows for one liked row, and the scores the recommender gives them."""

    first: int
    second: int
    first_score: float
    second_score: float

    @property
    def margin(self) -> float:
        return abs(self.first_score - self.second_score)


def stream_seed(*parts) -> int:
    """A seed from what a draw is (stable across processes and Python versions, unlike hash())."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def draw_pair(scores: np.ndarray, eligible: np.ndarray, band: tuple[float, float], seed: int) -> Pair | None:
    """Two eligible rows whose ``scores`` differ by at least ``band[0]`` and less than ``band[1]``.

    The rows are visited in one seeded order over the whole index; the first eligible row with an eligible partner
    in the band is the first candidate, its first such partner in the same order the second. None when the band
    holds no pair at all (a small or uniform pool)."""
    scores = np.asarray(scores, dtype=np.float64)
    eligible = np.asarray(eligible, dtype=bool)
    low, high = band
    order = np.random.default_rng(seed).permutation(len(scores))
    ordered_scores, ordered_ok = scores[order], eligible[order]
    for position in np.flatnonzero(ordered_ok):
        difference = np.abs(ordered_scores - ordered_scores[position])
        partners = ordered_ok & (difference >= low) & (difference < high)
        partners[position] = False
        if partners.any():
            other = int(np.argmax(partners))
            first, second = int(order[position]), int(order[other])
            return Pair(first, second, float(scores[first]), float(scores[second]))
    return None


def balanced_sides(n: int, rng: np.random.Generator) -> list[bool]:
    """For ``n`` trials, whether the model's answer goes on the left: as often left as right (one extra at random
    when ``n`` is odd), in a random order."""
    sides = [True, False] * (n // 2) + ([bool(rng.integers(2))] if n % 2 else [])
    rng.shuffle(sides)
    return sides


def plan(n_trials: int, n_seeds: int, n_bands: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """(liked track number, band number) of each trial of one test, in the order shown: the liked tracks and the
    bands each taken in turn (so each band is asked equally often), then shuffled."""
    # Taken in step, liked track i would always meet the same band: each round of lcm(seeds, bands) trials
    # moves the liked tracks on by one, so every liked track meets every band.
    cycle = math.lcm(n_seeds, n_bands)
    trials = [((i + i // cycle) % n_seeds, i % n_bands) for i in range(n_trials)]
    order = rng.permutation(n_trials)
    return [trials[i] for i in order]
