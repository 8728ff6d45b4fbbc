"""Which passages of two tracks the recommender itself finds alike: segment features in, outlined regions out.

Each clip's 3-second segments carry the same features the recommender compares
whole tracks by (recommender.audio.FEATURE_NAMES, computed at analysis time). They
are standardised with the index's own mean and std, unit-normalised, and every
liked segment is compared with every recommended segment by cosine: exactly how
the recommender scores two tracks. Only pairs at or above a stated threshold are
outlined, each segment at most once. No Django here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.similarity import FeatureIndex

#: A pair of passages is outlined only when its cosine is at least this: "more alike than
#: not" on the recommender's own scale, where unrelated passages sit near 0.
REGION_MIN_SIMILARITY = 0.5
#: At most this many outlines: more would crowd the figure and the caption.
MAX_REGIONS = 2


@dataclass(frozen=True)
class Region:
    """An outline on the liked track's panel, the recommendation's, or both (a matched pair, same label)."""

    label: str
    liked: tuple[float, float] | None  # start and end, in seconds; None: not outlined on that panel
    recommended: tuple[float, float] | None
    #: Segment pairs: their cosine in the recommender's feature space. CNN pairs: their exact share of
    #: the score. Tagger regions: how much covering them lowers the score.
    score: float
    liked_hz: tuple[float, float] | None = None  # frequency range; None: the whole height
    recommended_hz: tuple[float, float] | None = None


def segment_similarity(
    liked_segments: np.ndarray, recommended_segments: np.ndarray, *, mean: np.ndarray, std: np.ndarray
) -> np.ndarray:
    """(liked segments, recommended segments) cosine, each segment standardised as the index standardises a track."""
    scale = FeatureIndex(vectors=np.empty((0, len(mean))), mean=np.asarray(mean), std=np.asarray(std))
    liked = scale.standardise(np.asarray(liked_segments, dtype=np.float64)).astype(np.float64)
    recommended = scale.standardise(np.asarray(recommended_segments, dtype=np.float64)).astype(np.float64)
    return liked @ recommended.T


def matching_regions(
    similarity: np.ndarray,
    *,
    segment_seconds: float,
    threshold: float = REGION_MIN_SIMILARITY,
    count: int = MAX_REGIONS,
) -> list[Region]:
    """Up to ``count`` segment pairs at or above ``threshold``, best first, no segment in two pairs."""
    similarity = np.asarray(similarity, dtype=np.float64)
    scores = np.where(similarity >= threshold, similarity, -np.inf)
    regions = []
    for label in "ABCDEFGH"[:count]:
        if not np.isfinite(scores).any():
            break
        i, j = np.unravel_index(np.argmax(scores), scores.shape)
        regions.append(
            Region(
                label=label,
                liked=(round(float(i * segment_seconds), 3), round(float((i + 1) * segment_seconds), 3)),
                recommended=(round(float(j * segment_seconds), 3), round(float((j + 1) * segment_seconds), 3)),
                score=round(float(similarity[i, j]), 4),
            )
        )
        # Greedy, each segment once: a passage cannot be "the" match of two others.
        scores[i, :] = -np.inf
        scores[:, j] = -np.inf
    return regions
