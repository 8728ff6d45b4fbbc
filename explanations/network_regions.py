"""Which regions of two spectrograms a network's similarity comes from: log-mels in, regions out.

A CNN region is a 6-second passage in one of three pitch bands (low, middle, high) of the networks'
16 kHz, 96-band log-mel. For the CNN trained on the catalog the answer is exact: its (centred) cosine
is a sum over (cell of A, cell of B) pairs (recommender.cnn.contrastive), so summing the cells of
each region gives a (regions of A) x (regions of B) matrix that adds up to the score itself. Spread
over some 150 region pairs each pair carries a sliver of the score; summed over the liked track, each
region of the recommended track carries a share a listener can see (recommended_regions), and the
regions still add up to the score exactly. For the musicnn tagger, whose embedding has no such
structure, each of its 3-second patches' bands is covered in turn (its cells set to FILL, the log-mel
of silence) and the similarity recomputed: occlusion. No Django.
"""
from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

from explanations.regions import Region
from recommender.cnn import contrastive, frontend

#: What a covered (deleted, occluded) cell of the log-mel becomes: log10(10000 * 0 + 1) = 0, silence.
FILL = 0.0
#: Long enough that a few regions carry a visible share of the score (measured on ../shared/realmusic:
#: the three largest 3-s regions of the recommended track carry about a fifth of it, 6-s ones about
#: two fifths), short enough to hear as one passage.
PASSAGE_SECONDS = 6.0
N_BANDS = 3
#: At most this many regions are outlined on the recommended track, each with one partner on the liked track.
MAX_PAIRS = 3
#: A region of the recommended track is outlined only if it adds at least this many times its even share
#: of the positive contributions (their sum / number of regions): one that merely keeps up stands out of nothing.
REGION_MIN_TIMES_EVEN_SHARE = 1.5
#: A tagger region is outlined only if covering it lowers the similarity by at least this much.
OCCLUSION_MIN_DROP = 0.01


@dataclass(frozen=True)
class Grid:
    """The regions of one clip: passages x pitch bands, in log-mel frames and mel bands."""

    n_frames: int
    passage_frames: int

    @property
    def n_passages(self) -> int:
        return max(1, int(np.ceil(self.n_frames / self.passage_frames)))

    def __len__(self) -> int:
        return self.n_passages * N_BANDS

    def frames(self, region: int) -> tuple[int, int]:
        passage = region // N_BANDS
        return passage * self.passage_frames, min(self.n_frames, (passage + 1) * self.passage_frames)

    def mel_bands(self, region: int) -> tuple[int, int]:
        band, width = region % N_BANDS, frontend.N_MELS // N_BANDS
        return band * width, (band + 1) * width

    def seconds(self, region: int) -> tuple[float, float]:
        start, end = self.frames(region)
        frame = frontend.HOP_LENGTH / frontend.SAMPLE_RATE
        return round(start * frame, 3), round(end * frame, 3)

    def hertz(self, region: int) -> tuple[float, float]:
        """The band's frequency range: from the lower edge of its lowest mel filter to the upper edge of its highest."""
        low, high = self.mel_bands(region)
        edges = librosa.mel_frequencies(frontend.N_MELS + 2, fmin=0.0, fmax=frontend.SAMPLE_RATE / 2)
        return round(float(edges[low]), 1), round(float(edges[high + 1]), 1)

    def covered(self, log_mel: np.ndarray, regions) -> np.ndarray:
        """A copy of ``log_mel`` (frames, 96) with the given regions set to FILL."""
        out = np.array(log_mel, dtype=np.float32, copy=True)
        for region in regions:
            (f0, f1), (b0, b1) = self.frames(region), self.mel_bands(region)
            out[f0:f1, b0:b1] = FILL
        return out


def grid_of(log_mel: np.ndarray, passage_seconds: float = PASSAGE_SECONDS) -> Grid:
    """Passages of about ``passage_seconds`` for a clip, in whole CNN columns (16 frames), so every cell falls in
    one region."""
    columns = max(1, round(passage_seconds / contrastive.column_seconds()))
    return Grid(n_frames=len(log_mel), passage_frames=columns * contrastive.TIME_STRIDE)


