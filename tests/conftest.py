import functools
import hashlib
import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from config.celery import app as celery_app
from recommender import audio, demo
from recommender import services as recommender_services
from tests.factories import make_study
from tests.participants import ParticipantBrowser


@pytest.fixture(autouse=True)
def isolated_media(request, settings, tmp_path):
    """Every test writes media to its own folder, never to the project's.

    Tests with a real worker share the MEDIA_ROOT the worker was started with instead.
    """
    if not request.node.get_closest_marker("worker"):
        settings.MEDIA_ROOT = tmp_path / "media"
    recommender_services.load_index.cache_clear()
    yield
    recommender_services.load_index.cache_clear()


@pytest.fixture(autouse=True)
def eager_celery(request, settings):
    """Tasks run in-process except in tests that exercise the real worker.

    Jobs a participant waits for run inside the request here, so a test client sees their
    result at once; browser tests keep the embedded default's background thread.
    """
    settings.EAGER_JOBS_IN_BACKGROUND = bool(request.node.get_closest_marker("browser"))
    if request.node.get_closest_marker("worker"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def _require_integration(reason: str):
    if os.environ.get("REQUIRE_INTEGRATION") == "1":
        pytest.fail(f"integration test cannot run: {reason}")
    pytest.skip(reason)


def pytest_runtest_setup(item):
    postgres = django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    if item.get_closest_marker("postgres") and not postgres:
        _require_integration("DATABASE_URL does not point at PostgreSQL")
    if item.get_closest_marker("worker") and not django_settings.CELERY_BROKER_URL:
        _require_integration("CELERY_BROKER_URL is not set")


@pytest.fixture(scope="session")
def memoised_audio_work():
    """Synthesise and analyse each distinct clip once per test run, not once per test.

    Every test still writes, reads and hashes real files; only the pure, deterministic
    number crunching is shared.
    """
    analyse_file = audio.analyse_file

    @functools.cache
    def analyse_bytes(digest: str, path: str):
        return analyse_file(path)

    def analyse_file_once(path):
        return analyse_bytes(hashlib.sha256(Path(path).read_bytes()).hexdigest(), str(path))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo, "synthesise_clip", functools.cache(demo.synthesise_clip))
        patch.setattr(audio, "analyse_file", analyse_file_once)
        yield


def _drawing_key(*parts) -> str:
    """A stable digest of a drawing's inputs: arrays by their bytes, everything else by its repr."""
    import numpy as np
    from django.utils import translation

    digest = hashlib.sha256(str(translation.get_language()).encode())
    for part in parts:
        if isinstance(part, dict):
            for name in sorted(part):
                digest.update(name.encode())
                digest.update(_drawing_key(part[name]).encode())
        elif isinstance(part, np.ndarray):
            digest.update(f"{part.dtype}{part.shape}".encode() + np.ascontiguousarray(part).tobytes())
        elif callable(part):
            digest.update(getattr(part, "__qualname__", repr(part)).encode())
        else:
            digest.update(repr(part).encode())
    return digest.hexdigest()


@pytest.fixture(scope="session", autouse=True)
def memoised_drawing():
    """Draw each distinct explanation figure once per test run, not once per test.

    The same inputs (bars, spectrograms, titles, regions, language) always give the same PNG, so tests
    still store, hash and serve real figures; only matplotlib's repeated work is shared. A test that
    replaces part of the drawing (a spy on ``charts.spectrogram_figure``, say) gets a real drawing.
    """
    from explanations import charts

    originals = {name: getattr(charts, name) for name in
                 ("png", "contribution_figure", "contribution_chart", "spectrogram_figure", "spectrogram_pair")}
    drawn: dict[str, bytes] = {}

    def untouched() -> bool:
        return all(getattr(charts, name) is function for name, function in originals.items()
                   if name not in ("contribution_chart", "spectrogram_pair"))

    def memoised(name):
        draw = originals[name]

        @functools.wraps(draw)
        def wrapper(*args, **kwargs):
            if not untouched():
                return draw(*args, **kwargs)
            key = name + str(charts.DPI) + _drawing_key(args, kwargs)
            if key not in drawn:
                drawn[key] = draw(*args, **kwargs)
            return drawn[key]

        return wrapper

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(charts, "contribution_chart", memoised("contribution_chart"))
        patch.setattr(charts, "spectrogram_pair", memoised("spectrogram_pair"))
        yield


#: Explanation figures outside browser tests: the same figure, drawn at a quarter of the pixels. Tests read
#: what a figure shows from its artists and data, not its pixels; browser tests keep the real size, which
#: decides the page's layout.
TEST_FIGURE_DPI = 50


@pytest.fixture(autouse=True)
def quick_figures(request, monkeypatch):
    from explanations import charts

    if not request.node.get_closest_marker("browser"):
        monkeypatch.setattr(charts, "DPI", TEST_FIGURE_DPI)


@pytest.fixture
def demo_catalog(db, memoised_audio_work, django_capture_on_commit_callbacks):
    """Twelve short synthesised clips, two per style, analysed and indexed (the jobs, sent once the data is
    committed, run here at once also in a test whose transaction never commits)."""
    catalog, _ = recommender_services.catalog_create_demo(slug="demo", per_style=2, seconds=4, seed=7)
    with django_capture_on_commit_callbacks(execute=True):
        recommender_services.catalog_analyse(catalog=catalog)
    return catalog


# A study with every explanation condition, a participant's browser on it, and two tracks to like:
# the cast of the participant's and the researcher's tests alike.
@pytest.fixture
def study(demo_catalog):
    return make_study(
        demo_catalog,
        conditions=[("features", "features"), ("spectrogram", "spectrogram"), ("both", "both"), ("control", "none")],
    )


@pytest.fixture
def browser(study):
    return ParticipantBrowser(study)


@pytest.fixture
def liked(demo_catalog):
    return list(demo_catalog.tracks.filter(style="Rock")[:2])
