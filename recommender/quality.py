"""Offline quality of a catalog's recommenders, all measured in one run against the same baselines.

Every recommender the catalog has (standardised features, the musicnn tagger's embeddings, the CNN
trained on the catalog), beside the baselines a notebook would take (unscaled cosine on the raw
features; a plain mean-MFCC vector) and chance; plus, for the trained CNN, whether two halves of
the same clip find each other (same-track crop retrieval).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from recommender import evaluation, services
from recommender.models import Catalog, SimilarityIndex, Track

logger = logging.getLogger(__name__)
FeatureSet = SimilarityIndex.FeatureSet


@dataclass(frozen=True)
class CatalogQuality:
    results: list[evaluation.Quality]
    chance: float
    crop_retrieval_top1: float | None  # the trained CNN's; None without one
    crop_retrieval_chance: float | None


def _labels(catalog: Catalog) -> dict[int, frozenset[str]]:
    return {
        pk: frozenset(genres or ([style] if style else []))
        for pk, genres, style in catalog.tracks.values_list("pk", "genres", "style").iterator(chunk_size=5000)
    }


def catalog_evaluate(*, catalog: Catalog, k: int = 10, n_queries: int = 2000) -> CatalogQuality:
    """Precision@k (tracks sharing a genre or style with the query), coverage and score spread of each recommender."""
    labels_of = _labels(catalog)
    results, chance = [], None

    def add(name: str, track_ids: list[int], vectors: np.ndarray) -> None:
        nonlocal chance
        if len(track_ids) <= k:
            return
        labels = [labels_of[pk] for pk in track_ids]
        results.append(evaluation.evaluate(name, vectors, labels, k=k, n_queries=n_queries))
        chance = evaluation.chance_precision(labels) if chance is None else chance

    for feature_set in SimilarityIndex.FEATURES:
        names, track_ids, raw = services._index_source(catalog, feature_set)
        if len(track_ids) <= k:
            continue
        short = "audio features" if feature_set == FeatureSet.AUDIO else "catalog features"
        add(f"standardised cosine, {short}", track_ids, evaluation.standardised_vectors(raw))
        add(f"unscaled cosine, {short}", track_ids, evaluation.unscaled_vectors(raw))
        if feature_set == FeatureSet.AUDIO:
            mfcc = [i for i, name in enumerate(names) if name.startswith("mfcc_")]
            add("mean MFCCs (baseline)", track_ids, evaluation.standardised_vectors(raw[:, mfcc]))
    networks = (
        (FeatureSet.TAGGER, "musicnn tagger embedding (MagnaTagATune)"),
        (FeatureSet.TAGGER_MSD, "musicnn tagger embedding (Million Song Dataset)"),
        (FeatureSet.TAGGER_BOTH, "musicnn tagger embeddings (both)"),
        (FeatureSet.CNN, "CNN trained on the catalog"),
    )
    for feature_set, name in networks:
        index = services.catalog_latest_index(catalog, feature_set)
        if index is not None:
            add(f"{name} (index v{index.version})", index.track_ids, index.matrix())
    crop, crop_chance = cnn_crop_retrieval(catalog=catalog)
    return CatalogQuality(results, chance or 0.0, crop, crop_chance)


def cnn_crop_retrieval(*, catalog: Catalog, limit: int = 2000) -> tuple[float | None, float | None]:
    """Top-1 accuracy of finding a clip's second half from its first half with the catalog's CNN (and chance).

    None when the catalog has no trained CNN. At most ``limit`` clips (the lowest ids).
    """
    from recommender import networks
    from recommender.cnn import contrastive

    model_row = networks.feature_set_model(catalog, FeatureSet.CNN)
    if model_row is None:
        return None, None
    model = networks.load_network(model_row.pk)
    firsts, seconds = [], []
    for track in catalog.tracks.filter(status=Track.Status.ANALYSED).select_related("analysis").order_by("pk")[:limit]:
        try:
            mel = networks.track_log_mel(track=track)
        except (ValueError, OSError) as error:
            logger.warning("Track %s left out of crop retrieval: %s", track.pk, error)
            continue
        half = len(mel) // 2
        firsts.append(contrastive.embed(model, mel[:half]))
        seconds.append(contrastive.embed(model, mel[half:]))
    if len(firsts) < 2:
        return None, None
    found = np.argmax(np.array(firsts) @ np.array(seconds).T, axis=1)
    return float(np.mean(found == np.arange(len(firsts)))), 1.0 / len(firsts)


def score_spread(vectors: np.ndarray, *, pairs: int = 4000, seed: int = 0) -> tuple[float, float] | None:
    """The 25th and 75th percentiles of the scores (dot products of an index's rows) of ``pairs`` sampled pairs of
    distinct tracks; None under four tracks. A narrow range means the recommender tells pairs little apart."""
    if len(vectors) < 4:
        return None
    rng = np.random.default_rng(seed)
    a, b = rng.integers(len(vectors), size=(2, min(pairs, len(vectors) ** 2)))
    keep = a != b
    scores = np.einsum("ij,ij->i", vectors[a[keep]], vectors[b[keep]])
    low, high = np.percentile(scores, [25, 75])
    return float(low), float(high)
