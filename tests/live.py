"""Participants' browsers over real HTTP, released together from real threads, for tests on a live server.

The Django test client runs each request in the test's own thread and transaction;
only a live server shows what concurrent participants meet: separate connections,
separate threads, the database's own locking.
"""
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import requests
from django.db import connection

#: Seconds a request may take before the test gives up on it: far above SQLite's 20 s lock timeout.
REQUEST_TIMEOUT_S = 60


class LiveParticipant:
    """One participant's browser: its own cookies, a record of every status code it was answered with."""

    def __init__(self, live_server_url: str, slug: str, cookies=None):
        self.live_server_url, self.slug = live_server_url, slug
        self.base = f"{live_server_url}/s/{slug}/"
        self.http = requests.Session()
        if cookies is not None:
            self.http.cookies.update(cookies)
        # Redirects included: a 500 on the page a POST redirects to is a failure too.
        self.statuses: list[int] = []

    def _record(self, response: requests.Response) -> requests.Response:
        self.statuses += [r.status_code for r in response.history] + [response.status_code]
        return response

    @property
    def csrf_token(self) -> str:
        return self.http.cookies["csrftoken"]

    def enter(self, pid: str) -> requests.Response:
        """Follow the study link as Prolific sends it; ends on the consent page."""
        params = {"PROLIFIC_PID": pid, "STUDY_ID": "s", "SESSION_ID": f"session-{pid}"}
        return self._record(self.http.get(self.base, params=params, timeout=REQUEST_TIMEOUT_S))

    def post(self, page: str, data: dict | None = None) -> requests.Response:
        """Submit a page's form and follow the redirect to the next page."""
        data = {**(data or {}), "csrfmiddlewaretoken": self.csrf_token}
        return self._record(self.http.post(f"{self.base}{page}/", data=data, timeout=REQUEST_TIMEOUT_S))

    def answer(self, item: str, value: int, seq: int, recommendation: int | None = None) -> requests.Response:
        """Save one answer the way the page's script does, numbered ``seq`` among this question's saves."""
        return self._record(self.http.post(
            f"{self.base}answer/",
            json={"item": item, "value": value, "recommendation": recommendation, "seq": seq},
            headers={"X-CSRFToken": self.csrf_token},
            timeout=REQUEST_TIMEOUT_S,
        ))

    def tab(self) -> "LiveParticipant":
        """Another tab of the same browser: same cookies, its own connection (a requests session is not thread-safe)."""
        return LiveParticipant(self.live_server_url, self.slug, self.http.cookies)


def all_at_once(work: Callable, arguments: Iterable) -> list:
    """Call ``work`` on each argument from its own thread, all released together; results in order.

    A barrier holds every thread until the last is ready, so the requests meet the
    server at the same moment rather than one after another as threads start.
    """
    arguments = list(arguments)
    start = threading.Barrier(len(arguments))

    def run(argument):
        try:
            start.wait(timeout=30)
            return work(argument)
        finally:
            connection.close()  # this thread's own connection, if it touched the ORM

    with ThreadPoolExecutor(max_workers=len(arguments)) as pool:
        return list(pool.map(run, arguments))


def statuses(participants: Iterable[LiveParticipant]) -> Counter:
    """How often each status code was answered, over all participants: the message when one is not 2xx or 3xx."""
    return Counter(code for participant in participants for code in participant.statuses)


def all_succeeded(participants: Iterable[LiveParticipant]) -> bool:
    """Every request ended 2xx; redirects on the way (3xx) are part of the flow."""
    return all(200 <= code < 400 for participant in participants for code in participant.statuses)
