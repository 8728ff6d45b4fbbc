"""Importing a 114,000-row Spotify-format CSV into PostgreSQL with `import_catalog`, end to end.

Uses DATABASE_URL when it points at PostgreSQL, else a scratch database
`resonance_bench` on 127.0.0.1 (created afresh, dropped afterwards). A second
import of the same file is timed too: it must change nothing.
Target: at most 60 s for the first import.
"""
import argparse
import os
import tempfile
import time
from pathlib import Path

import psycopg
from _common import report

SCRATCH = "postgres://postgres@127.0.0.1:5432/resonance_bench"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=114_000)
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
    from recommender.models import Track

    call_command("migrate", verbosity=0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spotify_tracks.csv"
        synthetic.write_spotify_csv(synthetic.spotify_tracks(args.rows, seed=11), path)
        start = time.perf_counter()
        call_command("import_catalog", str(path), "--format", "spotify", "--catalog", "bench", "--no-analysis", verbosity=0)
        first = time.perf_counter() - start
        start = time.perf_counter()
        call_command("import_catalog", str(path), "--format", "spotify", "--catalog", "bench", "--no-analysis", verbosity=0)
        again = time.perf_counter() - start
    tracks = Track.objects.filter(catalog__slug="bench").count()

    if scratch:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(SCRATCH.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS resonance_bench")
    report({
        "n_rows": args.rows,
        "seconds": round(first, 2),
        "tracks": tracks,
        "rows_per_second": round(args.rows / first),
        "reimport_seconds": round(again, 2),
        "target_seconds": 60,
    })


if __name__ == "__main__":
    main()
