"""Pilot bots: simulated participants who take a study through its real pages, like oTree's bots.

Each bot is a browser (django.test.Client: every request passes the whole middleware
stack, CSRF checks included) that reads each page's HTML for what it asks, answers by
a pattern (careful, random or straightline), plays clips, and sometimes leaves midway.
The server leads: the bot acts on whichever page it is sent to, so a change to the
journey needs no change here. Bots are marked pilot as they arrive, and exports leave
pilot participants out unless asked.
"""
from __future__ import annotations

import json
import random
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.test import Client
from django.urls import resolve, reverse
from django.utils import timezone

from recommender.models import Track
from research.bot_pages import PageReader
from research.bot_tests import TakesTests
from study import flow
from study.models import Item, Participant, Study
from study.questionnaires import MANIPULATION_ANSWER
from study.services.listening import RATE_LIMIT, RATE_WINDOW

PATTERNS = ("careful", "random", "straightline")
Page = Participant.Page
#: Pages a bot may leave on: any before the end.
LEAVABLE = [page for page in flow.FLOW if page != Page.DONE]
#: What the rate page's figures show, read back as the condition's explanation (for the manipulation check).
SEEN = {
    frozenset(): "none", frozenset({"features"}): "features", frozenset({"spectrogram"}): "spectrogram",
    frozenset({"features", "spectrogram"}): "both", frozenset({"tags"}): "tags",
}


class BotError(RuntimeError):
    """The study did something a participant could not get past; the message says what and where."""


@dataclass
class BotResult:
    number: int
    prolific_pid: str
    pattern: str
    participant_id: int | None = None
    condition: str = ""
    page: str = ""  # where the bot ended
    left_on: str = ""  # the page it chose to leave on ("" if it meant to finish)
    answers: int = 0
    error: str = ""

    @property
    def completed(self) -> bool:
        return self.page == Page.DONE


@dataclass
class BotRun:
    results: list[BotResult] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)  # the study's active conditions

    @property
    def by_condition(self) -> Counter:
        return Counter(r.condition for r in self.results if r.condition)

    @property
    def missed_conditions(self) -> list[str]:
        """Active conditions no bot reached (expected only with fewer bots than conditions, or dropouts)."""
        return [slug for slug in self.conditions if not self.by_condition[slug]]

    def count(self, what: str) -> int:
        return sum(1 for r in self.results if {
            "completed": r.completed, "left": bool(r.left_on) and not r.error, "failed": bool(r.error),
        }[what])

    def summary(self) -> str:
        balance = ", ".join(f"{slug}: {self.by_condition[slug]}" for slug in self.conditions)
        return (
            f"{len(self.results)} bots: {self.count('completed')} completed, {self.count('left')} left midway, "
            f"{self.count('failed')} failed; by condition {balance}"
        )


def _host() -> str:
    hosts = [h.lstrip(".") for h in settings.ALLOWED_HOSTS if h not in ("*", "")]
    return hosts[0] if hosts else "localhost"


def participant_mark_pilot(*, study: Study, prolific_pid: str) -> int:
    """Mark the participant with this Prolific id as a pilot (simulated) participant."""
    return Participant.objects.filter(study=study, prolific_pid=prolific_pid).update(is_pilot=True)


def participant_mark_left(*, study: Study, prolific_pid: str) -> int:
    """Record that this pilot participant left midway on purpose: the monitor counts it as dropped out at once,
    instead of after an hour of silence as it must for a person."""
    return Participant.objects.filter(study=study, prolific_pid=prolific_pid, is_pilot=True).update(
        left_at=timezone.now())


