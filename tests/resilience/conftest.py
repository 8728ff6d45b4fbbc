"""Fault drills on the real services: a Celery worker of the drill's own, PostgreSQL and Redis on this machine.

The drills stop and start PostgreSQL and Redis, so they run on their own, after the rest of the suite
(`make test` runs `pytest -m resilience` last). They need root on the machine that runs the services (as CI
and this machine have) and skip otherwise, or fail where REQUIRE_INTEGRATION=1.

The drill's worker listens on its own Redis database, so the suite's worker (started by .ci/run) never takes
a drill's job.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections

from config.celery import app as celery_app
from recommender import services as recommender_services
from tests.factories import make_study

ROOT = Path(__file__).resolve().parents[2]
DRILL_BROKER_DB = 13


def require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("REQUIRE_INTEGRATION") == "1":
        pytest.fail(f"resilience drill cannot run: {reason}")
    pytest.skip(reason)


def wait_for(condition, what: str, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.1)
    pytest.fail(f"{what} did not happen within {timeout:.0f} s")


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)


# --- the services ------------------------------------------------------------------------------------------

def cluster() -> list[str]:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    return [versions[-1], "main"] if versions else []


def postgres_ready() -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], capture_output=True).returncode == 0


def postgres(action: str) -> None:
    """Stop, start or restart this machine's PostgreSQL cluster, and wait until it is (not) ready."""
    connections.close_all()  # this process's connections would only break
    run("pg_ctlcluster", "--skip-systemctl-redirect", *cluster(), action, "--", "-m", "fast")
    if action in ("start", "restart"):
        wait_for(postgres_ready, "PostgreSQL accepting connections", 60)


def redis_ready() -> bool:
    return subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True).returncode == 0


def redis_stop() -> None:
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "shutdown", "nosave"], capture_output=True, timeout=30)
    wait_for(lambda: not redis_ready(), "Redis stopping", 30)


def redis_start() -> None:
    if not redis_ready():
        run("redis-server", "--daemonize", "yes", "--port", "6379", "--save", "", "--appendonly", "no")
    wait_for(redis_ready, "Redis accepting connections", 30)


@pytest.fixture
def services_we_may_stop():
    """PostgreSQL and Redis on this machine, controllable by this process; both running again afterwards."""
    require(django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql",
            "DATABASE_URL does not point at PostgreSQL")
    require(bool(django_settings.CELERY_BROKER_URL), "CELERY_BROKER_URL is not set")
    require(os.geteuid() == 0, "the drills stop and start services: run them as root")
    require(bool(cluster()) and shutil.which("pg_ctlcluster") is not None, "no local PostgreSQL cluster")
    require(shutil.which("redis-server") is not None, "no local redis-server")
    require(postgres_ready() and redis_ready(), "PostgreSQL and Redis must be running")
    yield
    if not redis_ready():
        redis_start()
    if not postgres_ready():
        postgres("start")
    connections.close_all()


# --- the drill's worker ------------------------------------------------------------------------------------

def _drill_broker() -> str:
    return f"{django_settings.CELERY_BROKER_URL.rsplit('/', 1)[0]}/{DRILL_BROKER_DB}"


def _use_broker(url: str | None) -> None:
    """Point this process's Celery app at ``url``, forgetting connections made for the previous one."""
    conf = celery_app.conf
    # Read and write URLs explicitly: Celery prefers the CELERY_BROKER_URL environment variable to broker_url.
    conf.update(broker_url=url, broker_read_url=url, broker_write_url=url, task_always_eager=False)
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


class DrillWorker:
    """`celery worker` in a subprocess, on this test's database and media, with one pool process."""

    def __init__(self, media_root: Path, log: Path):
        self.log_path = log
        db = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": _drill_broker(),
            "CELERY_RESULT_BACKEND": "",
            "MEDIA_ROOT": str(media_root),
            "PYTHONUNBUFFERED": "1",
        }
        subprocess.run([sys.executable, "-m", "celery", "-A", "config", "purge", "-f", "-Q", "interactive,batch"], env=env, cwd=ROOT,
                       capture_output=True, timeout=60)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "interactive,batch", "--concurrency", "1",
             "--pool", "prefork", "--loglevel", "INFO", "--without-mingle", "--without-gossip", "--without-heartbeat",
             "--hostname", f"drill-{os.getpid()}@%h"],
            env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        )
        wait_for(lambda: "ready." in self.log(), "the drill's worker starting", 60)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def pool_processes(self) -> list[int]:
        found = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True)
        return [int(pid) for pid in found.stdout.split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def drill_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def drill_worker(services_we_may_stop, drill_media, tmp_path):
    saved = {name: celery_app.conf[name] for name in ("broker_url", "broker_read_url", "broker_write_url",
                                                      "task_always_eager")}
    worker = DrillWorker(drill_media, tmp_path / "worker.log")
    _use_broker(_drill_broker())
    yield worker
    worker.stop()
    celery_app.conf.update(saved)
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    print("--- drill worker log (last 30 lines)\n" + "\n".join(worker.log().splitlines()[-30:]))


@pytest.fixture
def eagerly():
    """Run jobs in this process for a moment (setting up a catalog), then send them to the worker again."""

    class Eagerly:
        def __enter__(self):
            self.saved = celery_app.conf.task_always_eager
            celery_app.conf.task_always_eager = True

        def __exit__(self, *exc):
            celery_app.conf.task_always_eager = self.saved

    return Eagerly()


@pytest.fixture
def drill_catalog(drill_media, eagerly, memoised_audio_work):
    with eagerly:
        catalog, _ = recommender_services.catalog_create_demo(slug="drill", per_style=2, seconds=4, seed=5)
        recommender_services.catalog_analyse(catalog=catalog)
    assert recommender_services.catalog_latest_index(catalog) is not None
    return catalog


@pytest.fixture
def drill_study(drill_catalog):
    """Ten recommendations with spectrograms: a job that draws for a couple of seconds, long enough to be hit."""
    return make_study(drill_catalog, conditions=[("spectrogram", "spectrogram")], n_recommendations=10)
