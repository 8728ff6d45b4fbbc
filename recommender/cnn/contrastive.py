"""A small CNN trained on a catalog's own audio, without labels, whose cosine splits exactly into
region pairs. Pure PyTorch and numpy, no Django.

Input: the tagger's log-mel spectrogram (frontend.log_mel: 16 kHz, 96 bands, 16 ms frames), so
one cached spectrogram per clip serves both networks. Five 3x3 convolutions (batch norm, ReLU)
with max pooling leave a last map of C channels x 12 frequency rows x T/32 time columns (one
column per ~0.5 s). Every cell's C values are projected by one linear map W (no bias) to a
D-dimensional vector; AutoPool (McFee, Salamon & Bello 2018) weighs each dimension d of each cell r
by a softmax over the clip's cells, w[r, d] = softmax_r(a_d x[r, d]), with a learned sharpness a_d
(0 is the mean, a large one the max), so a passage that stands out in a dimension carries it. With
p[r] = n w[r] * x[r] (what ``cells`` returns) the track's embedding is their plain mean, L2-normalised:

    z = mean_cells p,   e = z / |z|,   cos(A, B) = e_A . e_B
      = sum over (r in A, s in B) of  p_A[r] . p_B[s] / (n_A n_B |z_A| |z_B|)

so the similarity is exactly a sum over pairs (region of A, region of B): ``pair_contributions``
gives that matrix, which the spectrogram explanation draws and the fidelity tests delete from.

Training is contrastive (SimCLR's NT-Xent): two random crops of the same track are positives,
the other tracks' crops in the batch negatives. Light augmentation, in the power domain: gain,
mixing in another track (mixup), time-stretching crops (random resized crop); the crop position
is the time shift (recommender.cnn.crops). Deterministic from its seed on the CPU. Several trainings used as
one, steadier than a single seed: recommender.cnn.ensemble.
"""
from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from recommender.cnn import crops, frontend

#: (frequency, time) max pooling after each convolution; None: no pooling. 96 mel rows end as 12.
POOLS: tuple[tuple[int, int] | None, ...] = ((2, 4), (2, 2), (2, 2), None, None)
CHANNELS = (16, 32, 64, 128, 128)
EMBEDDING_SIZE = 128
FREQUENCY_ROWS = frontend.N_MELS // math.prod(p[0] for p in POOLS if p)  # 12
TIME_STRIDE = math.prod(p[1] for p in POOLS if p)  # 16 input frames per last-map column
MEL_ROWS_PER_CELL = frontend.N_MELS // FREQUENCY_ROWS  # 8 mel bands per last-map row
POOLINGS = ("mean", "auto")


