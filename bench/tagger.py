"""The musicnn tagger (recommender/cnn) on the CPU: clips per second, and how well its embedding
finds clips of the same style, against mean MFCCs and chance, in one run.

Clips: ../shared/realmusic, or --data DIR holding a catalog.csv with path and style columns.
Throughput: decoding at 16 kHz plus tagging a clip (50 tags and the 200-d embedding, its 3-s
patches in one batch), the first clip left out as warm-up. Target: at least 1 clip/s.
Quality: style precision@5 with every clip a query against all the others (leave-one-out),
cosine over z-scored vectors: the tagger's mean embedding, and the baseline a notebook would
take, 20 MFCCs averaged over the clip (librosa at its default 22.05 kHz). Chance: the share of
other clips in a query's style.
"""
import argparse
import csv
import os
import time
from pathlib import Path

from _common import ROOT, report

REALMUSIC = ROOT.parent / "shared" / "realmusic"
K = 5


def catalog(folder: Path, limit: int | None) -> tuple[list[Path], list[str]]:
    rows = list(csv.DictReader((folder / "catalog.csv").open()))
    if limit and limit < len(rows):  # spread over the catalog, so every style keeps some clips
        rows = [rows[i * len(rows) // limit] for i in range(limit)]
    return [folder / row["path"] for row in rows], [row["style"] for row in rows]


def mean_mfcc(path: Path):
    import librosa

    y, sr = librosa.load(path, duration=30)
    return librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20).mean(axis=1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=REALMUSIC, help="a folder with catalog.csv (path, style)")
    parser.add_argument("--clips", type=int, default=None, help="only N clips, spread over the catalog")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, one per core)")
    args = parser.parse_args()
    if not (args.data / "catalog.csv").is_file():
        raise SystemExit(f"no catalog.csv in {args.data}: pass --data DIR")

    import numpy as np
    import torch

    from recommender import evaluation
    from recommender.cnn import frontend, tagger

    if args.threads:
        torch.set_num_threads(args.threads)
    paths, styles = catalog(args.data, args.clips)
    model = tagger.load_tagger("cpu")
    tagger.tag_clip(frontend.load_signal(paths[0], max_seconds=30), model=model)  # warm-up

    embeddings, decode_s = [], 0.0
    start = time.perf_counter()
    for path in paths:
        decode_start = time.perf_counter()
        signal = frontend.load_signal(path, max_seconds=30)
        decode_s += time.perf_counter() - decode_start
        embeddings.append(tagger.tag_clip(signal, model=model).embedding)
    tagger_s = time.perf_counter() - start
    mfccs = np.array([mean_mfcc(path) for path in paths])

    labels = [frozenset([style]) for style in styles]
    n = len(paths)

    def precision(vectors) -> float:
        return evaluation.evaluate("", evaluation.standardised_vectors(vectors), labels, k=K, n_queries=n).precision_at_k

    ours = precision(np.array(embeddings))
    baseline = precision(mfccs)
    raw_cosine = evaluation.evaluate("", evaluation.unit_rows(np.array(embeddings)), labels, k=K, n_queries=n).precision_at_k
    counts = {style: styles.count(style) for style in set(styles)}
    chance = float(np.mean([(counts[style] - 1) / (n - 1) for style in styles]))
    clips_per_second = n / tagger_s

    print(f"{n} clips, {len(counts)} styles, torch {torch.__version__} on {torch.get_num_threads()} CPU thread(s)")
    print(f"tagger: {clips_per_second:.2f} clips/s ({tagger_s / n:.3f} s a clip, {decode_s / tagger_s:.0%} of it decoding)")
    print(f"style precision@{K}: tagger {ours:.3f}, mean MFCCs {baseline:.3f} ({ours / baseline:.2f}x), chance {chance:.3f}")
    report({
        "n_clips": n,
        "clips": str(args.data.name),
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "tagger_clips_per_second": round(clips_per_second, 3),
        "tagger_seconds_per_clip": round(tagger_s / n, 4),
        "decode_seconds_per_clip": round(decode_s / n, 4),
        "target_clips_per_second": 1.0,
        "tagger_precision_at_5": round(ours, 4),
        "tagger_raw_cosine_precision_at_5": round(raw_cosine, 4),
        "mfcc_precision_at_5": round(baseline, 4),
        "chance": round(chance, 4),
        "precision_ratio_to_mfcc": round(ours / baseline, 2),
    })


if __name__ == "__main__":
    main()
