"""musicnn's taggers (Pons & Serra, 2019) in PyTorch: 50 tag probabilities and a 200-d embedding
per clip, from the MagnaTagATune model (vocabulary "mtt", the default) or the Million Song Dataset
one ("msd").

The network follows musicnn 0.1.0's `models.build_musicnn`, which MTT_musicnn and MSD_musicnn
share with the same sizes; only the weights and the tag vocabulary differ. Batch-normalised
log-mel input; a front end of wide timbral convolutions (7 frames x 38 and x 67 mel bands, 204
filters each) and temporal ones (128, 64 and 32 frames x 1 band, 51 filters each), each max-pooled
over frequency; three 7-frame 1-d convolutions with dense and residual connections (64 filters);
a back end of max and mean pooling over time, a 200-unit dense layer and the 50-unit classifier.
Every batch norm runs in inference mode (moving mean and variance, epsilon 1e-3 as in TF).
The weights in weights/musicnn_mtt.npz and weights/musicnn_msd.npz were converted once by
convert_musicnn.py (ISC licence: weights/LICENSE); each file carries its tag names.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from recommender.cnn import frontend

WEIGHTS_MTT = Path(__file__).resolve().parent / "weights" / "musicnn_mtt.npz"  # MagnaTagATune: instruments, moods
WEIGHTS_MSD = Path(__file__).resolve().parent / "weights" / "musicnn_msd.npz"  # Million Song Dataset: genres, decades
TAGGERS = {"mtt": WEIGHTS_MTT, "msd": WEIGHTS_MSD}  # vocabulary name -> weights file
BOTH = "both"  # both taggers side by side (TaggerPair)
VOCABULARIES = (*TAGGERS, BOTH)  # what a study may choose its tags and tagger embedding from
WEIGHTS = WEIGHTS_MTT  # the default tagger's weights
EPSILON = 1e-3  # tf.compat.v1.layers.batch_normalization's default
TIMBRAL_BANDS = (38, 67)  # int(0.4 * 96), int(0.7 * 96)
TEMPORAL_FRAMES = (128, 64, 32)
FRONT_CHANNELS = 2 * 204 + 3 * 51  # 561
MID_CHANNELS = 64
POOLED = FRONT_CHANNELS + 3 * MID_CHANNELS  # 753 maps, each max- and mean-pooled over time
EMBEDDING_SIZE = 200
PATCH_BATCH = 32  # patches per forward pass: bounds memory on long files


class _Block(nn.Module):
    """Convolution, ReLU, then batch norm: musicnn's order throughout."""

    def __init__(self, conv: nn.Module, channels: int):
        super().__init__()
        self.conv = conv
        self.norm = (nn.BatchNorm2d if isinstance(conv, nn.Conv2d) else nn.BatchNorm1d)(channels, eps=EPSILON)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(F.relu(self.conv(x)))

    def pooled_over_frequency(self, x: torch.Tensor) -> torch.Tensor:
        """max over the mel axis of norm(relu(conv(x))), (batch, channels, time), without the ReLU
        and batch norm ever touching the full-size maps.

        Inference-mode batch norm is a*v + b per channel, monotone in v, and so is the ReLU: the
        maximum over frequency is reached where the convolution is largest when a > 0 and where
        it is smallest when a < 0. Negating a channel's filter and bias turns its minimum into a
        maximum (negation is exact in floating point), so one max over the convolution's output
        serves every channel. The front end's maps are 90 % of the network's memory traffic.
        """
        sign = torch.where(self.norm.weight < 0, -1.0, 1.0)  # the sign of a = gamma / sqrt(var + eps)
        extreme = F.conv2d(x, self.conv.weight * sign.view(-1, 1, 1, 1), self.conv.bias * sign)
        extreme = extreme.amax(dim=3) * sign.view(1, -1, 1)
        return self.norm(F.relu(extreme).unsqueeze(3)).squeeze(3)