@dataclass(frozen=True)
class TrainingConfig:
    seed: int = 0
    #: Optimiser steps: the length of training whatever the catalog's size (an epoch is one pass
    #: over the tracks in batches; a small catalog sees many, a large one few).
    #: On ../shared/realmusic (bench/cnn.py, one network, seed 0): 200 / 400 / 600 steps gave a pointing game of
    #: 0.60 / 0.78 / 0.82, centred precision@5 0.515 / 0.50 / 0.54 (the best tagger 0.56).
    steps: int = 600
    batch_size: int = 32  # tracks per step; each gives two crops
    #: ~4.1 s. Longer views of the 30-s clips the embeddings compare did not help: 512 frames (~8.2 s) on
    #: ../shared/realmusic (bench/cnn.py --members 1 --seed 0 --crop-frames 512, 600 steps) gave centred precision@5
    #: 0.463 and a pointing game of 0.72 against 0.510 and 0.76, for twice the training time (1018 s).
    crop_frames: int = 256
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    temperature: float = 0.1
    gain_db: float = 6.0  # each crop's level moves by up to this much, up or down
    mixup: float = 0.3  # at most this share of another track is mixed in
    stretch: tuple[float, float] = (0.8, 1.25)  # a crop covers this many crop lengths of the clip, resized
    #: Weight of the relational distillation towards the tagger (0: none): how far the CNN's cosines
    #: between the batch's tracks are pulled towards the tagger's cosines between the same tracks.
    #: Off: on ../shared/realmusic (one network, 600 steps, seed 0, both taggers as teachers) weight 1 gave
    #: centred precision@5 0.49-0.50 against 0.54 and a pointing game of 0.72 against 0.82; one seed, on an
    #: earlier machine, where seeds alone move these by 0.05 (members, below).
    distill_weight: float = 0.0
    threads: int | None = None  # torch threads while training; None: torch's default
    #: A time budget: after PROBE_STEPS steps the training plans as many steps as fit (at most ``steps``)
    #: and runs its learning-rate schedule over those. The weights are then deterministic given the steps
    #: run, which the training records; None: exactly ``steps``.
    max_seconds: float | None = None
    #: Early stopping (recommender/cnn/checks.py): this share of the clips is held aside (never trained
    #: on); every ``check_every`` steps their retrieval score is measured, and training stops after ``patience``
    #: checks without a better one, keeping the best check's weights. 0: no clip held aside, no early stop.
    held_aside: float = 0.0
    check_every: int = 25
    patience: int = 4
    #: Checks before this share of the planned steps are recorded but neither kept nor counted towards patience:
    #: early in the one-cycle schedule the learning rate is at its peak and a few held-aside clips' score jumps by
    #: luck (80 real clips, 8 aside, 200 steps: 0.55, 0.77, 0.48, 0.60, 0.72, 0.70 at steps 25-150 kept step 50's
    #: weights, a network trained a quarter as long as planned).
    stop_from: float = 0.5
    #: The seed that draws the held-aside clips (None: ``seed``): an ensemble's members, each its own seed, hold
    #: the same clips aside.
    aside_seed: int | None = None
    #: Networks trained (seeds ``seed``, ``seed`` + 1, ...) and used as one (recommender.cnn.ensemble): the mean
    #: of their cosines, still exactly split into region pairs; each takes ``steps`` (or its share of the budget).
    #: Measured on ../shared/realmusic (bench/cnn.py --seeds 0,1,2, 600 steps each): one network gives centred
    #: precision@5 0.478 [0.463, 0.510 over the seeds], pointing game 0.77 [0.74, 0.80], deletion AUC 0.239
    #: (occlusion 0.202), randomisation correlation 0.13; the three as one 0.508, 0.86, 0.208 (occlusion 0.172),
    #: 0.20, for three times the training. ``train`` below trains one network whatever this says: ensemble.train
    #: trains them all.
    members: int = 3
    #: Pool unit cell vectors (each cell's direction, not its loudness, makes its part of the embedding).
    unit_cells: bool = False
    #: How the cells make the embedding: "mean" (each cell weighs the same) or "auto" (AutoPool, McFee et al.
    #: 2018: per dimension, a softmax over the cells with a learned sharpness, from the mean towards the max), so
    #: that a passage that stands out in a dimension can carry it. Either way the embedding is the plain mean of
    #: what ``cells`` returns, so the pair decomposition stays exact.
    #: Measured on ../shared/realmusic (bench/cnn.py, 200 steps): AutoPool from a sharpness of 20 against the mean,
    #: pointing game 0.68 vs 0.18, model-randomisation rank correlation 0.13 vs 0.47, centred precision@5 0.515 vs
    #: 0.478. Models saved before the option load with the mean, as they were trained.
    pooling: str = "auto"
    #: AutoPool's starting sharpness (0: the mean). A trained CNN's projections are about 0.8 (median |x|), so 20
    #: leans well towards the max; training moves it little (a few tenths).
    pool_sharpness: float = 20.0

    def to_json(self) -> dict:
        return asdict(self)


