"""A study launch: N participants arriving within a minute complete the whole study against the production
stack on this machine (gunicorn, one Celery worker, PostgreSQL, Redis, DEBUG off).

Each participant is a pilot bot (study/bots.py: every page, player events, answers saved one by one as the
page's script saves them, the occasional change of mind) talking real HTTP to gunicorn from its own thread,
with its own address (X-Forwarded-For, one trusted proxy hop), as Prolific participants would.

Measured: every request's latency (the waiting page's status polls apart), the wait from "continue" to
recommendations, errors (any 5xx, or a bot that could not finish), the balance of conditions, and whether
every answer given is in the export with the value given. Baseline, in the same run: `/healthz/` through the
same gunicorn with nobody else on it (a request that touches neither database nor templates).

    .venv/bin/python bench/load.py [--participants 200] [--arrival-s 60] [--think-s 3] [--web-workers 2] [--threads 4]
                                   [--with-batch 1000]

--with-batch N: the drill of a researcher preparing the next study while this one runs. Two workers as
docker-compose runs them (one for the `interactive` queue, one for `batch` at a lower CPU priority); just before
the first participant arrives, N synthesised 30-s clips are imported as another catalog (their analysis jobs go
to the batch queue) and a CNN training is sent there too. Reported besides: how much of that batch work was done
during the run (it must go on, not wait), and the participants' wait for recommendations (target p95 <= 10 s).

Participants act at a person's pace (--think-s seconds on average between actions: a page read, a track
chosen, a question answered; player events go as the page sends them), so the server sees what a launch
sends, not a flood.

Needs PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379); uses the scratch database
`resonance_load` (created afresh, dropped afterwards) and Redis databases 10-12. Ends with one JSON line.
"""
import argparse
import csv
import io
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from _common import ROOT, report, write_synthetic_clips
from _load_participants import HttpClient, Timings, make_bot_class, percentile

DATABASE = "postgres://postgres@127.0.0.1:5432/resonance_load"
REDIS = "redis://127.0.0.1:6379"
TARGETS = {"p95_ms": 300, "p99_ms": 1000, "wait_p95_s": 10}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(media_root: str, port: int) -> dict:
    """The production settings (.env.example), pointed at this machine's services, HTTPS left to a proxy."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "load-bench-" + "x" * 60,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{port}",
        "DATABASE_URL": DATABASE,
        "DATABASE_CONN_MAX_AGE": "60",
        "CELERY_BROKER_URL": f"{REDIS}/10",
        "CELERY_RESULT_BACKEND": "",
        "CACHE_URL": f"{REDIS}/11",
        "TRUSTED_PROXY_HOPS": "1",
        "MEDIA_ROOT": media_root,
        "STATIC_ROOT": str(Path(media_root).parent / "static"),
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def prepare(media_root: str, env: dict, per_style: int) -> str:
    """The scratch database, migrated; the demo catalog analysed and indexed; a study with a feature, a
    spectrogram and a no-explanation condition, its explanations prerendered. Returns the study's slug."""
    import psycopg

    with psycopg.connect(DATABASE.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS resonance_load WITH (FORCE)")
        admin.execute("CREATE DATABASE resonance_load")
    os.environ.update(env)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"  # set-up runs here, in-process
    import django

    django.setup()
    from django.core.management import call_command

    from recommender import services as recommender_services
    from research.services import study_create
    from study.models import Study

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)  # DEBUG off: whitenoise serves the manifest's files
    catalog, _ = recommender_services.catalog_create_demo(slug="load", per_style=per_style, seconds=10, seed=11)
    recommender_services.catalog_analyse(catalog=catalog)
    study = study_create(
        slug="launch", title="Launch", catalog=catalog, consent_text="You agree to take part.",
        conditions=[("features", "Features", "features"), ("spectrogram", "Spectrogram", "spectrogram"),
                    ("control", "Control", "none")],
        n_recommendations=5,
    )
    Study.objects.filter(pk=study.pk).update(state=Study.State.OPEN)
    return study.slug


