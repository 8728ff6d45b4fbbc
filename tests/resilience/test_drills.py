"""Fault drills: a worker killed mid-job, PostgreSQL restarting under a job and under participants, Redis
stopped mid-study. Each ends with nothing lost and the participant able to carry on.

See conftest.py for how the services are stopped and started and why these run on their own.
"""
import os
import signal
import time

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from django.test import RequestFactory

from study.models import Participant, Response
from study.services import choosing
from study.tasks import recommend_for_participant
from tests.participants import ParticipantBrowser
from tests.resilience.conftest import (
    DrillWorker,
    cluster,
    postgres,
    postgres_ready,
    redis_start,
    redis_stop,
    run,
    wait_for,
)

pytestmark = [pytest.mark.resilience, pytest.mark.django_db(transaction=True)]


def waiting_participant(study, catalog) -> ParticipantBrowser:
    """A participant who liked a track and asked for recommendations (the job is sent to the drill's worker)."""
    browser = ParticipantBrowser(study)
    browser.get()
    browser.consent()
    browser.get_recommendations(catalog.tracks.order_by("pk").first())
    assert browser.page() == Participant.Page.WAIT
    return browser


def recommended(participant_id: int) -> bool:
    connections.close_all()  # never a connection left over from before a restart
    return Participant.objects.get(pk=participant_id).recommendations.exists()


def drawing(participant_id: int) -> bool:
    progress = Participant.objects.get(pk=participant_id).recommendation_progress or {}
    return progress.get("total", 0) > 0 and progress.get("done", 0) < progress["total"]


def test_a_worker_process_killed_mid_job_is_redelivered_and_finishes(drill_worker, drill_study, drill_catalog):
    """SIGKILL of the process running the job (what the kernel's OOM killer does): with acks_late and
    reject_on_worker_lost the message goes back to the queue, the worker's new process takes it, and the
    participant has their recommendations within 15 s, without the app's own re-send."""
    browser = waiting_participant(drill_study, drill_catalog)
    participant = browser.participant
    wait_for(lambda: drawing(participant.pk), "the job starting to draw", 60)
    victims = drill_worker.pool_processes()
    assert victims, "the worker has no pool process"
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()

    wait_for(lambda: recommended(participant.pk), "the redelivered job finishing", 15)
    participant.refresh_from_db()
    assert participant.recommendation_attempts == 1  # Celery redelivered it; the page did not re-send
    assert participant.recommendations.count() == 10
    assert not participant.recommendations.exclude(explanation_fallback="").exists()
    assert "WorkerLostError" in drill_worker.log() or "exited" in drill_worker.log()
    print(f"recommendations ready {time.monotonic() - killed_at:.1f} s after the kill")
    assert browser.get("rate").status_code == 200


def test_a_whole_worker_killed_mid_job_is_taken_over_by_the_worker_that_replaces_it(
    drill_worker, drill_study, drill_catalog, drill_media, tmp_path
):
    """SIGKILL of the worker's main process and its pool together (a container or machine lost): the
    message stays unacknowledged in Redis until the visibility timeout, minutes away. The worker started in
    its place sends the job again as it starts, and the participant has recommendations within 15 s of it,
    before the waiting page's own re-send."""
    browser = waiting_participant(drill_study, drill_catalog)
    participant = browser.participant
    wait_for(lambda: drawing(participant.pk), "the job starting to draw", 60)
    for pid in [drill_worker.process.pid, *drill_worker.pool_processes()]:
        os.kill(pid, signal.SIGKILL)
    drill_worker.process.wait(timeout=10)

    replacement = DrillWorker(drill_media, tmp_path / "replacement.log")
    back_at = time.monotonic()
    try:
        done_at = wait_for(lambda: recommended(participant.pk), "the replacement finishing the job", 15)
        print(f"recommendations ready {done_at - back_at:.1f} s after the replacement worker started")
        assert "sending it again" in replacement.log()
    finally:
        replacement.stop()
    participant.refresh_from_db()
    assert participant.recommendation_attempts == 2  # sent once by the page, once by the replacement
    assert participant.recommendations.count() == 10
    assert not participant.recommendations.exclude(explanation_fallback="").exists()
    assert browser.get("rate").status_code == 200