class Bot(TakesTests):
    """One simulated participant."""

    error = BotError

    def __init__(self, study: Study, number: int, *, pattern: str, rng: random.Random, leave_on: str = "",
                 listen_s: float = 0.0, poll_timeout_s: float = 120.0, client=None,
                 test_accuracy: dict[str, tuple[float, float]] | None = None):
        """``client``: the browser; by default a django.test.Client, or anything with its get/post/cookies
        over real HTTP (bench/load.py sends bots to a running server). ``test_accuracy``: per condition, how often
        the bot's understanding-test answers agree with the model (pre-test, post-test); guessing by default."""
        self.study, self.rng, self.listen_s, self.poll_timeout_s = study, rng, listen_s, poll_timeout_s
        self.test_accuracy = test_accuracy or {}
        self.result = BotResult(number=number, prolific_pid=secrets.token_hex(12), pattern=pattern, left_on=leave_on)
        self.items = {item.code: item for item in Item.objects.filter(study=study)}
        self.language = rng.choice([code for code, _name in settings.LANGUAGES])
        scales = [set(item.scale) for item in self.items.values()]
        common = sorted(set.intersection(*scales)) if scales else []
        self.constant = rng.choice(common) if common else 4  # the straightliner's one answer
        self.attitude = rng.uniform(0.2, 0.9)  # where on each scale the careful bot tends to answer
        self.seen = "none"
        self.events: deque[float] = deque()
        scheme, defaults = "http", {"HTTP_HOST": _host(), "HTTP_ACCEPT_LANGUAGE": self.language}
        if settings.SECURE_SSL_REDIRECT and settings.SECURE_PROXY_SSL_HEADER:
            header, value = settings.SECURE_PROXY_SSL_HEADER
            scheme, defaults[header] = "https", value  # as the proxy in front of a deployment says
        self.client = client or Client(enforce_csrf_checks=True, headers={"Origin": f"{scheme}://{_host()}"}, **defaults)

    # HTTP -----------------------------------------------------------------------------------

    def _url(self, page: str) -> str:
        """The address of one of the study's pages (its URL name: study.urls), as a participant's browser has it."""
        return reverse(f"study:{page}", args=[self.study.slug])

    def _page(self, response) -> str:
        if response.status_code >= 400:
            raise BotError(f"HTTP {response.status_code} at {response.request['PATH_INFO']}")
        return resolve(response.request["PATH_INFO"]).url_name

    def _csrf(self, reader: PageReader) -> dict:
        token = reader.csrf or (self.client.cookies["csrftoken"].value if "csrftoken" in self.client.cookies else "")
        return {"X-CSRFToken": token}

    def _json(self, page: str, payload: dict, reader: PageReader):
        return self.client.post(
            self._url(page), json.dumps(payload), content_type="application/json",
            headers={**self._csrf(reader), "Accept": "application/json"},
        )

    def _listen(self, reader: PageReader, track: int, event: str, position: float) -> None:
        """One player event, paced below the server's flood limit as a person's player is."""
        now = time.monotonic()
        while self.events and now - self.events[0] > RATE_WINDOW.total_seconds():
            self.events.popleft()
        if len(self.events) >= RATE_LIMIT - 1:
            time.sleep(RATE_WINDOW.total_seconds() - (now - self.events[0]) + 0.05)
        self.events.append(time.monotonic())
        response = self.client.post(self._url("listen"), {
            "track": track, "event": event, "position": f"{position:.2f}", "listened": f"{position:.2f}",
            "csrfmiddlewaretoken": reader.csrf,
        })
        if response.status_code != 200:
            raise BotError(f"player event {event} refused ({response.status_code}): {response.content[:200]!r}")

    # Answers --------------------------------------------------------------------------------

    def instructed(self) -> dict:
        """What the attention checks asked this bot for (a careful bot reads it on the page; this one asks)."""
        return Participant.objects.filter(study=self.study, prolific_pid=self.result.prolific_pid).values_list(
            "instructed", flat=True).first() or {}

    def value(self, field_name: str, values: list[int]) -> int:
        code, _sep, _recommendation = field_name.partition("__")
        item = self.items.get(code)
        pattern = self.result.pattern
        if pattern == "straightline":
            return min(values, key=lambda v: (abs(v - self.constant), v))
        if pattern == "random" or item is None:
            return self.rng.choice(values)
        if item.check_kind == Item.Check.ATTENTION:
            instructed = item.correct_value if item.correct_value is not None else self.instructed().get(code)
            if instructed in values:
                return instructed
        if item.check_kind == Item.Check.MANIPULATION:
            return MANIPULATION_ANSWER[self.seen]
        if item.kind == Item.Kind.CHOICE:
            return self.rng.choice(values)
        low, high = min(values), max(values)
        position = min(1.0, max(0.0, self.attitude + self.rng.gauss(0, 0.12)))
        value = round(low + position * (high - low))
        return low + high - value if item.reverse_coded else value

    def answer(self, reader: PageReader, *, fraction: float = 1.0):
        """Answer the page's questions one by one as the page's script saves them, then submit the page."""
        questions = list(reader.questions.items())
        if fraction < 1:
            questions = questions[: int(len(questions) * fraction)]
        chosen = {}
        for name, values in questions:
            code, _sep, recommendation = name.partition("__")
            seq = reader.seqs.get(name, 0)
            final = self.value(name, values)
            # Now and then a participant changes their mind; only the last choice may stay.
            tries = [self.rng.choice(values), final] if self.rng.random() < 0.15 else [final]
            for value in tries:
                seq += 1
                response = self._json("answer", {
                    "item": code, "value": value, "seq": seq,
                    "recommendation": int(recommendation) if recommendation else None,
                }, reader)
                if response.status_code != 200 or not response.json().get("saved"):
                    raise BotError(f"answer {name}={value} not saved ({response.status_code}): {response.content[:200]!r}")
            chosen[name] = final
        if fraction < 1:
            return None
        return self.client.post(self._url(self.current), {**chosen, "csrfmiddlewaretoken": reader.csrf}, follow=True)

    # Pages ----------------------------------------------------------------------------------

    def consent(self, reader):
        return self.client.post(self._url("consent"), {"consent": "yes", "csrfmiddlewaretoken": reader.csrf},
                                follow=True)

    def instructions(self, reader):
        return self.client.post(self._url("instructions"), {"csrfmiddlewaretoken": reader.csrf}, follow=True)

    def pre(self, reader):
        return self.answer(reader)

    def choose(self, reader, *, leave: bool = False):
        titles = self.catalog_titles()
        query = self.rng.choice(self.rng.choice(titles).split()) if titles else ""
        found = PageReader(self.client.get(self._url("choose"), {"q": query}).content.decode())
        tracks = list(dict.fromkeys(found.tracks + reader.tracks))
        if not tracks:
            raise BotError("the choose page lists no tracks")
        n = self.rng.randint(self.study.min_liked, self.study.max_liked)
        liked = self.rng.sample(tracks, min(n, len(tracks)))
        self._listen(found, liked[0], "play", 0.0)
        self._listen(found, liked[0], "pause", self.rng.uniform(1, 8))
        for track in liked[: 1 if leave else None]:
            response = self.client.post(
                self._url("choose"), {"action": "like", "track": track, "q": query, "csrfmiddlewaretoken": found.csrf},
                headers={"Accept": "application/json"},
            )
            if response.status_code != 200:
                raise BotError(f"liking track {track} refused ({response.status_code}): {response.content[:200]!r}")
        if leave:
            return None
        return self.client.post(self._url("choose"), {"action": "continue", "csrfmiddlewaretoken": found.csrf},
                                follow=True)

    def catalog_titles(self) -> list[str]:
        """What a participant might type into the search box."""
        return list(Track.objects.filter(catalog=self.study.catalog_id, status=Track.Status.ANALYSED)
                    .values_list("title", flat=True))

    def wait(self, reader, *, leave: bool = False):
        if leave:
            return None
        deadline = time.monotonic() + self.poll_timeout_s
        while time.monotonic() < deadline:
            state = self.client.get(self._url("status")).json()
            if state.get("ready"):
                return self.client.get(state["next"], follow=True)
            if state.get("failed"):
                raise BotError(f"recommendations failed: {state.get('progress')}")
            time.sleep(0.2)
        raise BotError(f"recommendations not ready after {self.poll_timeout_s:.0f} s")

    def rate(self, reader, *, fraction: float = 1.0):
        self.seen = SEEN.get(frozenset(reader.explanations & {"features", "spectrogram", "tags"}), "none")
        # Start every clip, listen (for real: the server times it), then pause each where it got to.
        for track in reader.recommended:
            self._listen(reader, track, "play", 0.0)
        if self.listen_s:
            time.sleep(self.listen_s)
        for track in reader.recommended:
            heard = self.listen_s or self.rng.uniform(0.5, 3.0)
            self._listen(reader, track, "progress", heard)
            self._listen(reader, track, "pause", heard)
        return self.answer(reader, fraction=fraction)

    def questionnaire(self, reader, *, fraction: float = 1.0):
        return self.answer(reader, fraction=fraction)

    def leave(self, reader):
        """Do part of the page, then close the tab."""
        if self.current in (Page.PRE, Page.RATE, Page.QUESTIONNAIRE, Page.PRETEST, Page.POSTTEST):
            getattr(self, self.current)(reader, **({"fraction": self.rng.random()} if self.current != Page.PRE else {}))
        elif self.current in (Page.CHOOSE, Page.WAIT):
            getattr(self, self.current)(reader, leave=True)

    # The journey ----------------------------------------------------------------------------

    def arrived(self) -> None:
        """The bot's participant exists: mark it as a pilot."""
        participant_mark_pilot(study=self.study, prolific_pid=self.result.prolific_pid)

    def run(self) -> BotResult:
        result = self.result
        try:
            response = self.client.get(self._url("enter"), {
                "PROLIFIC_PID": result.prolific_pid, "STUDY_ID": "pilot-bots", "SESSION_ID": secrets.token_hex(12),
                "lang": self.language,
            }, follow=True)
            self.current = self._page(response)
            self.arrived()
            visited = Counter()
            while self.current not in (Page.DONE, Page.DECLINED):
                reader = PageReader(response.content.decode())
                visited[self.current] += 1
                if visited[self.current] > 3:
                    raise BotError(f"stuck on the {self.current} page")
                if self.current == result.left_on:
                    self.leave(reader)
                    participant_mark_left(study=self.study, prolific_pid=result.prolific_pid)
                    break
                response = getattr(self, self.current)(reader)
                self.current = self._page(response)
        except Exception as error:  # a pilot reports every failure, whatever its kind, and goes on
            result.error = f"{error.__class__.__name__}: {error}"
        participant = (
            Participant.objects.filter(study=self.study, prolific_pid=result.prolific_pid)
            .select_related("assignment__condition").first()
        )
        if participant is not None:
            result.participant_id, result.page = participant.pk, participant.page
            result.condition = participant.condition.slug if participant.condition else ""
            result.answers = participant.responses.count()
        return result


