"""A failing job never leaves a participant on a spinner: bounded retries, then a fallback they can go on with."""
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from explanations.models import Explanation
from research.export import long_rows
from study.models import Participant
from tests.participants import ParticipantBrowser

pytestmark = pytest.mark.django_db(transaction=True)


def only(study, slug):
    study.conditions.exclude(slug=slug).update(is_active=False)


def test_a_figure_that_fails_to_render_is_tried_again_then_shown_without_and_marked(study, liked, monkeypatch, caplog):
    only(study, "both")
    calls = []

    def broken(*, kind, **kwargs):
        calls.append(kind)
        if kind == Explanation.Kind.SPECTROGRAM:
            raise ValueError("Unknown symbol: \\$")
        from explanations.services import explanation_get_or_render

        return explanation_get_or_render(kind=kind, **kwargs)

    monkeypatch.setattr("study.services.recommending.explanation_get_or_render", broken)
    browser = ParticipantBrowser(study)
    browser.get()
    browser.consent()
    with caplog.at_level(logging.ERROR):
        page = browser.get_recommendations(*liked)
    assert page.redirect_chain[-1][0] == browser.url("rate")
    assert calls.count(Explanation.Kind.SPECTROGRAM) == 5 * 2  # every figure tried twice, no more
    recommendations = list(browser.participant.recommendations.all())
    assert all(r.feature_explanation and not r.spectrogram_explanation for r in recommendations)
    assert all("failed to render after 2 tries (ValueError: Unknown symbol" in r.explanation_fallback for r in recommendations)
    assert "Rendering the spectrogram explanation" in caplog.text and "Unknown symbol" in caplog.text
    assert page.content.count(b"could not be prepared in time") == 5
    browser.post("rate", browser.rating_answers())
    rows = [row for row in long_rows(study) if row["section"] == "rating"]
    assert rows and all(row["explanation_fallback"].startswith("spectrogram: failed to render") for row in rows)


def test_a_recommendation_job_that_keeps_failing_is_retried_a_bounded_number_of_times_then_offers_a_way_on(
    study, liked, monkeypatch
):
    browser = ParticipantBrowser(study)
    browser.get()
    browser.consent()

    def no_index(catalog, feature_set=None):
        return None

    monkeypatch.setattr("study.services.recommending.recommender_services.catalog_latest_index", no_index)
    browser.get_recommendations(*liked)
    assert browser.page() == "wait"
    sent = []
    monkeypatch.setattr("study.services.recommending.enqueue", lambda task, *args, **kw: sent.append(args))
    for _ in range(10):  # a participant's page polling for a long time
        earlier = timezone.now() - timedelta(seconds=20)
        Participant.objects.update(recommendation_sent_at=earlier)
        browser.client.get(browser.url("status"))
    assert len(sent) == 2  # 3 sends in all, then no more
    Participant.objects.update(recommendations_requested_at=timezone.now() - timedelta(seconds=50))
    state = browser.client.get(browser.url("status")).json()
    assert state["ready"] is False and state["failed"] is True
    assert "has no features index yet" in state["progress"]["error"]
    assert b"Try again" in browser.get("wait").content

    monkeypatch.undo()
    page = browser.post("wait", {})  # "Try again", with the catalog fixed
    assert page.redirect_chain[-1][0] == browser.url("rate")
    assert browser.participant.recommendations.count() == 5


@pytest.mark.parametrize("title", ["Price Tag ($ $)", "a$b$c", r"x_1^2 \alpha $\frac{1}{0}$", "Кино · 東京 ✓ 🎵"])
def test_titles_are_drawn_literally_so_hostile_ones_never_break_a_figure(study, liked, title):
    only(study, "both")
    for track in study.catalog.tracks.all():
        track.title = f"{title} {track.pk}"
        track.save()
    browser = ParticipantBrowser(study)
    browser.get()
    browser.consent()
    page = browser.get_recommendations(*liked)
    assert page.redirect_chain[-1][0] == browser.url("rate")
    for recommendation in browser.participant.recommendations.all():
        assert recommendation.explanation_fallback == ""
        assert recommendation.feature_explanation.drawing and recommendation.spectrogram_explanation.drawing
        assert recommendation.spectrogram_explanation.liked_spectrogram.image


def test_try_again_sends_one_job_however_often_it_is_clicked_and_is_rate_limited(study, liked, monkeypatch):
    """Issue 19: thirty simultaneous retries of the waiting page took recommendations from 2-6 s to 47 s."""
    browser = ParticipantBrowser(study)
    browser.get()
    browser.consent()
    monkeypatch.setattr("study.services.recommending.recommender_services.catalog_latest_index", lambda *a, **k: None)
    browser.get_recommendations(*liked)
    assert browser.page() == "wait"
    sent = []
    monkeypatch.setattr("study.services.recommending.enqueue", lambda task, *args, **kw: sent.append(args))
    Participant.objects.update(recommendation_progress={"error": "RuntimeError: no index"})
    for _ in range(4):  # clicked four times: the first starts a job, the others find it in flight
        browser.client.post(browser.url("wait"), {})
    assert len(sent) == 1
    # Once the job is old enough to be retried, a click sends one again; past the limit nothing is sent.
    for _ in range(4):
        Participant.objects.update(recommendation_sent_at=timezone.now() - timedelta(seconds=20))
        browser.client.post(browser.url("wait"), {})
    assert len(sent) == 2  # the fifth and later clicks within the minute are over the limit (5 per session)
