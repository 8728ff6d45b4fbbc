"""A real Celery worker on Redis, as docker-compose runs it: analysis, indexing and recommendations.

The worker must share this run's database and MEDIA_ROOT; .ci/run starts one so.
"""
import time

import pytest

from config.celery import app as celery_app
from recommender import services as recommender_services
from recommender.models import Track
from tests.factories import make_study
from tests.participants import ParticipantBrowser

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TIMEOUT_S = 120


def wait_for(condition, what: str, timeout: float = TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    pytest.fail(f"the worker did not finish {what} within {timeout:.0f} s")


@pytest.fixture
def worker():
    replies = celery_app.control.ping(timeout=5)
    if not replies:
        pytest.fail("no Celery worker answered a ping; start one on this database and broker (see .ci/run)")
    return replies


@pytest.fixture
def catalog_analysed_by_the_worker(worker):
    catalog, _ = recommender_services.catalog_create_demo(slug="worker-demo", per_style=2, seconds=4, seed=3)
    recommender_services.catalog_analyse(catalog=catalog)
    wait_for(lambda: recommender_services.catalog_latest_index(catalog) is not None, "analysing the catalog")
    return catalog


def test_a_worker_analyses_a_catalog_and_builds_its_index(catalog_analysed_by_the_worker):
    catalog = catalog_analysed_by_the_worker
    assert catalog.tracks.filter(status=Track.Status.ANALYSED).count() == 12
    index = recommender_services.catalog_latest_index(catalog)
    assert index.version == 1 and len(index.track_ids) == 12


def test_a_worker_computes_a_participant_s_recommendations_and_explanations(catalog_analysed_by_the_worker):
    study = make_study(catalog_analysed_by_the_worker, conditions=[("both", "both")])
    browser = ParticipantBrowser(study)
    browser.get()
    browser.consent()
    browser.like(*catalog_analysed_by_the_worker.tracks.filter(style="Ambient")[:1])
    browser.client.post(browser.url("choose"), {"action": "continue"})

    wait_for(lambda: browser.client.get(browser.url("status")).json()["ready"], "recommending")
    recommendations = list(browser.participant.recommendations.select_related("feature_explanation"))
    assert len(recommendations) == 5
    for recommendation in recommendations:
        assert recommendation.feature_explanation.drawing["bars"]
        for picture in (recommendation.spectrogram_explanation.liked_spectrogram,
                        recommendation.spectrogram_explanation.recommended_spectrogram):
            assert picture.image.storage.exists(picture.image.name)
    page = browser.get("rate")
    assert page.status_code == 200 and page.content.count(b'data-role="recommended"') == 5
