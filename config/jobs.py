"""Sending Celery tasks so that a broken broker never breaks a participant's page.

Tasks are sent after the surrounding transaction commits, so a worker never
looks for a row that does not exist yet. If the broker cannot be reached within
CELERY_PUBLISH_TIMEOUT seconds (the connect timeout) and one quick retry, the task runs here, in-process, instead: slower
for that one request, but nothing is lost and the participant carries on.
"""
import logging
import threading

from celery import Task
from django.conf import settings
from django.db import connections, transaction

logger = logging.getLogger(__name__)


def _run_here(task: Task, args: tuple) -> None:
    try:
        task.apply(args=args, throw=True)
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


def enqueue(task: Task, *args, background: bool = False) -> None:
    """Send ``task(*args)`` once the current transaction commits (at once outside one).

    ``background``: a participant waits on a page that shows the job's progress; on the
    embedded default (no broker) the job then runs in a thread of the web process instead
    of holding the request that asked for it.
    """
    transaction.on_commit(lambda: run_or_send(task, *args, background=background))