def region_of_cells(grid: Grid, n_rows: int, n_columns: int) -> np.ndarray:
    """(rows * columns,) the region of each last-map cell (row-major: frequency row, then time column)."""
    rows_per_band = n_rows // N_BANDS
    columns_per_passage = grid.passage_frames // contrastive.TIME_STRIDE
    row = np.repeat(np.arange(n_rows), n_columns)
    column = np.tile(np.arange(n_columns), n_rows)
    passage = np.minimum(column // columns_per_passage, grid.n_passages - 1)
    band = np.minimum(row // rows_per_band, N_BANDS - 1)
    return passage * N_BANDS + band


def region_parts(cells: np.ndarray, grid: Grid, centre: np.ndarray | None = None) -> np.ndarray:
    """(regions, D): each region's part of the clip's (centred) unit embedding, its cells' parts summed; a few KB
    per clip, where its cells take most of a MB, and all a region-pair matrix needs."""
    parts = contrastive.embedding_parts(cells, centre)
    by_region = np.zeros((len(grid), parts.shape[1]))
    np.add.at(by_region, region_of_cells(grid, *cells.shape[:2]), parts)
    return by_region


def cnn_region_pairs(
    cells_a: np.ndarray, cells_b: np.ndarray, grid_a: Grid, grid_b: Grid, centre: np.ndarray | None = None
) -> np.ndarray:
    """(regions of A, regions of B): each pair's exact share of the CNN's cosine (centred on ``centre``, the
    index's mean, where given); the matrix sums to it. A region pair's share is the sum of its cell pairs'
    (contrastive.pair_contributions), that is the product of the two regions' summed parts."""
    return contrastive.part_products(region_parts(cells_a, grid_a, centre), region_parts(cells_b, grid_b, centre))


def _label(i: int) -> str:
    return "ABCDEFGH"[i]


@dataclass(frozen=True)
class Outlined:
    """What the CNN's spectrogram explanation outlines, and how much of the score that is."""

    regions: list[Region]  # on the recommended track, largest first, each with its partner on the liked track
    indices: list[tuple[int, int]]  # each outline's (region of the liked track, region of the recommended one)
    #: What each region of the recommended track adds to the score (summed over the whole liked track);
    #: they add up to the score exactly.
    by_region: np.ndarray
    #: The outlined regions' contributions over the sum of all positive contributions (0 when none is outlined).
    share: float
    threshold: float


def recommended_regions(pairs: np.ndarray, grid_a: Grid, grid_b: Grid, *, count: int = MAX_PAIRS) -> Outlined:
    """The regions of the recommended track (B) that add most to the score, each with the region of the liked
    track (A) that adds most with it as its partner (a partner used once), largest first.

    A region is outlined only when it adds at least REGION_MIN_TIMES_EVEN_SHARE times its even share of
    the positive contributions; a score with no positive part outlines nothing.
    """
    pairs = np.asarray(pairs, dtype=np.float64)
    by_region = pairs.sum(axis=0)
    positive = float(by_region[by_region > 0].sum())
    threshold = REGION_MIN_TIMES_EVEN_SHARE * positive / len(by_region) if positive > 0 else np.inf
    found, indices, taken = [], [], np.zeros(len(pairs), dtype=bool)
    for j in np.argsort(-by_region, kind="stable")[:count]:
        if by_region[j] < threshold:
            break
        partner = int(np.argmax(np.where(taken, -np.inf, pairs[:, j])))
        taken[partner] = True
        indices.append((partner, int(j)))
        found.append(Region(
            label=_label(len(found)), liked=grid_a.seconds(partner), recommended=grid_b.seconds(int(j)),
            score=round(float(by_region[j]), 4), liked_hz=grid_a.hertz(partner), recommended_hz=grid_b.hertz(int(j)),
        ))
    outlined = sum(r.score for r in found)
    return Outlined(
        regions=found, indices=indices, by_region=by_region, share=round(outlined / positive, 4) if found else 0.0,
        threshold=round(float(threshold), 6) if np.isfinite(threshold) else 0.0,
    )


# Occlusion (the tagger) ---------------------------------------------------------------------------

def _standardised_cosine(a: np.ndarray, b: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    za, zb = (np.atleast_2d(a) - mean) / std, (np.atleast_2d(b) - mean) / std
    norms = np.linalg.norm(za, axis=1) * np.linalg.norm(zb, axis=1)
    return np.where(norms > 0, np.sum(za * zb, axis=1) / np.where(norms > 0, norms, 1), 0.0)


def tagger_patch_embeddings(model, log_mel: np.ndarray) -> np.ndarray:
    """(patches, 200): the tagger's embedding of each 3-s patch; the clip's is their mean."""
    from recommender.cnn import tagger

    return tagger.tag_patches(frontend.patches(log_mel), model=model)[1]


def tagger_grid(log_mel: np.ndarray) -> Grid:
    """The tagger's own 3-s patches as passages, so covering a region changes exactly one patch."""
    n = max(1, len(log_mel) // frontend.PATCH_FRAMES)
    return Grid(n_frames=n * frontend.PATCH_FRAMES, passage_frames=frontend.PATCH_FRAMES)


def tagger_occlusion(model, mel_a: np.ndarray, mel_b: np.ndarray, *, mean, std) -> tuple[float, np.ndarray, np.ndarray]:
    """(similarity, drop of covering each region of A, drop of covering each region of B).

    The similarity is the tagger index's (z-scored with the catalog's mean and std, then cosine).
    Covering a region changes one 3-s patch, so only that patch is run through the network again.
    """
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    patches = [tagger_patch_embeddings(model, m).astype(np.float64) for m in (mel_a, mel_b)]
    clips = [p.mean(axis=0) for p in patches]
    score = float(_standardised_cosine(clips[0], clips[1], mean, std)[0])
    drops = []
    for side, mel in enumerate((mel_a, mel_b)):
        grid = tagger_grid(mel)
        covered = np.stack([
            frontend.patches(grid.covered(mel[: grid.n_frames], [r]))[r // N_BANDS] for r in range(len(grid))
        ])
        from recommender.cnn import tagger

        changed = tagger.tag_patches(covered, model=model)[1].astype(np.float64)
        n = len(patches[side])
        # The clip's embedding with patch k replaced: the mean moves by (new - old) / n.
        moved = clips[side] + (changed - patches[side][[r // N_BANDS for r in range(len(grid))]]) / n
        other = clips[1 - side]
        drops.append(score - _standardised_cosine(moved, np.broadcast_to(other, moved.shape), mean, std))
    return score, drops[0], drops[1]


def top_regions(drops: np.ndarray, grid: Grid, *, threshold: float = OCCLUSION_MIN_DROP, count: int = MAX_PAIRS) -> list[int]:
    """The regions whose covering lowers the similarity most, at least by ``threshold``, largest first."""
    order = np.argsort(-np.asarray(drops), kind="stable")
    return [int(r) for r in order[:count] if drops[r] >= threshold]
