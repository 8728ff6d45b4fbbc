"""The CNN's training views: random crops of cached log-mels, augmented in the power domain (gain, mixing in
another track, time-stretch), all drawn from one numpy generator, so a training is reproducible from its seed.
Pure PyTorch and numpy, no Django."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.nn import functional as F

if TYPE_CHECKING:
    from recommender.cnn.contrastive import TrainingConfig


def _to_power(log_mel: torch.Tensor) -> torch.Tensor:
    return (torch.pow(10.0, log_mel) - 1.0) / 10_000.0


def _to_log(power: torch.Tensor) -> torch.Tensor:
    return torch.log10(10_000.0 * power.clamp_min(0.0) + 1.0)


class CropSampler:
    """Random crops of cached spectrograms, augmented, drawn from one numpy generator (reproducible)."""

    def __init__(self, spectrograms: Sequence[np.ndarray], config: TrainingConfig, rng: np.random.Generator):
        self.spectrograms, self.config, self.rng = spectrograms, config, rng

    def crop(self, index: int) -> torch.Tensor:
        """(crop_frames, 96) log-mel: a stretch of the clip resized to crop_frames (time-stretch and shift)."""
        mel = self.spectrograms[index]
        length = self.config.crop_frames
        low, high = self.config.stretch
        span = round(length * self.rng.uniform(low, high))
        span = max(8, min(span, len(mel)))
        start = int(self.rng.integers(0, len(mel) - span + 1))
        piece = torch.from_numpy(np.asarray(mel[start : start + span], dtype=np.float32))
        if span < length and len(mel) < length:  # a clip shorter than a crop is repeated, as the tagger pads
            piece = piece.repeat(math.ceil(length / span), 1)[:length]
        elif span != length:
            piece = F.interpolate(piece.T.unsqueeze(0), size=length, mode="linear", align_corners=False)[0].T
        return piece

    def views(self, indices: Sequence[int]) -> torch.Tensor:
        """(2 * len(indices), crop_frames, 96): two augmented crops of each track, first views then second."""
        crops = [self.crop(i) for _ in range(2) for i in indices]
        power = _to_power(torch.stack(crops))
        n = len(power)
        gains = 10.0 ** (torch.from_numpy(self.rng.uniform(-1, 1, size=n)).float() * self.config.gain_db / 10.0)
        power = power * gains.view(n, 1, 1)
        if self.config.mixup > 0 and len(self.spectrograms) > 1:
            others = [self.crop(int(j)) for j in self.rng.integers(0, len(self.spectrograms), size=n)]
            weights = torch.from_numpy(self.rng.uniform(0, self.config.mixup, size=n)).float().view(n, 1, 1)
            power = (1 - weights) * power + weights * _to_power(torch.stack(others))
        return _to_log(power)
