"""How well the CNN learns: the held-aside score its training stops on, and the check printed when it ends.

Early stopping: training stops when a held-aside score stops improving, keeping its best weights.

Some of the catalog's clips are held aside (never trained on); every few steps the network is asked to find
each held-aside clip's second half, among every clip's second half, from its first half, scored by the mean
reciprocal rank. Training stops after ``patience`` checks without a better score, and the network goes back to
the weights of its best check. Pure PyTorch and numpy, no Django.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np


def held_aside(n_clips: int, share: float, seed: int) -> list[int]:
    """Which clips are held aside: ``share`` of them (at least 2 when any, leaving at least 2 to train on),
    drawn from the seed, ascending."""
    if share <= 0 or n_clips < 4:
        return []
    count = min(n_clips - 2, max(2, round(share * n_clips)))
    return sorted(int(i) for i in np.random.default_rng(seed + 1).choice(n_clips, size=count, replace=False))


def retrieval_score(embed: Callable[[np.ndarray], np.ndarray], spectrograms: Sequence[np.ndarray],
                    queries: Sequence[int]) -> float:
    """Mean reciprocal rank of each query clip's second half among all clips' second halves, found by cosine
    from its first half (1: always first; chance about 2 / number of clips)."""
    second = np.array([embed(m[len(m) // 2:]) for m in spectrograms], dtype=np.float64)
    first = np.array([embed(spectrograms[q][: len(spectrograms[q]) // 2]) for q in queries], dtype=np.float64)
    scores = first @ second.T
    ranks = [1 + int(np.sum(row > row[q])) for row, q in zip(scores, queries)]
    return float(np.mean([1.0 / r for r in ranks]))


class EarlyStopping:
    """Tracks the held-aside score of each check; says when to stop, and restores the best weights."""

    def __init__(self, patience: int):
        self.patience = patience
        self.best_score = -np.inf
        self.best_step = 0
        self.best_state: dict | None = None
        self.checks: list[tuple[int, float]] = []
        self.waited = 0

    def update(self, step: int, score: float, model, *, counts: bool = True) -> bool:
        """Record a check; True when ``patience`` checks in a row have not beaten the best. A check that does not
        ``count`` (one in the training's warm-up) is only recorded."""
        self.checks.append((step, round(float(score), 5)))
        if not counts:
            return False
        if score > self.best_score + 1e-9:
            self.best_score, self.best_step, self.waited = float(score), step, 0
            self.best_state = copy.deepcopy(model.state_dict())
            return False
        self.waited += 1
        return self.waited >= self.patience

    def restore(self, model) -> None:
        if self.best_state is not None:
            model.load_state_dict(self.best_state)


# The check after training -----------------------------------------------------------------------

#: Cosines bunch when even the least alike pairs (the 5th percentile) score above this: the network has not
#: learnt to tell the clips apart (the seed's demo CNN after 100 steps: 0.93 to 0.96 for every pair).
BUNCHED_P5 = 0.8


@dataclass(frozen=True)
class TrainingCheck:
    """What a researcher reads when training ends: does the network tell clips apart, and do its scores spread?"""

    crop_retrieval_top1: float  # a clip's second half found from its first half, among all the clips
    chance: float
    cosine_p5: float  # of the network's own (uncentred) cosines over all pairs
    cosine_p95: float
    centred_iqr: float  # inter-quartile range of the centred cosine the index ranks by
    bunched: bool

    def to_json(self) -> dict:
        return asdict(self)


def training_check(model, spectrograms: Sequence[np.ndarray], *, limit: int = 500) -> TrainingCheck:
    """Check a trained network on (at most ``limit`` of) the clips it was trained on."""
    mels = list(spectrograms)[:limit]
    from recommender.cnn.contrastive import embed

    halves = np.array([[embed(model, m[: len(m) // 2]), embed(model, m[len(m) // 2 :])] for m in mels])
    found = np.argmax(halves[:, 0] @ halves[:, 1].T, axis=1)
    whole = np.array([embed(model, m) for m in mels], dtype=np.float64)
    upper = np.triu_indices(len(mels), 1)
    raw = (whole @ whole.T)[upper]
    moved = whole - whole.mean(axis=0)
    moved /= np.where(np.linalg.norm(moved, axis=1, keepdims=True) > 0, np.linalg.norm(moved, axis=1, keepdims=True), 1.0)
    centred = (moved @ moved.T)[upper]
    p5, p95 = (float(v) for v in np.percentile(raw, [5, 95]))
    return TrainingCheck(
        crop_retrieval_top1=round(float(np.mean(found == np.arange(len(mels)))), 4), chance=round(1 / len(mels), 4),
        cosine_p5=round(p5, 4), cosine_p95=round(p95, 4),
        centred_iqr=round(float(np.subtract(*np.percentile(centred, [75, 25]))), 4), bunched=p5 > BUNCHED_P5,
    )
