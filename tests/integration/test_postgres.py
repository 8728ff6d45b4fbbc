"""Concurrency on the real database: what SQLite's single writer hides."""
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from study.models import Assignment, Participant
from tests.factories import CatalogFactory, make_study
from tests.participants import ParticipantBrowser

# One group: tests that open dozens of connections at once run one after another, never side by side
# in two test processes (PostgreSQL allows 100).
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("connections")]

# Far beyond the 40 released together: every arrival after them still races the ones in flight.
ARRIVALS = 200
# PostgreSQL allows 100 connections by default; 40 threads hold one each.
THREADS = 40


def arrive_all_at_once(study, pids: list[str]) -> list[int]:
    """Each pid enters and consents from its own browser and thread, all released together."""
    start = threading.Barrier(min(THREADS, len(pids)))

    def arrive(pid: str) -> int:
        try:
            if pid in pids[:THREADS]:
                start.wait(timeout=30)
            browser = ParticipantBrowser(study)
            browser.get(PROLIFIC_PID=pid)
            browser.consent_only()
            return browser.participant.pk
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(arrive, pids))


def test_it_keeps_conditions_balanced_under_concurrent_arrivals():
    study = make_study(
        CatalogFactory(), conditions=[("features", "features"), ("spectrogram", "spectrogram"), ("control", "none")]
    )
    participant_ids = arrive_all_at_once(study, [f"pid-{i}" for i in range(ARRIVALS)])

    assert len(set(participant_ids)) == ARRIVALS
    assert Participant.objects.count() == Assignment.objects.count() == ARRIVALS
    counts = Counter(Assignment.objects.values_list("condition__slug", flat=True))
    assert set(counts) == {"features", "spectrogram", "control"}
    assert max(counts.values()) - min(counts.values()) <= 1, counts


def test_the_same_prolific_id_arriving_many_times_at_once_is_one_participant():
    study = make_study(CatalogFactory())
    participant_ids = arrive_all_at_once(study, ["double-clicker"] * THREADS)

    assert set(participant_ids) == {Participant.objects.get().pk}
    assert Assignment.objects.count() == 1
