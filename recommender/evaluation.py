"""Offline quality of recommenders: matrices and labels in, figures and a plot out.

Each track in a sample is used as a query; its top-k neighbours (itself left
out) are relevant when they share a genre (or style) with it. Reports genre
precision@k, catalog coverage (the share of tracks that appear in anyone's
top-k) and the mean and spread of the top-k similarity scores: an unscaled
cosine on raw features gives every pair nearly 1.0, which is what makes it
useless, and shows as a tiny spread. No Django here.
"""
from __future__ import annotations

import io
from dataclasses import asdict, dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from recommender.similarity import build_index, unit_rows


@dataclass(frozen=True)
class Quality:
    name: str
    precision_at_k: float
    coverage: float
    score_mean: float
    score_std: float
    scores: tuple[float, ...]  # a sample of top-k scores, for the plot

    def row(self) -> dict:
        values = asdict(self)
        values.pop("scores")
        return values


def standardised_vectors(raw: np.ndarray) -> np.ndarray:
    return build_index(raw).vectors


def unscaled_vectors(raw: np.ndarray) -> np.ndarray:
    """The baseline in today's research code: cosine on raw features, whatever their scales."""
    return unit_rows(np.asarray(raw, dtype=np.float64))


def evaluate(
    name: str, vectors: np.ndarray, labels: list[frozenset[str]], *, k: int = 10, n_queries: int = 2000, seed: int = 0
) -> Quality:
    n = len(vectors)
    rng = np.random.default_rng(seed)
    queries = rng.choice(n, size=min(n_queries, n), replace=False)
    k = min(k, n - 1)
    hits, scores, recommended = [], [], np.zeros(n, dtype=bool)
    for start in range(0, len(queries), 256):
        batch = queries[start : start + 256]
        similarity = vectors[batch] @ vectors.T  # (batch, n)
        similarity[np.arange(len(batch)), batch] = -np.inf  # never recommend the query itself
        top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        for query, row, sims in zip(batch, top, np.take_along_axis(similarity, top, axis=1)):
            hits.append(np.mean([bool(labels[query] & labels[j]) for j in row]))
            scores.extend(sims.tolist())
            recommended[row] = True
    scores = np.array(scores)
    return Quality(
        name=name,
        precision_at_k=float(np.mean(hits)),
        coverage=float(recommended.mean()),
        score_mean=float(scores.mean()),
        score_std=float(scores.std()),
        scores=tuple(rng.choice(scores, size=min(5000, scores.size), replace=False).tolist()),
    )


def per_query_precision(vectors: np.ndarray, labels: list[frozenset[str]], *, k: int) -> np.ndarray:
    """(n,) precision@k of every track as a query against all the others (leave-one-out, cosine of unit rows)."""
    similarity = np.asarray(vectors, dtype=np.float64) @ np.asarray(vectors, dtype=np.float64).T
    np.fill_diagonal(similarity, -np.inf)
    k = min(k, len(vectors) - 1)
    top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    return np.array([np.mean([bool(labels[q] & labels[j]) for j in row]) for q, row in enumerate(top)])


def paired_bootstrap_interval(
    a: np.ndarray, b: np.ndarray, *, resamples: int = 10000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(a - b) over paired observations (the same queries), resampling
    the queries: whether one recommender beats another on these tracks beyond the luck of the draw."""
    differences = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = differences[rng.integers(0, len(differences), (resamples, len(differences)))].mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def chance_precision(labels: list[frozenset[str]], n_pairs: int = 20000, seed: int = 0) -> float:
    """Precision@k of picking neighbours at random: how often two random tracks share a genre."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(labels), (2, n_pairs))
    keep = a != b
    return float(np.mean([bool(labels[i] & labels[j]) for i, j in zip(a[keep], b[keep])]))


def quality_plot(results: list[Quality], *, k: int, chance: float, title: str) -> bytes:
    """Precision@k per recommender beside the distribution of their top-k similarity scores."""
    fig = Figure(figsize=(10, 2.2 + 0.4 * len(results)), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.4])
    names = [r.name for r in results]
    palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]
    colours = [palette[i % len(palette)] for i in range(len(results))]
    bars = left.barh(names[::-1], [r.precision_at_k for r in results][::-1], color=colours[::-1])
    left.bar_label(bars, fmt="%.3f", padding=3)
    left.axvline(chance, color="#555555", linestyle="--", linewidth=1, label=f"random neighbours ({chance:.3f})")
    left.set_xlim(0, 1.1)
    left.set_xlabel(f"Genre precision@{k} (higher is better)")
    left.legend(fontsize=8, loc="lower right")
    # Box plots on the data's own range: an unscaled cosine shows as a flat line at 1.0.
    boxes = right.boxplot(
        [r.scores for r in results][::-1], orientation="horizontal", tick_labels=[""] * len(results),
        patch_artist=True, showfliers=False, widths=0.6,
    )
    for patch, colour in zip(boxes["boxes"], colours[::-1]):
        patch.set_facecolor(colour)
        patch.set_alpha(0.7)
    for y, result in enumerate(results[::-1], start=1):
        right.text(
            0.01, y + 0.36, f"mean {result.score_mean:.4f}, sd {result.score_std:.4f}",
            transform=right.get_yaxis_transform(), fontsize=8, color="#333333",
        )
    right.set_xlabel(f"Cosine similarity of each top-{k} recommendation")
    fig.suptitle(title, fontsize=11)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150)
    return buffer.getvalue()


def format_table(results: list[Quality], *, k: int, chance: float) -> str:
    header = f"{'recommender':<34} {'precision@' + str(k):>13} {'coverage':>9} {'score mean':>11} {'score sd':>9}"
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r.name:<34} {r.precision_at_k:>13.3f} {r.coverage:>9.3f} {r.score_mean:>11.4f} {r.score_std:>9.4f}"
        )
    lines.append(f"{'(random neighbours)':<34} {chance:>13.3f}")
    return "\n".join(lines)


def loss_curve_plot(losses: list[float], *, title: str) -> bytes:
    """A training run's mean loss per epoch, as a PNG (the contrastive CNN's training record)."""
    fig = Figure(figsize=(6, 3.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    epochs = np.arange(1, len(losses) + 1)
    ax.plot(epochs, losses, marker="o" if len(losses) <= 40 else None, color="#0072B2", linewidth=1.6)
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Contrastive loss (NT-Xent)")
    ax.grid(color="#dddddd", linewidth=0.6)
    if losses:
        ax.annotate(f"{losses[-1]:.3f}", (epochs[-1], losses[-1]), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_title(title, fontsize=10, loc="left")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    return buffer.getvalue()
