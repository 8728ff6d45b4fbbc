"""Is an explanation true of the model? Deletion and insertion curves, and a planted-segment pointing game.

Pure numpy and torch, no Django. The regions are those the spectrogram explanation outlines
(network_regions: 6-second passages x three pitch bands of the networks' log-mel), and the similarity
is the one it explains: the CNN's cosine centred on the catalog's mean (``centre``; None: uncentred).
Deleting a region sets its cells to network_regions.FILL (0.0, the log-mel of silence).

- Deletion: the first track's regions are deleted one after another, in the explanation's order
  (what each region adds to the score, largest first), and the similarity recomputed after each;
  the explanation participants see outlines the recommended track's regions, so pass it first;
  the area under that curve (the mean of the curve over the fraction deleted, 0..1) is low when
  the explanation names first what the similarity really rests on. Compared with a random
  order (the mean of several) and with occlusion (each region's own drop when deleted alone).
- Insertion: the reverse, from a fully deleted liked track; high is faithful.
- Pointing game: the explanation's first outline (the recommended track's top region and its
  partner on the liked track) hits when both passages overlap a planted passage. Two plantings
  (planted_trials): a 3-second excerpt of a third clip spliced into two unrelated clips at known
  times (``third``), or a 3-second passage of the liked clip spliced into an unrelated recommended
  clip (``liked``) - what the explanation claims to find: the passages of the recommended track
  most like the liked one.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from explanations import network_regions
from recommender.cnn import contrastive

#: Random deletion orders averaged per pair, for the random baseline.
RANDOM_ORDERS = 3
#: Clips per forward pass: a whole curve of 30-s clips at once allocates hundreds of MB of activations.
CHUNK = 8
#: Points on each curve: 0 %, 10 %, ... 100 % of the regions changed (a 30-s clip has 30 regions; every
#: point costs one pass of the network).
CURVE_POINTS = 11


@dataclass(frozen=True)
class Curves:
    """One pair's curves: similarity after deleting (or inserting) a growing share of the regions."""

    fractions: np.ndarray  # (points,) share of the regions changed at each point, 0 to 1
    deletion: dict[str, np.ndarray]  # order name -> (points,) similarities
    insertion: dict[str, np.ndarray]

    @staticmethod
    def area(curve: np.ndarray, fractions: np.ndarray | None = None) -> float:
        """Area under a curve over the fraction of regions changed, 0..1 (trapezoids)."""
        x = np.linspace(0.0, 1.0, len(curve)) if fractions is None else np.asarray(fractions, dtype=np.float64)
        return float(np.sum((curve[1:] + curve[:-1]) * np.diff(x) / 2))


