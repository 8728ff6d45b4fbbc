"""Importing a 114,000-row Spotify-format CSV into PostgreSQL with `import_catalog`, end to end.

Uses DATABASE_URL when it points at PostgreSQL, else a scratch database
`resonance_bench` on 127.0.0.1 (created afresh, dropped afterwards). A second
import of the same file is timed too: it must change nothing.
Target: at most 60 s for the first import.
"""
import argparse
import tempfile
import time
from pathlib import Path

from _common import postgres_database, report


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=114_000)
    args = parser.parse_args()

    with postgres_database():
        figures = measure(args.rows)
    report(figures)


def measure(rows: int) -> dict:
    # Imported here: Django is set up only once the database is chosen.
    from django.core.management import call_command

    from recommender import synthetic
    from recommender.models import Track

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spotify_tracks.csv"
        synthetic.write_spotify_csv(synthetic.spotify_tracks(rows, seed=11), path)
        start = time.perf_counter()
        call_command("import_catalog", str(path), "--format", "spotify", "--catalog", "bench", "--no-analysis", verbosity=0)
        first = time.perf_counter() - start
        start = time.perf_counter()
        call_command("import_catalog", str(path), "--format", "spotify", "--catalog", "bench", "--no-analysis", verbosity=0)
        again = time.perf_counter() - start
    return {
        "n_rows": rows,
        "seconds": round(first, 2),
        "tracks": Track.objects.filter(catalog__slug="bench").count(),
        "rows_per_second": round(rows / first),
        "reimport_seconds": round(again, 2),
        "target_seconds": 60,
    }


if __name__ == "__main__":
    main()
