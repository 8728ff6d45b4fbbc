"""Standardised-feature cosine similarity: matrices in, rankings and their decomposition out.

Raw features mix scales (tempo in BPM beside 0-1 ratios), so an unscaled cosine
is dominated by the largest one and scores every pair near 1.0. Each feature is
therefore z-scored with the catalog's own statistics, and each row L2-normalised,
after which a dot product is the cosine.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FeatureIndex:
    """Unit-length rows of z-scored features, plus the statistics that made them."""

    vectors: np.ndarray  # (n_tracks, n_features) float32, rows of length 1 (or 0)
    mean: np.ndarray
    std: np.ndarray

    def zscores(self, raw: np.ndarray) -> np.ndarray:
        return (np.atleast_2d(np.asarray(raw, dtype=np.float64)) - self.mean) / self.std

    def standardise(self, raw: np.ndarray) -> np.ndarray:
        return unit_rows(self.zscores(raw))


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (float32), so that a dot product of two rows is their cosine."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    # A track whose features all equal the catalog mean has no direction: leave it at zero.
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32)


def build_index(raw: np.ndarray, *, standardise: bool = True, centre: bool = False) -> FeatureIndex:
    """Unit rows of z-scored ``raw``; ``standardise=False`` keeps the raw directions (std 1), and
    ``centre=True`` then moves them by the mean of the unit rows first (stored as ``mean``): the cosine
    of what sets each track apart from the catalog's typical one, about 0 for a typical pair."""
    raw = np.asarray(raw, dtype=np.float64)
    if raw.ndim != 2 or raw.shape[0] < 2:
        raise ValueError("an index needs a 2-D matrix of at least two tracks")
    if not standardise:
        directions = unit_rows(raw).astype(np.float64)
        mean = directions.mean(axis=0) if centre else np.zeros(raw.shape[1])
        return FeatureIndex(vectors=unit_rows(directions - mean), mean=mean, std=np.ones(raw.shape[1]))
    mean = raw.mean(axis=0)
    std = raw.std(axis=0)
    # A constant feature carries no information. Its computed std is rounding noise,
    # not zero, so compare it with the feature's size; its z-scores then stay exactly 0.
    constant = std <= 1e-9 * (np.abs(mean) + 1.0)
    mean[constant] = raw[0, constant]
    std[constant] = 1.0
    return FeatureIndex(vectors=unit_rows((raw - mean) / std), mean=mean, std=std)


@dataclass(frozen=True)
class Match:
    row: int  # row of the recommended track
    seed_row: int  # row of the liked track it is most similar to
    score: float  # cosine between the two


def recommend(
    vectors: np.ndarray, liked_rows: list[int], k: int, exclude_rows: set[int] = frozenset(),
    allowed_rows: np.ndarray | None = None,
) -> list[Match]:
    """Top-k rows by their best cosine to any liked row, never a liked or excluded row.

    Scoring by the best single liked track (rather than the mean of them) keeps
    every recommendation explainable as "because you liked X", and its score is
    then exactly the cosine the explanation decomposes.
    """
    if not liked_rows:
        raise ValueError("at least one liked track is needed")
    liked = vectors[liked_rows]  # (n_liked, d)
    if len(liked_rows) == 1:
        best = vectors @ liked[0]  # the common case: one matrix-vector product, no (n, 1) detour
    else:
        best = (vectors @ liked.T).max(axis=1)
    blocked = np.fromiter(set(liked_rows) | set(exclude_rows), dtype=np.int64)
    best[blocked] = -np.inf
    if allowed_rows is not None:  # a study's pool: every other track is out of reach
        outside = np.ones(len(vectors), dtype=bool)
        outside[np.asarray(allowed_rows, dtype=np.int64)] = False
        best[outside] = -np.inf
    n = len(vectors)
    k = min(k, int(np.isfinite(best).sum()))
    if k <= 0:
        return []
    # Partition, then sort only the k winners: O(n) instead of sorting the catalog.
    top = np.argpartition(best, n - k)[n - k :]
    top = top[np.argsort(-best[top], kind="stable")]
    seeds = np.argmax(vectors[top] @ liked.T, axis=1)
    return [
        Match(row=int(r), seed_row=int(liked_rows[s]), score=float(best[r])) for r, s in zip(top, seeds)
    ]


def contributions(seed_vector: np.ndarray, candidate_vector: np.ndarray) -> np.ndarray:
    """Each feature's term of the cosine: the element-wise product of two unit vectors.

    The terms sum to the cosine exactly, but one says "both lie on the same side of the
    catalog average", not "these two are close": identical values score anything from 0
    up. Explanations use ``distance_shares`` instead.
    """
    return np.asarray(seed_vector, dtype=np.float64) * np.asarray(candidate_vector, dtype=np.float64)



def distance_shares(seed_z: np.ndarray, candidate_z: np.ndarray, cosine: float | None = None) -> np.ndarray:
    """Each feature's share of the distance 1 − cosine between two tracks, from their z-scores (not unit rows).

    The distance is split in proportion to each feature's squared standardised difference:
    share_i = (1 − cos) · d_i² / ‖d‖², d = seed_z − candidate_z. The shares sum to 1 − cos
    exactly, none is negative, and a feature both tracks have alike adds exactly 0 wherever
    it lies in the catalog. (``contributions`` cannot say that: a product of two z-scores is
    large whenever both lie on the same side of the average.)

    Why not ½ (a_i − b_i)² of the unit rows, which also sums to 1 − cos: unit-normalising
    divides each track by its own length, so an identical tempo becomes two different
    numbers, and its bar is not 0 (a tempo 3 sd from the mean, tracks of length 4 and 8: 0.07).

    ``cosine`` is the score to decompose (the index's own, float32); by default it is computed here.
    """
    a, b = np.asarray(seed_z, dtype=np.float64), np.asarray(candidate_z, dtype=np.float64)
    if cosine is None:
        norms = np.linalg.norm(a) * np.linalg.norm(b)
        # A track at the catalog mean has a zero row in the index: cosine 0 with everything.
        cosine = float(a @ b / norms) if norms > 0 else 0.0
    squared = (a - b) ** 2
    total = squared.sum()
    if total == 0:
        return np.zeros_like(squared)
    return (1.0 - cosine) * squared / total
