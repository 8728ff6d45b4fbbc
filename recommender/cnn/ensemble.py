"""Several trainings of the CNN as one network whose cosine still splits exactly into region pairs.

One contrastive training on a small catalog swings with its seed (on the 80 real clips, 600 steps, seeds 0-2:
centred style precision@5 0.463 to 0.510, pointing game 0.74 to 0.80); the three as one reach 0.508 and 0.86
(bench/cnn.py --seeds 0,1,2 --members 1). The ensemble puts K trainings' unit embeddings side by side, over
the square root of K:

    e = (e_1, ..., e_K) / sqrt(K),   |e| = 1,   cos(A, B) = e_A . e_B = mean over k of cos_k(A, B)

so it ranks by the mean of the members' cosines. Its cells are each member's cells over that member's
|z_k| of the clip, side by side, over sqrt(K): their plain mean is e, so every rule the single network
obeys (contrastive.embedding_parts: parts sum to the unit embedding, centred or not) holds unchanged, and
the explanation, the fidelity tests and the index take an ensemble wherever they take a SimilarityCNN. The
members share the grid (same architecture), so a region's share is the mean of the members' shares.
Pure PyTorch, no Django.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from recommender.cnn import contrastive


class EnsembleCNN(nn.Module):
    """K SimilarityCNNs of one architecture as one: the mean of their cosines, exactly decomposable."""

    def __init__(self, members: Sequence[contrastive.SimilarityCNN]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one network")
        if len({repr(m.config) for m in members}) != 1:
            raise ValueError("an ensemble's networks must share one architecture (and so one grid of cells)")
        self.members = nn.ModuleList(members)
        self.config = {**members[0].config, "members": len(members)}

    def cells(self, log_mel: torch.Tensor) -> torch.Tensor:
        """(batch, 12, columns, K * D): each member's cells over its clip's |z_k|, side by side, over sqrt(K)."""
        parts = []
        for member in self.members:
            cells = member.cells(log_mel)
            norms = cells.mean(dim=(1, 2)).norm(dim=-1).clamp_min(1e-12)  # a silent clip's cells stay ~0
            parts.append(cells / norms.view(-1, 1, 1, 1))
        return torch.cat(parts, dim=-1) / math.sqrt(len(parts))

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        """(batch, K * D) unit-length embeddings."""
        return F.normalize(self.cells(log_mel).mean(dim=(1, 2)), dim=1)


def reinitialised(architecture: dict, *, seed: int | None = None) -> nn.Module:
    """A network (or an ensemble of as many) of this architecture (a model's ``config``) with fresh random weights
    (from ``seed`` when given): what a saved file's weights load into, and the model randomisation check's network
    (Adebayo et al. 2018)."""
    if seed is not None:
        torch.manual_seed(seed)

    def fresh() -> contrastive.SimilarityCNN:
        return contrastive.SimilarityCNN(
            channels=architecture["channels"], embedding_size=architecture["embedding_size"],
            unit_cells=architecture.get("unit_cells", False), pooling=architecture.get("pooling", "mean"),
            pool_sharpness=architecture.get("pool_sharpness", 0.0),  # AutoPool's starting sharpness, as trained from
        ).eval()

    if "members" in architecture:
        return EnsembleCNN([fresh() for _ in range(architecture["members"])]).eval()
    return fresh()


def train(
    spectrograms: Sequence[np.ndarray],
    config: contrastive.TrainingConfig | None = None,
    *,
    teacher: np.ndarray | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> contrastive.TrainingResult:
    """Train ``config.members`` networks (seeds ``config.seed``, + 1, ...) on the same clips, holding the same ones
    aside, and return them as one EnsembleCNN (a single SimilarityCNN when ``members`` is 1). A time budget is
    shared out evenly. ``progress(step, total, loss)`` counts the steps of all the members; until the last has
    started, ``total`` assumes each one left takes as many steps as the one training now."""
    config = config or contrastive.TrainingConfig()
    count = max(1, config.members)
    if count == 1:
        return contrastive.train(spectrograms, config, teacher=teacher, progress=progress)
    share = None if config.max_seconds is None else config.max_seconds / count
    results: list[contrastive.TrainingResult] = []
    for k in range(count):
        member = dataclasses.replace(config, seed=config.seed + k, aside_seed=config.seed, members=1, max_seconds=share)
        done = sum(r.steps for r in results)

        def counted(step: int, total: int, loss: float, done: int = done, left: int = count - k) -> None:
            progress(done + step, done + total * left, loss)

        results.append(contrastive.train(spectrograms, member, teacher=teacher, progress=counted if progress else None))
    offsets = np.cumsum([0] + [r.steps for r in results])
    return contrastive.TrainingResult(
        model=EnsembleCNN([r.model for r in results]).eval(),
        losses=[loss for r in results for loss in r.losses],
        seconds=sum(r.seconds for r in results),
        steps=int(offsets[-1]),
        held_aside=results[0].held_aside,
        # Every member's checks, at the step of the whole training they happened at.
        checks=[(int(offset) + step, score) for offset, r in zip(offsets, results) for step, score in r.checks],
        best_step=None,
        members=results,
        seed=config.seed,
    )