def test_a_database_restart_inside_a_job_is_retried_with_back_off_not_dropped(
    drill_worker, drill_study, drill_catalog, monkeypatch
):
    # The participant waits; their job reaches the worker while PostgreSQL is down.
    monkeypatch.setattr(choosing, "enqueue", lambda *args, **kwargs: None)
    browser = waiting_participant(drill_study, drill_catalog)
    participant_id = browser.participant.pk
    postgres("stop")
    try:
        recommend_for_participant.delay(participant_id)
        wait_for(lambda: "Retry in" in drill_worker.log(), "the job failing and scheduling a retry", 20)
    finally:
        postgres("start")

    wait_for(lambda: recommended(participant_id), "the retried job finishing", 30)
    assert "OperationalError" in drill_worker.log()
    participant = Participant.objects.get(pk=participant_id)
    assert participant.recommendations.count() == 10 and participant.page == Participant.Page.RATE


def test_a_postgres_restart_mid_study_is_a_friendly_page_and_loses_nothing(services_we_may_stop, drill_study):
    """Participants mid-questionnaire: while PostgreSQL is down they get a 503 page in their language (the
    page script retries saves); the first request after it is back succeeds, and every answer is there."""
    browser = ParticipantBrowser(drill_study)
    browser.get(lang="de")
    browser.consent_only()
    browser.post("instructions", {})
    answers = browser.pre_answers()
    first = next(iter(answers))
    seq = 1
    for code, value in answers.items():
        saved = browser.client.post(browser.url("answer"), {"item": code, "value": value, "seq": seq},
                                    content_type="application/json")
        assert saved.status_code == 200, saved.content
    postgres("stop")
    try:
        page = browser.client.get(browser.url("about-you"))
        save = browser.client.post(browser.url("answer"), {"item": first, "value": answers[first], "seq": 2},
                                   content_type="application/json")
    finally:
        postgres("start")
    assert page.status_code in (500, 503)
    assert "Ihre bisherigen Antworten sind gespeichert" in page.content.decode()
    assert save.status_code in (500, 503)

    again = browser.client.get(browser.url("about-you"))
    assert again.status_code == 200
    assert dict(Response.objects.filter(participant=browser.participant).values_list("item__code", "value")) == answers


def test_an_idle_postgres_restart_costs_no_request_with_pooled_connections(services_we_may_stop, drill_study,
                                                                           settings):
    """DATABASE_CONN_MAX_AGE keeps a connection between requests; CONN_HEALTH_CHECKS finds it dead after a
    restart and opens a new one, so the first request after the restart is answered, not failed."""
    connection = connections["default"]
    settings.DATABASES["default"]["CONN_MAX_AGE"] = connection.settings_dict["CONN_MAX_AGE"] = 60
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]
    # Requests through the WSGI handler itself, as gunicorn makes them: Django's test client would skip the
    # request signals, and with them the health check.
    handler = WSGIHandler()
    environ = RequestFactory()._base_environ(PATH_INFO=f"/s/{drill_study.slug}/", REQUEST_METHOD="GET")

    def get() -> str:
        statuses = []
        body = handler(dict(environ), lambda status, headers, *args: statuses.append(status))
        b"".join(body)
        body.close()  # request_finished: the connection is kept (CONN_MAX_AGE), not closed
        return statuses[0]

    assert get().startswith(("200", "302"))
    before = connection.connection
    assert before is not None  # kept between requests
    run("pg_ctlcluster", "--skip-systemctl-redirect", *cluster(), "restart", "--", "-m", "fast")  # behind its back
    wait_for(postgres_ready, "PostgreSQL accepting connections", 60)

    assert get().startswith(("200", "302"))
    assert connection.connection is not before


def test_with_redis_stopped_participants_carry_on_and_work_resumes_when_it_returns(
    drill_worker, drill_study, drill_catalog
):
    redis_stop()
    try:
        started = time.monotonic()
        offline = ParticipantBrowser(drill_study)
        offline.get()
        offline.consent()
        # No broker: the job runs in the web process, so the participant goes straight on to rating.
        page = offline.get_recommendations(drill_catalog.tracks.order_by("pk").first())
        assert page.status_code == 200 and offline.page() == Participant.Page.RATE
        offline.post("rate", offline.rating_answers(4))
        assert offline.page() == Participant.Page.QUESTIONNAIRE
        print(f"a participant's recommendations with Redis down: {time.monotonic() - started:.1f} s")
    finally:
        redis_start()

    # Redis is back: the worker reconnects and takes the next participant's job.
    online = waiting_participant(drill_study, drill_catalog)
    wait_for(lambda: recommended(online.participant.pk), "the worker taking jobs again", 60)
    assert "recommend_for_participant" in drill_worker.log().split("ready.", 1)[-1]
    stored = Response.objects.filter(participant=offline.participant, recommendation__isnull=False).count()
    assert stored == len(offline.rating_answers(4))
