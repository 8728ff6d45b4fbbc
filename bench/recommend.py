"""Top-10 recommendations over a 114,000-track catalog: the index against the pandas/sklearn way.

Baseline (today's research code): df.drop(query), sklearn cosine_similarity, sort_values.
Both run on the same standardised features and must return the same tracks.
Targets: at most 1 ms per query, at least 20x faster, index memory at most 2x the raw float32 matrix.
"""
import argparse
import time

import numpy as np
import pandas as pd
from _common import report, setup_django

setup_django()
from sklearn.metrics.pairwise import cosine_similarity  # noqa: E402

from recommender import similarity, synthetic  # noqa: E402
from recommender.csv_formats import SPOTIFY_SIMILARITY_FEATURES  # noqa: E402
from recommender.services import LoadedIndex  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracks", type=int, default=114_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--baseline-queries", type=int, default=40)
    args = parser.parse_args()

    frame = synthetic.spotify_tracks(args.tracks, extra_genre_share=0.0, seed=5)
    raw = frame[SPOTIFY_SIMILARITY_FEATURES].to_numpy(np.float64)
    track_ids = np.arange(1, len(frame) + 1, dtype=np.int64)
    built = similarity.build_index(raw)
    index = LoadedIndex(index_id=1, vectors=built.vectors, track_ids=track_ids)
    rng = np.random.default_rng(0)
    queries = rng.integers(0, len(frame), args.queries)

    similarity.recommend(index.vectors, [int(queries[0])], 10)  # warm up
    start = time.perf_counter()
    ours = [similarity.recommend(index.vectors, [int(q)], 10) for q in queries]
    ms_per_query = (time.perf_counter() - start) * 1000 / len(queries)

    standardised = pd.DataFrame((raw - built.mean) / built.std, index=track_ids)
    baseline_queries = queries[: args.baseline_queries]
    start = time.perf_counter()
    theirs = []
    for q in baseline_queries:
        query_id = track_ids[q]
        others = standardised.drop(query_id)
        scores = cosine_similarity(standardised.loc[[query_id]], others)[0]
        theirs.append(pd.Series(scores, index=others.index).sort_values(ascending=False).head(10))
    baseline_ms = (time.perf_counter() - start) * 1000 / len(baseline_queries)

    agreement = np.mean([
        len({int(track_ids[m.row]) for m in mine} & set(base.index)) / 10 for mine, base in zip(ours, theirs)
    ])
    raw_bytes = raw.shape[0] * raw.shape[1] * 4
    index_bytes = index.vectors.nbytes + index.track_ids.nbytes
    report({
        "n_tracks": len(frame),
        "n_queries": len(queries),
        "ms_per_query": round(ms_per_query, 4),
        "baseline_ms_per_query": round(baseline_ms, 3),
        "speedup": round(baseline_ms / ms_per_query, 1),
        "index_bytes": index_bytes,
        "raw_bytes": raw_bytes,
        "index_to_raw": round(index_bytes / raw_bytes, 3),
        "top10_agreement_with_baseline": round(float(agreement), 4),
    })


if __name__ == "__main__":
    main()