class Musicnn(nn.Module):
    """Input (batch, 187, 96) log-mel patches; output (probabilities (batch, 50), embedding (batch, 200)).

    The embedding is the back end's penultimate layer as musicnn's extractor returns it
    ("penultimate"): the 200-unit dense layer after its ReLU and batch norm, before dropout
    and the classifier.
    """

    def __init__(self, n_tags: int = 50):
        super().__init__()
        self.tag_names: list[str] = []  # set by load_tagger from the weights file
        self.input_norm = nn.BatchNorm2d(1, eps=EPSILON)
        self.timbral = nn.ModuleList(_Block(nn.Conv2d(1, 204, (7, bands)), 204) for bands in TIMBRAL_BANDS)
        self.temporal = nn.ModuleList(_Block(nn.Conv2d(1, 51, (frames, 1)), 51) for frames in TEMPORAL_FRAMES)
        self.midend = nn.ModuleList(
            _Block(nn.Conv1d(channels, MID_CHANNELS, 7, padding=3), MID_CHANNELS)
            for channels in (FRONT_CHANNELS, MID_CHANNELS, MID_CHANNELS)
        )
        self.pool_norm = nn.BatchNorm1d(2 * POOLED, eps=EPSILON)
        self.dense = nn.Linear(2 * POOLED, EMBEDDING_SIZE)
        self.dense_norm = nn.BatchNorm1d(EMBEDDING_SIZE, eps=EPSILON)
        self.classifier = nn.Linear(EMBEDDING_SIZE, n_tags)

    def forward(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.input_norm(patches.unsqueeze(1))  # (batch, 1, time, mel): NCHW with H = time
        maps = []
        # Timbral: TF pads 3 frames each side and convolves "valid", so time keeps its length.
        padded = F.pad(x, (0, 0, 3, 3))
        for block in self.timbral:
            maps.append(block.pooled_over_frequency(padded))  # max over what is left of the mel axis
        for block, frames in zip(self.temporal, TEMPORAL_FRAMES):
            # TF's "same" padding for an even kernel puts the extra frame after: 63 before, 64 after.
            before = (frames - 1) // 2
            maps.append(block.pooled_over_frequency(F.pad(x, (0, 0, before, frames - 1 - before))))
        front = torch.cat(maps, dim=1)  # (batch, 561, time), in musicnn's concatenation order
        mid1 = self.midend[0](front)
        mid2 = self.midend[1](mid1) + mid1
        mid3 = self.midend[2](mid2) + mid2
        features = torch.cat([front, mid1, mid2, mid3], dim=1)  # (batch, 753, time)
        # TF concatenates max and mean on a trailing axis before flattening, so they interleave:
        # max(map 0), mean(map 0), max(map 1), ...
        pooled = torch.stack([features.amax(dim=2), features.mean(dim=2)], dim=2).flatten(1)
        embedding = self.dense_norm(F.relu(self.dense(self.pool_norm(pooled))))
        return torch.sigmoid(self.classifier(embedding)), embedding


class TaggerPair(nn.Module):
    """Both taggers run on the same patches, side by side: (probabilities (batch, 100), embedding (batch, 400)),
    MagnaTagATune's first. Its tag names are both vocabularies' (a tag both know, "rock", appears twice)."""

    def __init__(self, first: Musicnn, second: Musicnn):
        super().__init__()
        self.first, self.second = first, second
        self.tag_names: list[str] = [*first.tag_names, *second.tag_names]

    def forward(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        (p1, e1), (p2, e2) = self.first(patches), self.second(patches)
        return torch.cat([p1, p2], dim=1), torch.cat([e1, e2], dim=1)


@dataclass(frozen=True)
class TaggerOutput:
    tags: np.ndarray  # (50,) float32 tag probabilities, the mean over the clip's 3-s patches
    embedding: np.ndarray  # (200,) float32 penultimate layer, the mean over the clip's 3-s patches
    tag_names: list[str]

    def top(self, n: int = 5) -> list[tuple[str, float]]:
        order = np.argsort(self.tags)[::-1][:n]
        return [(self.tag_names[i], float(self.tags[i])) for i in order]


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_tagger(
    device: str | torch.device | None = None, path: Path | None = None, *, vocabulary: str = "mtt"
) -> Musicnn:
    """The converted network in inference mode on `device` (CUDA when there is one, else the CPU):
    the tagger named by `vocabulary` (a TAGGERS key), or the weights file at `path` when given."""
    if path is None:
        if vocabulary not in TAGGERS:
            raise ValueError(f"no tagger with vocabulary {vocabulary!r}; there are {sorted(TAGGERS)}")
        path = TAGGERS[vocabulary]
    with np.load(path) as stored:
        tag_names = [str(name) for name in stored["tag_names"]]
        arrays = {name: stored[name] for name in stored.files if name != "tag_names"}
    model = Musicnn(n_tags=len(tag_names))
    model.tag_names = tag_names
    state = model.state_dict()
    expected = {name for name in state if not name.endswith("num_batches_tracked")}
    if set(arrays) != expected:
        raise ValueError(f"{path.name} does not match the network: {sorted(set(arrays) ^ expected)[:5]}")
    model.load_state_dict({**state, **{name: torch.from_numpy(value) for name, value in arrays.items()}})
    return model.eval().to(device or default_device())


def default_tagger(vocabulary: str = "mtt") -> Musicnn | TaggerPair:
    """One network per vocabulary and process, loaded on first use ("both": the two taggers side by side)."""
    return _shared_tagger(vocabulary)


@functools.cache  # keyed on the name alone: default_tagger() and default_tagger(vocabulary="mtt") share one
def _shared_tagger(vocabulary: str) -> Musicnn | TaggerPair:
    if vocabulary == BOTH:
        return TaggerPair(*(_shared_tagger(name) for name in TAGGERS)).eval()
    return load_tagger(vocabulary=vocabulary)


def tag_patches(patches: np.ndarray, *, model: Musicnn | TaggerPair | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(n, 50) probabilities and (n, 200) embeddings for (n, 187, 96) log-mel patches (a TaggerPair: 100 and 400)."""
    model = model or default_tagger()
    device = next(model.parameters()).device
    patches = np.asarray(patches, dtype=np.float32)
    probabilities, embeddings = [], []
    with torch.inference_mode():
        for start in range(0, len(patches), PATCH_BATCH):
            batch = torch.from_numpy(patches[start : start + PATCH_BATCH]).to(device)
            p, e = model(batch)
            probabilities.append(p.float().cpu().numpy())
            embeddings.append(e.float().cpu().numpy())
    return np.concatenate(probabilities), np.concatenate(embeddings)


def tag_clip(source: np.ndarray | str | Path, *, sr: int = frontend.SAMPLE_RATE, model: Musicnn | None = None) -> TaggerOutput:
    """Tag probabilities and embedding of a clip (a path, or a mono signal at `sr`), averaged over
    its non-overlapping 3-s patches (see frontend.patches for a short last patch and short clips)."""
    model = model or default_tagger()
    signal = frontend.load_signal(source) if isinstance(source, (str, Path)) else source
    probabilities, embeddings = tag_patches(frontend.patches(frontend.log_mel(signal, sr)), model=model)
    return TaggerOutput(
        tags=probabilities.mean(axis=0), embedding=embeddings.mean(axis=0), tag_names=list(model.tag_names),
    )
