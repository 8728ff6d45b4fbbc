"""How much the CNN's spectrogram explanation shows, measured over a whole set of clips: the spread of the
score participants read, the share of it the outlined regions carry, and whether the explanation depends
on what the network learned (model randomisation, Adebayo et al. 2018). Log-mels and a model in, numbers
out; no Django. bench/cnn.py reports these on real music."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from explanations import network_regions
from recommender.cnn import contrastive, ensemble
from recommender.similarity import build_index


@dataclass(frozen=True)
class Shown:
    """What the explanation shows over a set of clips, each with its top recommendations."""

    score_iqr: float  # inter-quartile range of the score over all pairs (what a participant reads)
    score_iqr_uncentred: float  # the same for the cosine before centring, for comparison
    top_share_median: float  # median share of the positive contributions carried by what is outlined
    outlined_none: float  # share of recommendations with nothing outlined
    recommendations: int


def centre_of(embeddings: np.ndarray) -> np.ndarray:
    """The catalog's mean unit embedding, as the CNN index stores it (similarity.build_index)."""
    return build_index(embeddings, standardise=False, centre=True).mean


def centred_vectors(embeddings: np.ndarray) -> np.ndarray:
    """The rows the CNN index holds for these unit embeddings: centred on their mean, unit again."""
    return build_index(embeddings, standardise=False, centre=True).vectors.astype(np.float64)


def centred_scores(embeddings: np.ndarray) -> np.ndarray:
    """(n, n) the centred cosines the CNN index ranks by and participants read: its own rows' dot products."""
    vectors = centred_vectors(embeddings)
    return vectors @ vectors.T


def _iqr(matrix: np.ndarray) -> float:
    upper = matrix[np.triu_indices(len(matrix), 1)]
    return float(np.subtract(*np.percentile(upper, [75, 25])))


def top_recommendations(scores: np.ndarray, k: int) -> list[tuple[int, int]]:
    """(liked, recommended) for each clip's k highest-scoring other clips."""
    scores = np.array(scores, dtype=np.float64, copy=True)
    np.fill_diagonal(scores, -np.inf)
    return [(q, int(j)) for q in range(len(scores)) for j in np.argsort(-scores[q], kind="stable")[:k]]


def outlined(model, mels: list[np.ndarray], pairs: list[tuple[int, int]], centre: np.ndarray, cells=None):
    """The explanation of each (liked, recommended) pair: network_regions.Outlined."""
    cells = cells or {}
    for i in {i for pair in pairs for i in pair}:
        if i not in cells:
            cells[i] = contrastive.cells(model, mels[i])
    grids = {i: network_regions.grid_of(mels[i]) for i in cells}
    return [
        network_regions.recommended_regions(
            network_regions.cnn_region_pairs(cells[a], cells[b], grids[a], grids[b], centre=centre), grids[a], grids[b]
        )
        for a, b in pairs
    ]


def shown(model, mels: list[np.ndarray], *, k: int = 5) -> Shown:
    """The spread of the score and the share outlined, each clip with its top ``k`` recommendations."""
    embeddings = np.array([contrastive.embed(model, m) for m in mels], dtype=np.float64)
    scores = centred_scores(embeddings)
    pairs = top_recommendations(scores, k)
    explanations = outlined(model, mels, pairs, centre_of(embeddings))
    return Shown(
        score_iqr=round(_iqr(scores), 4),
        score_iqr_uncentred=round(_iqr(embeddings @ embeddings.T), 4),
        top_share_median=round(float(np.median([e.share for e in explanations])), 4),
        outlined_none=round(float(np.mean([not e.regions for e in explanations])), 4),
        recommendations=len(pairs),
    )


def randomisation_rank_correlation(
    model, mels: list[np.ndarray], pairs: list[tuple[int, int]], *, seed: int = 0
) -> float:
    """Mean Spearman correlation, over ``pairs``, between what each region of the recommended track adds
    for the trained network and for the same architecture with freshly initialised weights. An explanation
    that does not depend on what the network learned (an edge detector) keeps its ranking; low is good."""
    untrained = ensemble.reinitialised(model.config, seed=seed)
    correlations = []
    for net in (model, untrained):
        embeddings = np.array([contrastive.embed(net, m) for m in mels], dtype=np.float64)
        found = outlined(net, mels, pairs, centre_of(embeddings))
        correlations.append([e.by_region for e in found])
    values = [stats.spearmanr(a, b).statistic for a, b in zip(*correlations, strict=True)]
    return round(float(np.nanmean(values)), 4)
