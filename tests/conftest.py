import copy
import functools
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings as django_settings

from config.celery import app as celery_app
from recommender import audio, demo
from recommender import services as recommender_services
from tests.factories import make_study
from tests.participants import ParticipantBrowser


@pytest.fixture(scope="session", autouse=True)
def quick_postgres_flush():
    """Tests that commit (django_db(transaction=True)) empty every table afterwards; Django's PostgreSQL flush
    TRUNCATEs them, which costs 0.4 s for this schema's 39 empty tables here, DELETE 0.01 s: a fifth of such a
    test's time. The same rows go (the foreign keys are deferred to the commit), except the content types and
    permissions that migrating made, which the flush's post-migrate step would make again row by row (0.3 s a
    test) and no test changes. Sequences are reset by TRUNCATE only when asked, and then the TRUNCATE runs."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush
    kept = {"django_content_type", "auth_permission"}

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if not tables or reset_sequences:
            return truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        emptied = [table for table in tables if table not in kept]
        return ["SET CONSTRAINTS ALL DEFERRED", *(f"DELETE FROM {self.quote_name(table)}" for table in emptied)]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


@pytest.fixture(autouse=True)
def isolated_media(request, settings, tmp_path):
    """Every test writes media to its own folder, never to the project's.

    Tests with a real worker share the MEDIA_ROOT the worker was started with instead.
    """
    if not request.node.get_closest_marker("worker"):
        settings.MEDIA_ROOT = tmp_path / "media"
    recommender_services.load_index.cache_clear()
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    if isinstance(caches["default"], LocMemCache):  # rate-limit counts of one test never reach the next
        caches["default"].clear()
    yield
    recommender_services.load_index.cache_clear()


@pytest.fixture(autouse=True)
def quick_password_hashing(settings):
    """Accounts made and logged into by tests hash their passwords with MD5, not the deployment's PBKDF2: a
    million PBKDF2 rounds cost a quarter of a second per hash here, a fifth of a permissions test's time.
    test_settings checks what the deployment itself uses."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
    analysed: dict = {}  # by the file's content alone: each test's copy of a clip lies at a path of its own

    def analyse_file_once(path):
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        if digest not in analysed:
            analysed[digest] = analyse_file(path)
        return copy.deepcopy(analysed[digest])  # no test's changes reach the next

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo, "synthesise_clip", functools.cache(demo.synthesise_clip))
        patch.setattr(demo, "synthesise_mp3", functools.cache(demo.synthesise_mp3))
        patch.setattr(audio, "analyse_file", analyse_file_once)
        yield


@pytest.fixture
def demo_catalog(db, memoised_audio_work, django_capture_on_commit_callbacks):
    """Twelve short synthesised clips, two per style, analysed and indexed (the jobs, sent once the data is
    committed, run here at once also in a test whose transaction never commits)."""
    catalog, _ = recommender_services.catalog_create_demo(slug="demo", per_style=2, seconds=4, seed=7)
    with django_capture_on_commit_callbacks(execute=True):
        recommender_services.catalog_analyse(catalog=catalog)
    return catalog


_TRAINED: dict = {}


@pytest.fixture
def unpaced_bots(monkeypatch):
    """Pilot bots that need not keep below the player-event flood limit (RATE_LIMIT events per 10 s), which a bot
    taking two understanding tests reaches in seconds and then waits out; the limit itself is tested on its own
    (tests/study/test_participant_pages.py)."""
    monkeypatch.setattr("research.bots.RATE_LIMIT", 1000)
    monkeypatch.setattr("study.services.listening.RATE_LIMIT", 1000)


@pytest.fixture
def memoised_training(monkeypatch):
    """The same CNN training (same clips, settings and teacher) runs once per test run, not once per test: the
    networks' fixtures train the demo catalog's CNN identically every time. Tests of training itself call
    contrastive.train without this."""
    from recommender.cnn import contrastive

    train = contrastive.train

    def train_once(spectrograms, config, teacher=None, progress=None):
        if progress is not None:
            return train(spectrograms, config, teacher=teacher, progress=progress)
        digest = hashlib.sha256(repr(config).encode())
        for mel in spectrograms:
            digest.update(np.ascontiguousarray(mel).tobytes())
        if teacher is not None:
            digest.update(np.ascontiguousarray(teacher).tobytes())
        key = digest.hexdigest()
        if key not in _TRAINED:
            _TRAINED[key] = train(spectrograms, config, teacher=teacher)
        return _TRAINED[key]

    monkeypatch.setattr(contrastive, "train", train_once)


@pytest.fixture
def networked_catalog(demo_catalog, memoised_training):
    """The demo catalog with tagger embeddings, a CNN trained for a few steps, and both their indexes."""
    from recommender import networks
    from recommender.cnn.contrastive import TrainingConfig

    networks.catalog_embed(catalog=demo_catalog, feature_set="tagger")
    networks.cnn_train(catalog=demo_catalog, config=TrainingConfig(seed=0, steps=4, batch_size=6, crop_frames=64))
    networks.catalog_embed(catalog=demo_catalog, feature_set="cnn")
    return demo_catalog


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
