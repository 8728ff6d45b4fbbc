"""Participants' track search over a 114,000-track catalog in PostgreSQL: milliseconds per query.

What a participant types: the first letters of a title or an artist. Baseline: loading the
catalog's titles and artists and filtering them in Python, as a notebook would.
Target: results within 200 ms (p95). Uses DATABASE_URL when it is PostgreSQL, else a
scratch database `resonance_bench` on 127.0.0.1 (created afresh, dropped afterwards).
"""
import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from _common import postgres_database, report


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=114_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    with postgres_database():
        figures = measure(args.rows, args.queries)
    report(figures)


def measure(rows: int, n_queries: int) -> dict:
    # Imported here: Django is set up only once the database is chosen.
    from django.core.management import call_command
    from django.db import connection

    from recommender import synthetic
    from recommender.models import Catalog, Track
    from research.services import study_create
    from study.services import catalog_search

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spotify_tracks.csv"
        frame = synthetic.spotify_tracks(rows, seed=13)
        synthetic.write_spotify_csv(frame, path)
        call_command("import_catalog", str(path), "--format", "spotify", "--catalog", "search", "--no-analysis", verbosity=0)
    catalog = Catalog.objects.get(slug="search")
    catalog.tracks.update(status=Track.Status.ANALYSED)  # as if every clip were fetched and analysed
    with connection.cursor() as cursor:  # what autovacuum does soon after so many rows change
        cursor.execute("ANALYZE recommender_track")
    study = study_create(
        slug="search-bench", title="Search bench", catalog=catalog, consent_text="-",
        conditions=[("features", "Features", "features")],
    )

    rng = random.Random(0)
    words = [w for text in frame["track_name"].tolist() + frame["artists"].tolist() for w in text.replace(";", " ").split()]
    queries = [rng.choice(words)[: rng.randint(3, 6)] for _ in range(n_queries)]
    catalog_search(study=study, query=queries[0])  # warm up
    times = []
    for query in queries:
        start = time.perf_counter()
        catalog_search(study=study, query=query)  # one page and the total count
        times.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    rows = list(Track.objects.filter(catalog=catalog).values_list("pk", "title", "artist"))
    for query in queries[:20]:
        needle = query.casefold()
        sorted((r for r in rows if needle in r[1].casefold() or needle in r[2].casefold()), key=lambda r: r[1])[:30]
    baseline_ms = (time.perf_counter() - start) * 1000 / 20

    times.sort()
    return {
        "n_tracks": catalog.tracks.count(),
        "n_queries": len(times),
        "ms_median": round(statistics.median(times), 2),
        "ms_p95": round(times[int(0.95 * len(times)) - 1], 2),
        "baseline_ms_per_query": round(baseline_ms, 2),
        "target_ms": 200,
    }


if __name__ == "__main__":
    main()