class SimilarityCNN(nn.Module):
    """Log-mel (batch, frames, 96) in; per-cell projected vectors or unit embeddings out."""

    def __init__(self, channels: Sequence[int] = CHANNELS, embedding_size: int = EMBEDDING_SIZE,
                 unit_cells: bool = False, pooling: str = "mean", pool_sharpness: float = 0.0):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, not {pooling!r}")
        self.unit_cells, self.pooling = unit_cells, pooling
        self.input_norm = nn.BatchNorm2d(1)
        layers, previous = [], 1
        for width, pool in zip(channels, POOLS):
            layers += [nn.Conv2d(previous, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            if pool:
                layers.append(nn.MaxPool2d(pool, ceil_mode=True))
            previous = width
        self.body = nn.Sequential(*layers)
        # No bias: the embedding must be a mean of per-cell vectors for the pair decomposition to be exact.
        self.projection = nn.Linear(previous, embedding_size, bias=False)
        # AutoPool's sharpness per dimension (a parameter only when it pools that way, so older files load).
        self.sharpness = nn.Parameter(torch.full((embedding_size,), float(pool_sharpness))) if pooling == "auto" else None
        self.config = {"channels": list(channels), "embedding_size": embedding_size,
                       "pools": [list(p) if p else None for p in POOLS], "unit_cells": unit_cells, "pooling": pooling,
                       "pool_sharpness": float(pool_sharpness)}

    def last_map(self, log_mel: torch.Tensor) -> torch.Tensor:
        """(batch, C, 12, columns): the last convolution's map (frequency low to high, time left to right)."""
        x = log_mel.transpose(1, 2).unsqueeze(1)  # (batch, 1, mel, frames)
        return self.body(self.input_norm(x))

    def cells(self, log_mel: torch.Tensor) -> torch.Tensor:
        """(batch, 12, columns, D): each cell's part of the pooled vector, times the number of cells, so their
        plain mean is it: the cell of the last map projected by W (unit length with ``unit_cells``), weighted
        per dimension by AutoPool's softmax over the clip's cells with ``pooling="auto"``."""
        projected = self.projection(self.last_map(log_mel).permute(0, 2, 3, 1))
        if self.unit_cells:
            projected = F.normalize(projected, dim=-1, eps=1e-6)
        if self.sharpness is None:
            return projected
        batch, rows, columns, size = projected.shape
        flat = projected.reshape(batch, rows * columns, size)
        weights = torch.softmax(flat * self.sharpness, dim=1)
        return (flat * weights * (rows * columns)).reshape(batch, rows, columns, size)

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        """(batch, D) unit-length embeddings."""
        return F.normalize(self.cells(log_mel).mean(dim=(1, 2)), dim=1)


def embedding_parts(cells: np.ndarray, centre: np.ndarray | None = None) -> np.ndarray:
    """(cells, D) float64: each cell's part of its clip's unit embedding e (with ``centre`` c, of e - c); the parts
    sum to it, since e - c = sum over a clip's n cells of (p / (n |z|) - c / n). All zero for a silent clip."""
    a = np.asarray(cells, dtype=np.float64).reshape(-1, cells.shape[-1])
    norm = np.linalg.norm(a.mean(axis=0))
    if norm == 0:
        return np.zeros_like(a)
    parts = a / (len(a) * norm)
    return parts if centre is None else parts - np.asarray(centre, dtype=np.float64) / len(a)


def part_products(parts_a: np.ndarray, parts_b: np.ndarray) -> np.ndarray:
    """(parts of A, parts of B): each pair's exact share of the cosine of the two parts' sums (the matrix sums to
    it); parts of cells, or of regions (their cells' parts summed)."""
    norm = np.linalg.norm(parts_a.sum(axis=0)) * np.linalg.norm(parts_b.sum(axis=0))
    return parts_a @ parts_b.T / norm if norm > 0 else np.zeros((len(parts_a), len(parts_b)))


def pair_contributions(cells_a: np.ndarray, cells_b: np.ndarray, centre: np.ndarray | None = None) -> np.ndarray:
    """(cells of A, cells of B): each pair's exact share of cos(A, B); the whole matrix sums to it.

    ``cells_a``/``cells_b`` are one clip's (rows, columns, D) cells (``cells``). The result is
    indexed by flattened cells (row-major: frequency row, then time column).

    ``centre`` (the catalog's mean unit embedding c) splits the centred cosine cos(e_A - c, e_B - c)
    instead: what makes two tracks more alike than a typical pair of the catalog, about 0 for a typical
    pair. Still exact (embedding_parts).
    """
    return part_products(embedding_parts(cells_a, centre), embedding_parts(cells_b, centre))


def centred_cosine(a: np.ndarray, b: np.ndarray, centre: np.ndarray | None) -> np.ndarray:
    """cos(a - centre, b) for each row of ``a`` (k, D) against one ``b`` (D,) already centred and unit."""
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    if centre is not None:
        a = a - np.asarray(centre, dtype=np.float64)
    norms = np.linalg.norm(a, axis=1)
    return np.where(norms > 0, a @ b / np.where(norms > 0, norms, 1.0), 0.0)


def column_seconds() -> float:
    """How many seconds of audio one last-map column covers."""
    return TIME_STRIDE * frontend.HOP_LENGTH / frontend.SAMPLE_RATE


def row_mel_bands(row: int) -> tuple[int, int]:
    """The input's mel bands [low, high) that last-map row ``row`` (0 = lowest) sits over."""
    return row * MEL_ROWS_PER_CELL, (row + 1) * MEL_ROWS_PER_CELL


# Training ------------------------------------------------------------------------------------

def relational_distillation(embeddings: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between the student's and the teacher's cosines of every pair of distinct
    tracks (Park et al. 2019, "Relational knowledge distillation"); both (n, d) unit rows, one per track."""
    n = len(embeddings)
    off_diagonal = ~torch.eye(n, dtype=torch.bool)
    return F.mse_loss((embeddings @ embeddings.T)[off_diagonal], (teacher @ teacher.T)[off_diagonal])


def nt_xent(embeddings: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's loss for (2n, d) unit embeddings whose rows i and i + n are two views of one track."""
    n = len(embeddings) // 2
    logits = embeddings @ embeddings.T / temperature
    logits.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(logits, targets)


@dataclass
class TrainingResult:
    model: SimilarityCNN
    losses: list[float] = field(default_factory=list)  # mean loss of each epoch
    seconds: float = 0.0
    steps: int = 0
    held_aside: list[int] = field(default_factory=list)  # clips never trained on (early stopping's)
    checks: list[tuple[int, float]] = field(default_factory=list)  # (step, held-aside score) of each check
    best_step: int | None = None  # the weights kept come from this step's check (None for an ensemble)
    members: list[TrainingResult] = field(default_factory=list)  # an ensemble's: each network's own training
    seed: int = 0  # the seed this network trained from (an ensemble's: its first network's)


#: Steps timed before a time budget (TrainingConfig.max_seconds) decides how many fit.
PROBE_STEPS = 3


def _planned_steps(config: TrainingConfig, probe_seconds: float) -> int:
    """How many steps fit in the time budget, judged by the first PROBE_STEPS (at least those, at most ``steps``)."""
    per_step = probe_seconds / PROBE_STEPS
    fit = math.floor(config.max_seconds / max(per_step, 1e-6) + 1e-9)
    return int(min(config.steps, max(PROBE_STEPS + 1, fit)))


def train(
    spectrograms: Sequence[np.ndarray],
    config: TrainingConfig = TrainingConfig(),
    *,
    teacher: np.ndarray | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> TrainingResult:
    """Train one SimilarityCNN on (frames, 96) log-mel spectrograms, one per track (``config.members`` is
    ensemble.train's: it calls this once per network).

    ``teacher``: (tracks, d) vectors whose cosines the CNN's are pulled towards (the tagger's
    z-scored embeddings) when ``config.distill_weight`` > 0. ``progress(step, total_steps, loss)``
    is called after every step (``total_steps`` may shrink once, when a time budget has been judged).
    The same inputs, config and torch build give the same weights: all randomness comes from
    ``config.seed`` (with a time budget, given the number of steps it allowed).
    """
    targets = None
    if config.distill_weight > 0:
        if teacher is None or len(teacher) != len(spectrograms):
            raise ValueError("distillation needs one teacher vector per spectrogram")
        targets = F.normalize(torch.as_tensor(np.asarray(teacher, dtype=np.float32)), dim=1)
    if len(spectrograms) < 2:
        raise ValueError("contrastive training needs at least two tracks")
    from recommender.cnn import checks

    aside = checks.held_aside(len(spectrograms), config.held_aside,
                              config.seed if config.aside_seed is None else config.aside_seed)
    trained_on = [i for i in range(len(spectrograms)) if i not in set(aside)]
    stopper = checks.EarlyStopping(config.patience) if aside else None
    everything = spectrograms
    spectrograms = [everything[i] for i in trained_on]
    if targets is not None:
        targets = targets[torch.as_tensor(trained_on)]
    previous_threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = SimilarityCNN(unit_cells=config.unit_cells, pooling=config.pooling, pool_sharpness=config.pool_sharpness)
    sampler = crops.CropSampler(spectrograms, config, rng)
    batch = min(config.batch_size, len(spectrograms))
    steps_per_epoch = max(1, len(spectrograms) // batch)
    total = max(1, config.steps)
    budget = config.max_seconds is not None and total > PROBE_STEPS + 1
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)

    def one_cycle(steps: int):
        return torch.optim.lr_scheduler.OneCycleLR(
            optimiser, max_lr=config.learning_rate, total_steps=steps, pct_start=0.1, anneal_strategy="cos"
        )

    # With a time budget the probe steps run at the schedule's starting rate; the cycle covers the rest.
    schedule = None if budget else one_cycle(total)
    if budget:
        for group in optimiser.param_groups:
            group["lr"] = config.learning_rate / 25  # OneCycleLR's starting rate (its div_factor)
    result = TrainingResult(model=model, held_aside=aside, seed=config.seed)
    start = time.perf_counter()
    step = 0
    stop = False
    try:
        model.train()
        while step < total and not stop:
            order = rng.permutation(len(spectrograms))
            epoch_losses = []
            for k in range(min(steps_per_epoch, total - step)):
                if step >= total:  # a time budget shortened the training within this epoch
                    break
                indices = order[k * batch : (k + 1) * batch]
                embeddings = model(sampler.views(indices))
                loss = nt_xent(embeddings, config.temperature)
                if targets is not None:
                    loss = loss + config.distill_weight * relational_distillation(
                        embeddings[: len(indices)], targets[torch.as_tensor(indices)]
                    )
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                if schedule is not None:
                    schedule.step()
                step += 1
                if budget and step == PROBE_STEPS:
                    total = _planned_steps(config, time.perf_counter() - start)
                    schedule = one_cycle(total - PROBE_STEPS)
                epoch_losses.append(loss.item())
                if stopper and (step % config.check_every == 0 or step == total):
                    model.eval()
                    stop = stopper.update(step, checks.retrieval_score(
                        lambda mel: embed(model, mel), everything, aside), model,
                        counts=step >= config.stop_from * total or step == total)
                    model.train()
                if progress:
                    progress(step, step if stop else total, epoch_losses[-1])
                if stop:
                    break
            if epoch_losses:
                result.losses.append(float(np.mean(epoch_losses)))
    finally:
        torch.set_num_threads(previous_threads)
    model.eval()
    if stopper:
        stopper.restore(model)
        result.checks, result.best_step = stopper.checks, stopper.best_step
    result.seconds, result.steps = time.perf_counter() - start, step
    return result


# Inference and files -------------------------------------------------------------------------

def embed(model: SimilarityCNN, log_mel: np.ndarray) -> np.ndarray:
    """(D,) float32 unit embedding of a whole clip's (frames, 96) log-mel."""
    with torch.inference_mode():
        return model(torch.from_numpy(_padded(log_mel))[None])[0].numpy()


def cells(model: SimilarityCNN, log_mel: np.ndarray) -> np.ndarray:
    """(12, columns, D) float32 projected cells of a whole clip: what pair_contributions takes."""
    with torch.inference_mode():
        return model.cells(torch.from_numpy(_padded(log_mel))[None])[0].numpy()


def _padded(log_mel: np.ndarray) -> np.ndarray:
    """At least one column's worth of frames (a very short clip is repeated), float32."""
    mel = np.asarray(log_mel, dtype=np.float32)
    if len(mel) < TIME_STRIDE:
        mel = np.resize(mel, (TIME_STRIDE, mel.shape[1]))
    return mel


def save_bytes(model: SimilarityCNN, *, config: TrainingConfig | None = None, extra: dict | None = None) -> bytes:
    """The model as one file: its weights and the settings to rebuild it (no pickled code)."""
    buffer = io.BytesIO()
    torch.save(
        {"architecture": model.config, "state": model.state_dict(), "config": config.to_json() if config else {},
         "extra": extra or {}},
        buffer,
    )
    return buffer.getvalue()


def load_bytes(content: bytes) -> nn.Module:
    """A SimilarityCNN, or an ensemble of them (recommender.cnn.ensemble) when the file holds several."""
    from recommender.cnn import ensemble

    stored = torch.load(io.BytesIO(content), map_location="cpu", weights_only=True)
    model = ensemble.reinitialised(stored["architecture"])
    model.load_state_dict(stored["state"])
    return model.eval()