def bots_run(
    *, study: Study, n: int, dropout: float = 0.0, pattern: str = "careful", seed: int | None = None,
    listen_s: float | None = None, poll_timeout_s: float = 120.0, progress: Callable[[BotResult], None] | None = None,
    test_accuracy: dict[str, tuple[float, float]] | None = None,
) -> BotRun:
    """Send ``n`` simulated participants through the study, one after another; ``dropout`` of them leave midway.

    ``pattern`` is how they answer (or "mixed": each bot draws one). ``listen_s``: seconds each bot
    really listens to its recommendations (default: the study's required listening time). ``test_accuracy``:
    per condition slug, (pre-test, post-test) share of understanding-test answers that agree with the model.
    """
    if pattern not in (*PATTERNS, "mixed"):
        raise ValueError(f"unknown pattern {pattern!r}; one of {', '.join(PATTERNS)} or mixed")
    if not 0 <= dropout <= 1:
        raise ValueError("dropout is a share between 0 and 1")
    rng = random.Random(seed)
    listen = float(study.required_listening_s + 0.5 if listen_s is None and study.required_listening_s else listen_s or 0)
    run = BotRun(conditions=list(study.conditions.filter(is_active=True).values_list("slug", flat=True)))
    for number in range(1, n + 1):
        bot_rng = random.Random(rng.getrandbits(64))
        leave_on = bot_rng.choice(LEAVABLE) if bot_rng.random() < dropout else ""
        bot = Bot(
            study, number, rng=bot_rng, leave_on=leave_on, listen_s=listen, poll_timeout_s=poll_timeout_s,
            pattern=bot_rng.choice(PATTERNS) if pattern == "mixed" else pattern, test_accuracy=test_accuracy,
        )
        result = bot.run()
        run.results.append(result)
        if progress:
            progress(result)
    return run
