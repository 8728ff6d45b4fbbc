"""The one way services start background work: by the task's name, so that a task module imports its
app's services and no service imports a task (a task is a doorway that calls one service).

Tasks are sent after the surrounding transaction commits, so a worker never
looks for a row that does not exist yet. If the broker cannot be reached within
CELERY_PUBLISH_TIMEOUT seconds (the connect timeout) and one quick retry, the task runs here, in-process, instead: slower
for that one request, but nothing is lost and the participant carries on.
"""
import logging
import threading

from celery import Task, chord
from celery.canvas import Signature
from celery.exceptions import Retry
from django.conf import settings
from django.db import connections, transaction

from config.celery import app

logger = logging.getLogger(__name__)
_discovering = threading.Lock()


def task_named(name: str) -> Task:
    """The registered task ``name`` ("<app>.tasks.<function>"); an unknown name fails here, at the caller.

    A web process imports no tasks module until one is asked for: the first lookup runs Celery's
    autodiscovery (every installed app's tasks.py), as a worker does when it starts. Celery's autodiscovery
    returns at once, having imported nothing, to a thread that asks while another is discovering, so the
    threads of a gthread web worker take turns here: the second waits for the first's modules.
    """
    if name not in app.tasks:
        with _discovering:
            if name not in app.tasks:
                app.loader.import_default_modules()
    return app.tasks[name]


def job(name: str, *args) -> Signature:
    """``name(*args)`` as one step of a chord: its arguments fixed (it ignores what the step before returned)."""
    return task_named(name).si(*args)


def _apply_eagerly(task: Task, args: tuple, retries: int = 0):
    """Run ``task(*args)`` here, its retries too: an eager task that asks to be retried (``autoretry_for``)
    raises Retry to its caller, with no worker to take the countdown, so the next try runs at once. Past its
    ``max_retries`` the task raises its own error."""
    try:
        return task.apply(args=args, retries=retries, throw=True)
    except Retry:
        return _apply_eagerly(task, args, retries + 1)


def _run_here(task: Task, args: tuple) -> None:
    try:
        _apply_eagerly(task, args)
    except Exception:
        # The request that triggered the job must still succeed; the job's owner retries it.
        logger.exception("In-process run of %s%r failed", task.name, args)


def _run_in_thread(task: Task, args: tuple) -> None:
    """Run an eager job beside the request, as a worker would, so the page that asked returns at once."""

    def run():
        try:
            _run_here(task, args)
        finally:
            connections.close_all()  # this thread's own database connections

    threading.Thread(target=run, name=f"job-{task.name}", daemon=True).start()


def run_or_send(task: Task, *args, background: bool = False) -> None:
    if task.app.conf.task_always_eager:
        if background and settings.EAGER_JOBS_IN_BACKGROUND:
            _run_in_thread(task, args)
        else:
            _run_here(task, args)
        return
    try:
        task.apply_async(
            args=args,
            retry=True,
            retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
        )
    except Exception:  # kombu raises OperationalError, redis-py its own ConnectionError
        logger.warning("Broker unreachable; running %s%r in-process", task.name, args, exc_info=True)
        _run_here(task, args)


def enqueue(task_name: str, *args, background: bool = False) -> None:
    """Send the task ``task_name(*args)`` once the current transaction commits (at once outside one).

    ``background``: a participant waits on a page that shows the job's progress; on the
    embedded default (no broker) the job then runs in a thread of the web process instead
    of holding the request that asked for it.
    """
    task = task_named(task_name)
    transaction.on_commit(lambda: run_or_send(task, *args, background=background))


def enqueue_chord(jobs: list[Signature], then: Signature) -> None:
    """Send ``jobs`` to run in parallel and ``then`` once all of them are done, after the current
    transaction commits. On the embedded default they run here, one after the other, each with its retries
    (Celery's eager chord would stop at the first retry); an error that is not retried reaches the caller."""

    def send():
        if app.conf.task_always_eager:
            for step in [*jobs, then]:
                _apply_eagerly(task_named(step.task), tuple(step.args))
        else:
            chord(jobs)(then)

    transaction.on_commit(send)
