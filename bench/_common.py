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
