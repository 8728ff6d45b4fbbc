from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from study.models import Participant
from tests.participants import ParticipantBrowser

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker_down():
    """A configured broker that refuses connections, as when Redis has crashed."""
    conf = celery_app.conf
    names = ["broker_url", "broker_read_url", "broker_write_url", "task_always_eager"]
    saved = {name: conf[name] for name in names}
    conf.update(dict.fromkeys(names[:3], "redis://127.0.0.1:1/0"), task_always_eager=False)
    forget_connections()
    yield
    conf.update(saved)
    forget_connections()


def forget_connections():
    """Drop pooled connections and producers, which remember the broker they were made for."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_with_the_broker_down_recommendations_are_computed_in_process(study, liked, broker_down):
    browser = ParticipantBrowser(study)
    browser.get()
    browser.consent()
    started = timezone.now()
    page = browser.get_recommendations(*liked)
    assert page.redirect_chain[-1][0] == browser.url("rate")
    assert browser.participant.recommendations.count() == 5
    assert timezone.now() - started < timedelta(seconds=15)


def test_a_lost_recommendation_job_is_sent_again_when_the_participant_waits_too_long(browser, liked, monkeypatch):
    browser.get()
    browser.consent()
    monkeypatch.setattr("study.services.choosing.enqueue", lambda task, *args, **kw: None)  # lost with its worker
    browser.get_recommendations(*liked)
    assert browser.page() == Participant.Page.WAIT
    assert browser.client.get(browser.url("status")).json()["ready"] is False

    monkeypatch.undo()
    earlier = timezone.now() - timedelta(seconds=20)
    Participant.objects.update(recommendations_requested_at=earlier, recommendation_sent_at=earlier)
    assert browser.client.get(browser.url("status")).json()["ready"] is True
    assert browser.participant.recommendations.count() == 5
    assert browser.participant.recommendation_attempts == 2


def test_when_every_job_is_lost_the_participant_gets_recommendations_without_figures_within_a_minute(
    browser, liked, monkeypatch
):
    browser.study.conditions.exclude(slug="both").update(is_active=False)
    browser.get()
    browser.consent()
    monkeypatch.setattr("study.services.choosing.enqueue", lambda task, *args, **kw: None)
    monkeypatch.setattr("study.services.recommending.enqueue", lambda task, *args, **kw: None)
    browser.get_recommendations(*liked)
    state = browser.client.get(browser.url("status")).json()
    assert state["ready"] is False and "progress" in state

    Participant.objects.update(recommendations_requested_at=timezone.now() - timedelta(seconds=50))
    assert browser.client.get(browser.url("status")).json()["ready"] is True
    recommendations = list(browser.participant.recommendations.all())
    assert len(recommendations) == 5
    # Nothing was drawn in time: each recommendation says so, and the participant can go on rating.
    assert all("not drawn in time" in r.explanation_fallback for r in recommendations)
    assert browser.get("rate").status_code == 200


def _waiting(browser, liked, monkeypatch, *, sent_s_ago: float, progress: dict) -> Participant:
    browser.get()
    browser.consent()
    monkeypatch.setattr("study.services.choosing.enqueue", lambda task, *args, **kw: None)  # held by a dead worker
    browser.get_recommendations(*liked)
    monkeypatch.undo()
    sent = timezone.now() - timedelta(seconds=sent_s_ago)
    Participant.objects.filter(pk=browser.participant.pk).update(
        recommendations_requested_at=sent, recommendation_sent_at=sent, recommendation_progress=progress)
    return browser.participant


def test_a_starting_worker_takes_over_the_job_a_killed_worker_had_begun(browser, liked, monkeypatch):
    from study.tasks import resend_orphaned_recommendations

    participant = _waiting(browser, liked, monkeypatch, sent_s_ago=3, progress={"done": 2, "total": 5})
    resend_orphaned_recommendations()  # the worker_ready signal
    participant.refresh_from_db()
    assert participant.recommendation_attempts == 2
    assert participant.recommendations.count() == 5 and participant.page == Participant.Page.RATE


def test_a_starting_worker_leaves_a_job_still_queued_to_the_queue(browser, liked, monkeypatch):
    from study.services import recommendations_resend_orphaned

    participant = _waiting(browser, liked, monkeypatch, sent_s_ago=3, progress={})  # no worker has begun it
    assert recommendations_resend_orphaned(started_before=timezone.now()) == 0
    participant.refresh_from_db()
    assert participant.recommendation_attempts == 1 and participant.page == Participant.Page.WAIT


def test_a_starting_worker_resends_a_long_lost_job_but_never_past_the_attempts(browser, liked, monkeypatch):
    from study.services import recommendations_resend_orphaned
    from study.services.recommending import RECOMMENDATION_MAX_ATTEMPTS

    participant = _waiting(browser, liked, monkeypatch, sent_s_ago=20, progress={})
    Participant.objects.filter(pk=participant.pk).update(recommendation_attempts=RECOMMENDATION_MAX_ATTEMPTS)
    assert recommendations_resend_orphaned(started_before=timezone.now()) == 0
    Participant.objects.filter(pk=participant.pk).update(recommendation_attempts=1)
    assert recommendations_resend_orphaned(started_before=timezone.now()) == 1
    assert participant.recommendations.count() == 5


def test_a_worker_starting_without_its_database_still_starts(monkeypatch, caplog):
    from django.db import OperationalError

    from study import tasks

    def unreachable(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(tasks.services, "recommendations_resend_orphaned", unreachable)
    tasks.resend_orphaned_recommendations()
    assert "Could not look for orphaned recommendation jobs" in caplog.text


def test_running_the_recommendation_job_twice_changes_nothing(browser, liked):
    from study.tasks import recommend_for_participant

    browser.get()
    browser.consent()
    browser.get_recommendations(*liked)
    before = list(browser.participant.recommendations.values_list("pk", "track_id", "score"))
    recommend_for_participant.apply(args=[browser.participant.pk])
    assert list(browser.participant.recommendations.values_list("pk", "track_id", "score")) == before


def test_a_database_error_in_a_page_is_a_friendly_503_in_the_participant_s_language(study, monkeypatch):
    from django.db import OperationalError

    from study import views

    browser = ParticipantBrowser(study)
    browser.get(lang="de")

    def database_restarting(*args, **kwargs):
        raise OperationalError("the database system is shutting down")

    monkeypatch.setattr(views, "_render", database_restarting)
    page = browser.client.get(browser.url("consent"))
    assert page.status_code == 503 and page["Retry-After"] == "5"
    text = page.content.decode()
    assert 'lang="de"' in text and "Ihre bisherigen Antworten sind gespeichert" in text


def test_a_database_error_while_saving_an_answer_asks_the_page_script_to_retry(study, monkeypatch):
    from django.db import OperationalError

    from study import services

    browser = ParticipantBrowser(study)
    browser.get()

    def database_restarting(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "response_save", database_restarting)
    saved = browser.client.post(
        browser.url("answer"), {"item": "age", "value": 1, "seq": 1}, content_type="application/json"
    )
    assert saved.status_code == 503
    assert saved.json()["retry_after"] == 5


def test_a_re_send_is_claimed_once_whoever_asks_the_starting_worker_or_the_waiting_page(browser, liked, monkeypatch):
    from study.services import recommendations_resend_orphaned

    participant = _waiting(browser, liked, monkeypatch, sent_s_ago=20, progress={"done": 1, "total": 5})
    sends = []
    monkeypatch.setattr("study.services.recommending.enqueue", lambda task, *args, **kw: sends.append(args))
    assert recommendations_resend_orphaned(started_before=timezone.now()) == 1
    assert recommendations_resend_orphaned(started_before=timezone.now()) == 0  # a second worker starting
    browser.client.get(browser.url("status"))  # the page's poll right after: the job was just sent
    participant.refresh_from_db()
    assert sends == [(participant.pk,)] and participant.recommendation_attempts == 2
