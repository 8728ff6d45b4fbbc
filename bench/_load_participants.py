"""The participants of bench/load.py: pilot bots (study/bots.py) talking real HTTP to the server, each from its own
thread and address, and the clock that times every request they make."""
import random
import threading
import time

import requests


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


class Timings:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.polls: list[float] = []
        self.statuses: dict[int, int] = {}
        self.by_page: dict[str, list[float]] = {}

    def add(self, path: str, seconds: float, status: int, method: str = "GET") -> None:
        page = requests.utils.urlparse(path).path.rstrip("/").rsplit("/", 1)[-1] or "enter"
        with self.lock:
            (self.polls if path.endswith("/status/") else self.latencies).append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.by_page.setdefault(f"{method} {page}", []).append(seconds)

    def slowest_pages(self, n: int = 6) -> dict[str, float]:
        """p95 in ms of the pages (method and last path segment) slowest at their 95th percentile."""
        p95 = {page: percentile(times, 95) * 1000 for page, times in self.by_page.items() if len(times) >= 20}
        return {page: round(ms, 1) for page, ms in sorted(p95.items(), key=lambda kv: -kv[1])[:n]}


class HttpResponse:
    """What research.bots.Bot reads of a django.test.Client response, from a requests response."""

    def __init__(self, response: requests.Response):
        self._response = response
        self.status_code = response.status_code
        self.content = response.content
        self.request = {"PATH_INFO": requests.utils.urlparse(response.url).path}

    def json(self):
        return self._response.json()


class HttpClient:
    """A participant's browser over real HTTP, with the django.test.Client calls a bot makes."""

    def __init__(self, base_url: str, address: str, language: str, timings: Timings, think_s: float = 0.0,
                 rng: random.Random | None = None):
        self.base_url, self.timings, self.think_s, self.rng = base_url, timings, think_s, rng or random.Random()
        self.http = requests.Session()
        self.http.headers.update({"X-Forwarded-For": address, "Accept-Language": language, "Origin": base_url,
                                  "Referer": base_url + "/"})

    @property
    def cookies(self):
        return {name: type("Morsel", (), {"value": value})() for name, value in self.http.cookies.items()}

    def _send(self, method: str, path: str, *, follow: bool = False, **kwargs) -> HttpResponse:
        url = path if path.startswith("http") else self.base_url + path
        started = time.perf_counter()
        response = self.http.request(method, url, allow_redirects=False, timeout=60, **kwargs)
        self.timings.add(url, time.perf_counter() - started, response.status_code, method)
        while follow and response.is_redirect:
            started = time.perf_counter()
            response = self.http.get(requests.compat.urljoin(response.url, response.headers["Location"]),
                                     allow_redirects=False, timeout=60)
            self.timings.add(response.url, time.perf_counter() - started, response.status_code)
        return HttpResponse(response)

    def get(self, path, data=None, follow=False, headers=None):
        return self._send("GET", path, params=data, follow=follow, headers=headers)

    def think(self) -> None:
        """A person reads, listens and decides between actions (uniform around the mean think time)."""
        if self.think_s:
            time.sleep(self.rng.uniform(0.5, 1.5) * self.think_s)

    def post(self, path, data=None, content_type=None, follow=False, headers=None):
        if not path.endswith("/listen/"):  # the player's events are not decisions
            self.think()
        if content_type == "application/json":
            return self._send("POST", path, data=data, follow=follow,
                              headers={**(headers or {}), "Content-Type": content_type})
        return self._send("POST", path, data=data, follow=follow, headers=headers)


def make_bot_class():
    from django.db import connections

    from research.bots import Bot

    class LoadBot(Bot):
        """A bot that keeps no database connection of the load generator open while it waits on the server,
        and remembers every answer it gave (field -> last value)."""

        titles: list[str] = []

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            connections.close_all()
            self.given: dict[str, int] = {}
            self.wait_s: float | None = None

        def catalog_titles(self):
            return self.titles

        def arrived(self):
            super().arrived()
            connections.close_all()

        def value(self, field_name, values):
            chosen = super().value(field_name, values)
            self.given[field_name] = chosen  # answer() saves tries in order; the last one is this
            return chosen

        def wait(self, reader, *, leave=False):
            """Poll as the waiting page's script does: after half a second, then every second."""
            started = time.monotonic()
            time.sleep(0.5)
            while time.monotonic() - started < self.poll_timeout_s:
                state = self.client.get(self._url("status")).json()
                if state.get("ready"):
                    self.wait_s = time.monotonic() - started
                    return self.client.get(state["next"], follow=True)
                if state.get("failed"):
                    raise RuntimeError(f"recommendations failed: {state.get('progress')}")
                time.sleep(1.0)
            raise RuntimeError(f"recommendations not ready after {self.poll_timeout_s:.0f} s")

        def run(self):
            try:
                return super().run()
            finally:
                connections.close_all()

    return LoadBot