def prerender(env: dict, slug: str) -> float:
    """Before launch, as the README advises: every figure drawn by the worker (two processes); seconds taken."""
    import re

    from django.conf import settings

    from explanations.models import Explanation
    from study.models import Study

    started = time.monotonic()
    sent = subprocess.run([sys.executable, "manage.py", "prerender_explanations", slug], env=env, cwd=ROOT,
                          check=True, capture_output=True, text=True, timeout=600).stdout
    pairs = int(re.search(r"(\d+) track pairs sent", sent)[1])
    kinds = set().union(*(c.explanation_kinds for c in Study.objects.get(slug=slug).conditions.all()))
    expected = pairs * len(kinds) * len(settings.LANGUAGES)  # one explanation per pair, kind and language
    while Explanation.objects.count() < expected:
        if time.monotonic() - started > 1800:
            raise SystemExit(f"prerendering did not finish: {Explanation.objects.count()} of {expected}")
        time.sleep(2)
    return time.monotonic() - started


def start_services(env: dict, port: int, web_workers: int, threads: int, log_dir: Path,
                   with_batch: bool = False) -> list[subprocess.Popen]:
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "config"]
    subprocess.run([*celery, "purge", "-f", "-Q", "interactive,batch"], env=env, cwd=ROOT, capture_output=True, timeout=60)
    quiet = ["--loglevel", "WARNING", "--without-mingle", "--without-gossip"]
    if with_batch:  # as docker-compose.yml: a worker per queue, the batch one at a lower CPU priority
        workers = [
            subprocess.Popen([*celery, "worker", "-Q", "interactive", "-n", "interactive@%h", "--concurrency", "2", *quiet],
                             env=env, cwd=ROOT, stdout=(log_dir / "worker.log").open("wb"), stderr=subprocess.STDOUT),
            subprocess.Popen(["nice", "-n", "10", *celery, "worker", "-Q", "batch", "-n", "batch@%h", "--concurrency", "2",
                              *quiet], env=env, cwd=ROOT, stdout=(log_dir / "batch.log").open("wb"),
                             stderr=subprocess.STDOUT),
        ]
    else:
        workers = [subprocess.Popen(
            [*celery, "worker", "-Q", "interactive,batch", "--concurrency", "2", *quiet],
            env=env, cwd=ROOT, stdout=(log_dir / "worker.log").open("wb"), stderr=subprocess.STDOUT,
        )]
    web = subprocess.Popen(
        [python, "-m", "gunicorn", "config.wsgi", "-c", "config/gunicorn.py", "--bind", f"127.0.0.1:{port}", "--workers", str(web_workers),
         "--threads", str(threads), "--timeout", "60",
         # Keep idle connections open past a participant's pause, as the proxy in front of a deployment does;
         # gunicorn's 2 s default closes them under the client, which then meets a reset connection.
         "--keep-alive", "75"],
        env=env, cwd=ROOT, stdout=(log_dir / "web.log").open("wb"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz/", timeout=5).ok:
                return [web, *workers]
        except requests.RequestException:  # not listening yet, or still loading the application
            time.sleep(0.3)
    for process in (web, *workers):  # never leave a worker behind to take the next run's jobs
        process.terminate()
        process.wait(timeout=30)
    raise SystemExit("gunicorn did not start: " + (log_dir / "web.log").read_text()[-2000:])


ROLES = (("gunicorn", "web"), ("celery", "worker"), ("postgres", "database"), ("redis-server", "redis"))


def cpu_seconds_by_role() -> dict[str, float]:
    """CPU seconds (user + system) used so far by each role's processes on this machine, read from /proc:
    the web server, the Celery worker, PostgreSQL, Redis, this load generator, everything else."""
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {role: 0.0 for _name, role in ROLES} | {"generator": 0.0, "other": 0.0}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):  # the process ended while being read
            continue
        seconds = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        if int(stat.parent.name) == os.getpid():
            role = "generator"
        else:
            role = next((role for name, role in ROLES if name in command), "other")
        used[role] += seconds
    return used


def baseline_ms(base_url: str, n: int = 200) -> float:
    session, times = requests.Session(), []
    for _ in range(n):
        started = time.perf_counter()
        session.get(base_url + "/healthz/", timeout=10)
        times.append(time.perf_counter() - started)
    return percentile(times, 95) * 1000


def exported_answers(env: dict, slug: str, folder: Path) -> list[dict]:
    out = folder / "export.csv"
    subprocess.run([sys.executable, "manage.py", "export_responses", slug, "--format", "csv", "--include-pilot",
                    "--out", str(out), "--reason", "bench/load.py: every answer given is in the export"], env={**env, "CELERY_TASK_ALWAYS_EAGER": "true"}, cwd=ROOT, check=True,
                   capture_output=True, timeout=300)
    return list(csv.DictReader(io.StringIO(out.read_text())))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--arrival-s", type=float, default=60.0, help="participants arrive evenly at random within")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--think-s", type=float, default=3.0,
                        help="mean seconds a participant takes per action (reading, choosing, answering)")
    parser.add_argument("--per-style", type=int, default=2, help="demo clips per style in the catalog")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--with-batch", type=int, default=0, metavar="N",
                        help="meanwhile analyse a catalog of N 30-s clips and train a CNN on the batch queue")
    parser.add_argument("--train-steps", type=int, default=400, help="the CNN's steps in --with-batch")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="resonance-load-"))
    media_root = folder / "media"
    media_root.mkdir()
    port = free_port()
    env = server_environment(str(media_root), port)
    processes = []
    try:
        slug = prepare(str(media_root), env, args.per_style)
        if args.with_batch:  # made before the clock starts
            (folder / "batch-clips").mkdir()
            write_synthetic_clips(args.with_batch, folder / "batch-clips", folder / "batch.csv")
        processes = start_services(env, port, args.web_workers, args.threads, folder, with_batch=bool(args.with_batch))
        prerender_s = prerender(env, slug)
        base_url = f"http://127.0.0.1:{port}"
        idle_ms = baseline_ms(base_url)
        batch_started = send_batch_work(env, folder, args) if args.with_batch else None
        figures = run(args, slug, base_url, env, folder)
        if args.with_batch:
            figures.update(batch_progress(args, batch_started))
        figures["baseline_healthz_p95_ms"] = round(idle_ms, 1)
        figures["prerender_s"] = round(prerender_s, 1)
        figures["p95_vs_baseline"] = round(figures["p95_ms"] / idle_ms, 1) if idle_ms else None
        figures["meets_targets"] = (figures.get("batch_clips_analysed", 1) > 0) and (
            figures["p95_ms"] <= TARGETS["p95_ms"] and figures["p99_ms"] <= TARGETS["p99_ms"]
            and figures["wait_p95_s"] <= TARGETS["wait_p95_s"] and figures["errors"] == 0
            and figures["max_condition_imbalance"] <= 1 and figures["answers_missing"] == 0
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        web_log = folder / "web.log"
        if web_log.exists() and "Traceback" in (text := web_log.read_text(errors="replace")):
            # The folder goes below: what the server said about its errors is the only trace of them.
            print(text[max(0, text.index("Traceback") - 2000):][:8000], file=sys.stderr)
        from django.db import connections

        connections.close_all()
        import psycopg

        with psycopg.connect(DATABASE.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS resonance_load WITH (FORCE)")
        shutil.rmtree(folder, ignore_errors=True)
    report(figures)


def send_batch_work(env: dict, folder: Path, args) -> float:
    """The next study's preparation, sent to the batch queue as a researcher's commands would send it: a catalog of
    synthesised clips imported (its analysis in jobs) and the running study's catalog's CNN trained."""
    started = time.monotonic()
    # The training first: one batch process trains while the other works through the analysis jobs.
    subprocess.run([sys.executable, "manage.py", "train_cnn", "load", "--background", "--steps", str(args.train_steps)],
                   env=env, cwd=ROOT, check=True, capture_output=True, timeout=120)
    subprocess.run([sys.executable, "manage.py", "import_catalog", str(folder / "batch.csv"), "--format", "generic",
                    "--catalog", "next", "--audio-dir", str(folder / "batch-clips"), "--ignore-columns", "--columns",
                    "track_id=id,artist_or_source=artist,style=genre,path=audio", "--verbosity", "0"],
                   env=env, cwd=ROOT, check=True, timeout=600)
    return started


def batch_progress(args, started: float) -> dict:
    from recommender.models import AudioModel, Catalog, Track

    tracks = Catalog.objects.get(slug="next").tracks
    return {
        "batch_clips": args.with_batch,
        "batch_clips_analysed": tracks.filter(status=Track.Status.ANALYSED).count(),
        "batch_seconds": round(time.monotonic() - started, 1),
        "cnn_trained_during_run": AudioModel.objects.filter(kind=AudioModel.Kind.CNN, catalog__slug="load").exists(),
    }


def run(args, slug: str, base_url: str, env: dict, folder: Path) -> dict:
    from collections import Counter

    from django.db.models import Min

    from explanations.models import Explanation
    from recommender.models import Track
    from study.models import Assignment, PageVisit, Participant, Recommendation, Study

    study = Study.objects.get(slug=slug)
    prerendered = Explanation.objects.count()
    LoadBot = make_bot_class()
    LoadBot.titles = list(Track.objects.filter(catalog=study.catalog).values_list("title", flat=True))
    timings = Timings()
    rng = random.Random(args.seed)
    arrivals = sorted(rng.uniform(0, args.arrival_s) for _ in range(args.participants))
    bots, threads = [], []
    cpu_before = cpu_seconds_by_role()
    started = time.monotonic()

    def participant(number: int, arrive_at: float):
        time.sleep(max(0.0, started + arrive_at - time.monotonic()))
        bot_rng = random.Random(rng.random() + number)
        language = bot_rng.choice(["en", "de"])
        client = HttpClient(base_url, f"10.{number // 250}.{number % 250}.{bot_rng.randint(1, 250)}", language, timings,
                            think_s=args.think_s, rng=bot_rng)
        bot = LoadBot(study, number, pattern="careful", rng=bot_rng, client=client, poll_timeout_s=120)
        bot.language = language
        bots.append(bot)
        bot.run()

    for number, arrive_at in enumerate(arrivals, start=1):
        thread = threading.Thread(target=participant, args=(number, arrive_at), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(timeout=600)
    elapsed = time.monotonic() - started
    cpu = {role: round(after - cpu_before[role], 1) for role, after in cpu_seconds_by_role().items()}

    results = [bot.result for bot in bots]
    failed = [r for r in results if r.error or not r.completed]
    server_errors = sum(n for status, n in timings.statuses.items() if status >= 500)
    counts = Counter(Assignment.objects.filter(participant__study=study).values_list("condition__slug", flat=True))
    rank_of = dict(Recommendation.objects.filter(participant__study=study).values_list("pk", "rank"))
    given = set()
    for bot in bots:
        for name, value in bot.given.items():
            code, _sep, recommendation = name.partition("__")
            given.add((bot.result.prolific_pid, code, str(rank_of.get(int(recommendation), "?")) if recommendation
                       else "", str(value)))
    rows = exported_answers(env, slug, folder)
    exported = {(row["prolific_pid"], row["item"], row["recommendation_rank"], row["value"]) for row in rows}
    # From "continue" to the rating page, by the server's clock (a bot whose recommendations were ready before
    # the waiting page's first poll never polls at all).
    rate_entered = dict(PageVisit.objects.filter(participant__study=study, page=Participant.Page.RATE)
                        .values_list("participant_id").annotate(first=Min("entered_at")))
    waits = [
        (rate_entered[pk] - requested).total_seconds()
        for pk, requested in Participant.objects.filter(study=study, recommendations_requested_at__isnull=False)
        .values_list("pk", "recommendations_requested_at") if pk in rate_entered
    ]
    return {
        "participants": len(results),
        "completed": len(results) - len(failed),
        "arrival_s": args.arrival_s,
        "think_s": args.think_s,
        "elapsed_s": round(elapsed, 1),
        "requests": len(timings.latencies),
        "status_polls": len(timings.polls),
        "p50_ms": round(percentile(timings.latencies, 50) * 1000, 1),
        "p95_ms": round(percentile(timings.latencies, 95) * 1000, 1),
        "p99_ms": round(percentile(timings.latencies, 99) * 1000, 1),
        "max_ms": round(max(timings.latencies) * 1000, 1) if timings.latencies else None,
        "wait_p50_s": round(statistics.median(waits), 2) if waits else None,
        "wait_p95_s": round(percentile(waits, 95), 2) if waits else None,
        "errors": server_errors + len(failed),
        "server_errors": server_errors,
        "bot_failures": [r.error or f"ended on {r.page}" for r in failed][:5],
        "statuses": {str(k): v for k, v in sorted(timings.statuses.items())},
        "slowest_pages_p95_ms": timings.slowest_pages(),
        "conditions": dict(counts),
        "max_condition_imbalance": max(counts.values()) - min(counts.values()) if counts else None,
        "answers_given": len(given),
        "answers_exported": len(rows),
        "answers_missing": len(given - exported),
        "explanations_drawn_during_run": Explanation.objects.count() - prerendered,
        "web_workers": args.web_workers,
        "threads_per_worker": args.threads,
        "cpu_cores": os.cpu_count(),
        # Where the machine's CPU went during the run (seconds; cores x elapsed is all there was).
        "cpu_s": cpu,
        "cpu_s_available": round(elapsed * (os.cpu_count() or 1), 1),
    }


if __name__ == "__main__":
    main()
