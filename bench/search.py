"""Participants' track search over a 114,000-track catalog in PostgreSQL: milliseconds per query.

What a participant types: the first letters of a title or an artist. Baseline: loading the
catalog's titles and artists and filtering them in Python, as a notebook would.
Target: results within 200 ms (p95). Uses DATABASE_URL when it is PostgreSQL, else a
scratch database `resonance_bench` on 127.0.0.1 (created afresh, dropped afterwards).
"""
import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
from _common import report

SCRATCH = "postgres://postgres@127.0.0.1:5432/resonance_bench"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=114_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    scratch = not url.startswith(("postgres://", "postgresql://"))
    if scratch:
        url = SCRATCH
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS resonance_bench")
            admin.execute("CREATE DATABASE resonance_bench")
    os.environ["DATABASE_URL"] = url

    from _common import setup_django

    setup_django()
    from django.core.management import call_command

    from recommender import synthetic
    from recommender.models import Catalog, Track
    from study.services import catalog_search, study_create

    call_command("migrate", verbosity=0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spotify_tracks.csv"
        frame = synthetic.spotify_tracks(args.rows, seed=13)
        synthetic.write_spotify_csv(frame, path)
        call_command("import_catalog", str(path), "--format", "spotify", "--catalog", "search", "--no-analysis", verbosity=0)
    catalog = Catalog.objects.get(slug="search")
    catalog.tracks.update(status=Track.Status.ANALYSED)  # as if every clip were fetched and analysed
    from django.db import connection

    with connection.cursor() as cursor:  # what autovacuum does soon after so many rows change
        cursor.execute("ANALYZE recommender_track")
    study = study_create(
        slug="search-bench", title="Search bench", catalog=catalog, consent_text="-",
        conditions=[("features", "Features", "features")],
    )

    rng = random.Random(0)
    words = [w for text in frame["track_name"].tolist() + frame["artists"].tolist() for w in text.replace(";", " ").split()]
    queries = [rng.choice(words)[: rng.randint(3, 6)] for _ in range(args.queries)]
    list(catalog_search(study=study, query=queries[0]))  # warm up
    times = []
    for query in queries:
        start = time.perf_counter()
        list(catalog_search(study=study, query=query))
        times.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    rows = list(Track.objects.filter(catalog=catalog).values_list("pk", "title", "artist"))
    for query in queries[:20]:
        needle = query.casefold()
        sorted((r for r in rows if needle in r[1].casefold() or needle in r[2].casefold()), key=lambda r: r[1])[:30]
    baseline_ms = (time.perf_counter() - start) * 1000 / 20

    n_tracks = catalog.tracks.count()
    if scratch:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(SCRATCH.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS resonance_bench")
    times.sort()
    report({
        "n_tracks": n_tracks,
        "n_queries": len(times),
        "ms_median": round(statistics.median(times), 2),
        "ms_p95": round(times[int(0.95 * len(times)) - 1], 2),
        "baseline_ms_per_query": round(baseline_ms, 2),
        "target_ms": 200,
    })


if __name__ == "__main__":
    main()
