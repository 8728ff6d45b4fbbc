"""Shared by the benchmarks: run from the project root as `.venv/bin/python bench/NAME.py`."""
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def setup_django():
    import django

    django.setup()


@contextmanager
def stopwatch(into: dict, key: str):
    start = time.perf_counter()
    yield
    into[key] = time.perf_counter() - start


def report(figures: dict) -> None:
    """The last line of every benchmark: one JSON object, figures and baseline side by side."""
    print(json.dumps(figures, sort_keys=False))


def write_synthetic_clips(n: int, clips: Path, sheet: Path, seconds: float = 30.0) -> None:
    """``n`` clips synthesised in the demo's six styles (OGG in ``clips``) and their sheet, with the headers of
    ../shared/realmusic's (track_id, title, artist_or_source, style, license, path)."""
    import csv

    import soundfile
    from tqdm import tqdm

    from recommender import demo

    styles = list(demo.STYLES)
    with sheet.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["track_id", "title", "artist_or_source", "style", "license", "path"])
        for index in tqdm(range(n), desc="synthesising", unit="clip", file=sys.stderr):
            clip = demo.synthesise_clip(index, styles[index % len(styles)], seed=0, seconds=seconds)
            name = f"synth{index:05d}.ogg"
            soundfile.write(clips / name, clip.signal, demo.SR, format="OGG")
            writer.writerow([f"s{index}", clip.title, clip.artist, clip.style, "CC0", name])


SCRATCH_DATABASE = "postgres://postgres@127.0.0.1:5432/resonance_bench"


@contextmanager
def postgres_database():
    """Django set up on PostgreSQL and migrated: DATABASE_URL if it is PostgreSQL, else a scratch
    database created afresh on 127.0.0.1 and dropped afterwards."""
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    scratch = not url.startswith(("postgres://", "postgresql://"))
    server = SCRATCH_DATABASE.rsplit("/", 1)[0] + "/postgres"
    if scratch:
        url = SCRATCH_DATABASE
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS resonance_bench WITH (FORCE)")  # autovacuum may be in it
            admin.execute("CREATE DATABASE resonance_bench")
    os.environ["DATABASE_URL"] = url
    setup_django()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    try:
        yield url
    finally:
        connections.close_all()
        if scratch:
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute("DROP DATABASE IF EXISTS resonance_bench WITH (FORCE)")  # autovacuum may be in it
