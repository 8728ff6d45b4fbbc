"""Measuring, on a catalog, whether the CNN's spectrogram explanations are true of the CNN (explanations.fidelity)."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from explanations import fidelity
from recommender import networks, services
from recommender.cnn import frontend
from recommender.models import Catalog, SimilarityIndex, Track

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExplanationQuality:
    report: fidelity.FidelityReport
    pointing: fidelity.PointingResult
    plot: bytes
    model_sha256: str


def _mels(catalog: Catalog) -> tuple[list[Track], list[np.ndarray]]:
    tracks, mels = [], []
    for track in catalog.tracks.filter(status=Track.Status.ANALYSED).select_related("analysis").order_by("pk"):
        try:
            mels.append(networks.track_log_mel(track=track))
            tracks.append(track)
        except (ValueError, OSError) as error:
            logger.warning("Track %s left out of the fidelity evaluation: %s", track.pk, error)
    return tracks, mels


def catalog_evaluate_explanations(
    *, catalog: Catalog, n_pairs: int = 50, n_trials: int = 50, seed: int = 0
) -> ExplanationQuality:
    """Deletion/insertion AUC over ``n_pairs`` recommendations of the catalog's CNN, and the pointing game.

    Pairs: distinct liked tracks drawn at random, each with its top recommendation in the CNN index.
    Pointing trials: two clips of different styles (where styles are known), and a 3-second excerpt of
    a third clip spliced into both at random times.
    """
    index = services.catalog_latest_index(catalog, SimilarityIndex.FeatureSet.CNN)
    if index is None:
        raise ValueError(services.missing_index_message(catalog, "cnn"))
    model = networks.load_network(index.model_id)
    tracks, mels = _mels(catalog)
    if len(tracks) < 3:
        raise ValueError("the fidelity evaluation needs at least three decodable clips")
    row_of = {t.pk: i for i, t in enumerate(tracks)}
    rng = np.random.default_rng(seed)
    pairs = []
    for i in rng.permutation(len(tracks)):
        if len(pairs) >= n_pairs:
            break
        if tracks[i].pk not in index.track_ids:
            continue
        best = services.recommend(index=index, liked_track_ids=[tracks[i].pk], k=1)
        if best and best[0].track_id in row_of:
            # The recommended track first: its regions are what the explanation outlines and deletion removes.
            pairs.append((mels[row_of[best[0].track_id]], mels[i]))
    centre = np.asarray(index.mean, dtype=np.float64)
    report = fidelity.evaluate_pairs(model, pairs, seed=seed, centre=centre)

    trials = fidelity.planted_trials(mels, [t.style for t in tracks], n_trials, rng, length=frontend.PATCH_FRAMES)
    pointing = fidelity.pointing_game(model, trials, centre=centre)
    plot = fidelity.curves_plot(report, pointing, title=f"Faithfulness of the CNN's explanations on {catalog.name}")
    return ExplanationQuality(report, pointing, plot, index.model.sha256)