def cnn_similarity(
    model: contrastive.SimilarityCNN, centre: np.ndarray | None = None
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """similarity(mels (k, frames, 96), other (frames, 96)) -> (k,) the CNN's cosines (centred on ``centre``),
    in one batch."""
    import torch

    def embed(mels: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch.cat([model(torch.from_numpy(mels[i : i + CHUNK])) for i in range(0, len(mels), CHUNK)]).numpy()

    def similarity(mels: np.ndarray, other: np.ndarray) -> np.ndarray:
        b = embed(np.asarray(other, dtype=np.float32)[None])[0].astype(np.float64)
        if centre is not None:
            b = b - centre
        b = b / (np.linalg.norm(b) or 1.0)
        return contrastive.centred_cosine(embed(np.asarray(mels, dtype=np.float32)), b, centre)

    return similarity


def cnn_attribution(
    model: contrastive.SimilarityCNN, mel_a: np.ndarray, mel_b: np.ndarray, centre: np.ndarray | None = None
) -> np.ndarray:
    """What each region of A adds to the (centred) cos(A, B), exactly (the rows of the region-pair matrix)."""
    grid_a, grid_b = network_regions.grid_of(mel_a), network_regions.grid_of(mel_b)
    pairs = network_regions.cnn_region_pairs(
        contrastive.cells(model, mel_a), contrastive.cells(model, mel_b), grid_a, grid_b, centre=centre
    )
    return pairs.sum(axis=1)


def occlusion_attribution(similarity, mel_a: np.ndarray, mel_b: np.ndarray) -> np.ndarray:
    """How much deleting each region of A on its own lowers the similarity (the model asked region by region)."""
    grid = network_regions.grid_of(mel_a)
    base = similarity(mel_a[None], mel_b)[0]
    covered = np.stack([grid.covered(mel_a, [r]) for r in range(len(grid))])
    return base - similarity(covered, mel_b)


def _counts(n: int, points: int) -> np.ndarray:
    """How many regions are changed at each point of a curve: 0 to n, about evenly spaced."""
    return np.unique(np.round(np.linspace(0, n, min(points, n + 1))).astype(int))


def _curve(similarity, mel_a: np.ndarray, mel_b: np.ndarray, order: np.ndarray, counts, *, insert: bool) -> np.ndarray:
    grid = network_regions.grid_of(mel_a)
    # Insertion starts from a clip with every region deleted and puts back the first k in order.
    versions = [grid.covered(mel_a, order[:k] if not insert else order[k:]) for k in counts]
    return similarity(np.stack(versions), mel_b)


def pair_curves(
    similarity, mel_a: np.ndarray, mel_b: np.ndarray, orders: dict[str, np.ndarray], *, points: int | None = None
) -> Curves:
    """Deletion and insertion curves of one pair for each named order of A's regions (largest first).

    ``points``: how many points each curve has (default: every number of regions, 0 to n).
    """
    n = len(network_regions.grid_of(mel_a))
    counts = _counts(n, points or n + 1)
    return Curves(
        fractions=counts / n,
        deletion={name: _curve(similarity, mel_a, mel_b, order, counts, insert=False) for name, order in orders.items()},
        insertion={name: _curve(similarity, mel_a, mel_b, order, counts, insert=True) for name, order in orders.items()},
    )


@dataclass(frozen=True)
class FidelityReport:
    pairs: int
    deletion_auc: dict[str, float]  # order -> mean area (low is faithful)
    insertion_auc: dict[str, float]  # order -> mean area (high is faithful)
    mean_deletion: dict[str, list[float]]  # order -> the mean curve, for the plot
    mean_insertion: dict[str, list[float]]


def evaluate_pairs(
    model: contrastive.SimilarityCNN, pairs: list[tuple[np.ndarray, np.ndarray]], *, seed: int = 0,
    random_orders: int = RANDOM_ORDERS, centre: np.ndarray | None = None,
) -> FidelityReport:
    """Deletion and insertion AUC of the CNN's explanation, occlusion and random orders over ``pairs`` of log-mels.

    Each curve has CURVE_POINTS points (0 %, 10 %, ... 100 % of the regions), so clips of different
    lengths weigh the same.
    """
    rng = np.random.default_rng(seed)
    similarity = cnn_similarity(model, centre)
    deletion: dict[str, list] = {"explanation": [], "occlusion": [], "random": []}
    insertion: dict[str, list] = {"explanation": [], "occlusion": [], "random": []}
    grid_x = np.linspace(0, 1, CURVE_POINTS)

    def resampled(curve, fractions):
        return np.interp(grid_x, fractions, curve)

    for mel_a, mel_b in pairs:
        n = len(network_regions.grid_of(mel_a))
        orders = {
            "explanation": np.argsort(-cnn_attribution(model, mel_a, mel_b, centre), kind="stable"),
            "occlusion": np.argsort(-occlusion_attribution(similarity, mel_a, mel_b), kind="stable"),
        }
        curves = pair_curves(similarity, mel_a, mel_b, orders, points=CURVE_POINTS)
        randoms = pair_curves(
            similarity, mel_a, mel_b, {f"r{i}": rng.permutation(n) for i in range(random_orders)}, points=CURVE_POINTS
        )
        x = curves.fractions
        for name in ("explanation", "occlusion"):
            deletion[name].append(resampled(curves.deletion[name], x))
            insertion[name].append(resampled(curves.insertion[name], x))
        deletion["random"].append(np.mean([resampled(c, x) for c in randoms.deletion.values()], axis=0))
        insertion["random"].append(np.mean([resampled(c, x) for c in randoms.insertion.values()], axis=0))
    mean_deletion = {k: np.mean(v, axis=0) for k, v in deletion.items()}
    mean_insertion = {k: np.mean(v, axis=0) for k, v in insertion.items()}
    return FidelityReport(
        pairs=len(pairs),
        deletion_auc={k: round(Curves.area(v), 4) for k, v in mean_deletion.items()},
        insertion_auc={k: round(Curves.area(v), 4) for k, v in mean_insertion.items()},
        mean_deletion={k: [round(float(x), 4) for x in v] for k, v in mean_deletion.items()},
        mean_insertion={k: [round(float(x), 4) for x in v] for k, v in mean_insertion.items()},
    )


# Pointing game -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PointingResult:
    trials: int
    hits: int
    #: The chance of a hit for a top pair drawn at random: the share of A's regions that overlap the
    #: splice times the share of B's, averaged over the trials.
    chance: float
    #: The splice's share of each clip's time (its share of the spectrogram's area).
    splice_share: float
    #: How much planting the passage raised the network's score, the median over the trials: a network that
    #: barely uses the planted evidence (a gain near 0) cannot be pointed at it by any exact explanation.
    score_gain: float = 0.0

    @property
    def hit_rate(self) -> float:
        return self.hits / self.trials if self.trials else 0.0


def planted_trials(
    mels: list[np.ndarray], styles: list[str], count: int, rng: np.random.Generator, *, source: str = "third",
    length: int = 187,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, int, int]]:
    """``count`` pointing-game trials (liked clip, recommended clip, excerpt, frame in liked, frame in recommended)
    over clips of different styles where styles are known. ``source="third"``: the excerpt is a third clip's,
    spliced into both; ``"liked"``: it is the liked clip's own passage at its frame, spliced into the other."""
    n, trials = len(mels), []
    for _ in range(count):
        a = int(rng.integers(n))
        others = [j for j in range(n) if j != a and (not styles[a] or styles[j] != styles[a])] or [j for j in range(n) if j != a]
        b = int(rng.choice(others))
        c = int(rng.choice([j for j in range(n) if j not in (a, b)])) if source == "third" else a
        size = min(length, len(mels[c]), len(mels[a]) // 2, len(mels[b]) // 2)
        at_a = int(rng.integers(0, len(mels[a]) - size + 1))
        start = int(rng.integers(0, len(mels[c]) - size + 1)) if source == "third" else at_a
        trials.append((mels[a], mels[b], mels[c][start : start + size], at_a, int(rng.integers(0, len(mels[b]) - size + 1))))
    return trials


def splice(mel: np.ndarray, excerpt: np.ndarray, at: int) -> np.ndarray:
    """``mel`` with ``excerpt``'s frames written over it from frame ``at``."""
    out = np.array(mel, dtype=np.float32, copy=True)
    out[at : at + len(excerpt)] = excerpt[: len(out) - at]
    return out


def _overlaps(grid: network_regions.Grid, region: int, start: int, end: int) -> bool:
    """The region's passage shares at least half a second with frames [start, end)."""
    f0, f1 = grid.frames(region)
    frames_per_half_second = 0.5 * 16000 / 256
    return min(f1, end) - max(f0, start) >= frames_per_half_second


def pointing_game(
    model: contrastive.SimilarityCNN, trials: list[tuple[np.ndarray, np.ndarray, np.ndarray, int, int]],
    centre: np.ndarray | None = None,
) -> PointingResult:
    """``trials``: (liked clip A, recommended clip B, excerpt, frame in A, frame in B) log-mels, the excerpt
    spliced into both.

    A hit: the explanation's first outline (B's region that adds most, and its partner on A) overlaps the
    splice in A and in B. A trial where nothing stands out to be outlined is a miss.
    """
    hits, chances, shares, gains = 0, [], [], []
    for mel_a, mel_b, excerpt, at_a, at_b in trials:
        a, b = splice(mel_a, excerpt, at_a), splice(mel_b, excerpt, at_b)
        grid_a, grid_b = network_regions.grid_of(a), network_regions.grid_of(b)
        pairs = network_regions.cnn_region_pairs(
            contrastive.cells(model, a), contrastive.cells(model, b), grid_a, grid_b, centre=centre
        )
        before = contrastive.pair_contributions(contrastive.cells(model, mel_a), contrastive.cells(model, mel_b), centre)
        gains.append(float(pairs.sum() - before.sum()))
        outlined = network_regions.recommended_regions(pairs, grid_a, grid_b, count=1).indices
        span_a, span_b = (at_a, at_a + len(excerpt)), (at_b, at_b + len(excerpt))
        if outlined:
            i, j = outlined[0]
            hits += bool(_overlaps(grid_a, i, *span_a) and _overlaps(grid_b, j, *span_b))
        share_a = np.mean([_overlaps(grid_a, r, *span_a) for r in range(len(grid_a))])
        share_b = np.mean([_overlaps(grid_b, r, *span_b) for r in range(len(grid_b))])
        chances.append(share_a * share_b)
        shares.append(len(excerpt) / len(a))
    return PointingResult(
        trials=len(trials), hits=hits, chance=float(np.mean(chances)) if chances else 0.0,
        splice_share=float(np.mean(shares)) if shares else 0.0, score_gain=float(np.median(gains)) if gains else 0.0,
    )


def curves_plot(report: FidelityReport, pointing: PointingResult | None = None, *, title: str) -> bytes:
    """The mean deletion and insertion curves of each order, their areas in the legend, as a PNG."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2, sharey=True)
    colours = {"explanation": "#0072B2", "occlusion": "#E69F00", "random": "#999999"}
    for ax, curves, areas, name in (
        (axes[0], report.mean_deletion, report.deletion_auc, "Deletion (lower area = more faithful)"),
        (axes[1], report.mean_insertion, report.insertion_auc, "Insertion (higher area = more faithful)"),
    ):
        for order, curve in curves.items():
            x = np.linspace(0, 100, len(curve))
            ax.plot(x, curve, color=colours.get(order, "#333333"), linewidth=2, label=f"{order} (area {areas[order]:.3f})")
        ax.set_title(name, fontsize=10, loc="left")
        ax.set_xlabel("Regions of the recommended track changed (%)")
        ax.grid(color="#dddddd", linewidth=0.6)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("Similarity the CNN computes")
    subtitle = f"{report.pairs} pairs"
    if pointing is not None:
        subtitle += (f"; pointing game: top pair hits the planted excerpt in both clips {pointing.hits}/{pointing.trials} "
                     f"({pointing.hit_rate:.2f}; chance {pointing.chance:.3f}; excerpt = {pointing.splice_share:.0%} of a clip)")
    fig.suptitle(f"{title}\n{subtitle}", fontsize=10)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    return buffer.getvalue()
