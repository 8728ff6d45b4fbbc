"""Matching 10,000 Deezer-style rows against a 114,000-row Spotify-format catalog.

Baseline: rapidfuzz process.extractOne of each row ("artist title") over every
catalog key, timed on a sample of rows. Ours: normalised titles and artists,
candidates blocked by artist, rapidfuzz within the block.
Targets: at most 30 s for all 10,000 rows (index build included), at least 50x faster per row.
"""
import argparse
import time

import numpy as np
from _common import report, setup_django

setup_django()
from rapidfuzz import fuzz, process  # noqa: E402

from recommender import synthetic  # noqa: E402
from recommender.matching import MATCH, Candidate, TrackMatcher  # noqa: E402

THRESHOLD = 90.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracks", type=int, default=114_000)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--baseline-rows", type=int, default=60)
    args = parser.parse_args()

    catalog = synthetic.spotify_tracks(args.tracks, seed=2).drop_duplicates("track_id")
    rows, truth = synthetic.deezer_metadata(catalog, args.rows, seed=3)

    start = time.perf_counter()
    matcher = TrackMatcher(Candidate(t.track_id, t.track_name, t.artists) for t in catalog.itertuples())
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    results = [matcher.match(r.track_name, r.artists, min_score=THRESHOLD) for r in rows.itertuples()]
    match_s = time.perf_counter() - start

    keys = [f"{t.artists.replace(';', ' ')} {t.track_name}" for t in catalog.itertuples()]
    ids = catalog["track_id"].tolist()
    sample = rows.sample(n=min(args.baseline_rows, len(rows)), random_state=0)
    start = time.perf_counter()
    baseline = [process.extractOne(f"{r.artists} {r.track_name}", keys, scorer=fuzz.WRatio) for r in sample.itertuples()]
    baseline_per_row = (time.perf_counter() - start) / len(sample)

    def correct(item_id, track_id):
        return truth.get(item_id) == track_id

    ours_matched = [(r.item_id, res.candidate.key) for r, res in zip(rows.itertuples(), results) if res.status == MATCH]
    base_matched = [(r.item_id, ids[found[2]]) for r, found in zip(sample.itertuples(), baseline) if found[1] >= THRESHOLD]
    ours_per_row = match_s / len(rows)
    report({
        "n_rows": len(rows),
        "n_candidates": len(catalog),
        "seconds": round(build_s + match_s, 2),
        "build_seconds": round(build_s, 2),
        "ms_per_row": round(ours_per_row * 1000, 4),
        "baseline_ms_per_row": round(baseline_per_row * 1000, 2),
        "baseline_rows_timed": len(sample),
        "speedup_per_row": round(baseline_per_row / ours_per_row, 1),
        "match_rate": round(len(ours_matched) / len(rows), 4),
        "baseline_match_rate": round(len(base_matched) / len(sample), 4),
        "rows_with_a_true_match": round(len([r for r in rows.item_id if r in truth]) / len(rows), 4),
        "precision": round(float(np.mean([correct(*m) for m in ours_matched])) if ours_matched else 0.0, 4),
        "baseline_precision": round(float(np.mean([correct(*m) for m in base_matched])) if base_matched else 0.0, 4),
    })


if __name__ == "__main__":
    main()
