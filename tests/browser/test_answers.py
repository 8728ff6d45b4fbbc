"""Answers given the way people give them: each changed several times quickly, by mouse and by arrow keys,
a reload in the middle, a slow and failing network; the export holds exactly what the screen showed."""
import contextlib
import random
import re

import pytest

from research.export import long_rows
from study.models import Participant
from tests.browser.conftest import wait_until
from tests.factories import make_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANSWER_URL = re.compile(r"/answer/$")
# Marks the failures this test makes up itself, so that only the server's own count as 5xx.
INJECTED = "x-test-injected"


@pytest.fixture
def study(demo_catalog):
    return make_study(demo_catalog, conditions=[("control", "none")])


class FlakyNetwork:
    """Holds back answer requests and lets them through later in reverse order; some fail with 503.

    Every fifth request never reaches the server (503); every seventh reaches it but its
    response is lost (503 after the server stored it); the rest are held until ``release``.
    """

    def __init__(self, page):
        self.held, self.count = [], 0
        page.route("**/answer/", self.handle)

    def handle(self, route):
        self.count += 1
        if self.count % 5 == 0:
            route.fulfill(status=503, headers={INJECTED: "1"}, body="{}")
        elif self.count % 7 == 0:
            # The request reaches the server, its answer is lost. Bounded: a fetch that stalls (a busy live
            # server) must not hold Playwright's dispatcher, and so the whole test, for ever.
            with contextlib.suppress(Exception):
                route.fetch(timeout=15_000)
            route.fulfill(status=503, headers={INJECTED: "1"}, body="{}")
        else:
            self.held.append(route)

    def release(self):
        """Let every held request through, the newest first."""
        held, self.held = self.held[::-1], []
        for route in held:
            with contextlib.suppress(Exception):
                route.continue_()


def on_screen(page) -> dict[str, int]:
    """The value each question shows as chosen, read from the checked radios."""
    return page.eval_on_selector_all(
        "form.answers input[type=radio]:checked", "els => Object.fromEntries(els.map(e => [e.name, Number(e.value)]))"
    )


def question_names(page) -> list[str]:
    return page.eval_on_selector_all("form.answers fieldset[data-field]", "els => els.map(e => e.dataset.field)")


def change_quickly(page, names, rng, network=None):
    """Change each answer several times: clicks that do not wait for the saves, then arrow keys."""
    for name in names:
        radios = page.locator(f"input[name='{name}']")
        n = radios.count()
        for _ in range(3):
            radios.nth(rng.randrange(n)).click()
        page.focus(f"input[name='{name}']:checked")
        for key in rng.sample(["ArrowRight", "ArrowLeft", "ArrowRight", "ArrowRight"], 3):
            page.keyboard.press(key)
        if network and rng.random() < 0.3:
            network.release()


def answer_page(page, rng, next_url, reload=False, network=None, shot=None) -> dict[str, int]:
    """Answer every question on the page, reloading halfway if asked; returns what the screen showed at submit."""
    names = question_names(page)
    half = len(names) // 2
    change_quickly(page, names[: half + 1], rng, network)
    if reload:
        page.reload()  # right after the burst: saves are still travelling
        page.wait_for_selector("form.answers")
        if network:
            network.release()  # requests of the page that has gone arrive late, after newer ones
    change_quickly(page, names[half:], rng, network)
    change_quickly(page, rng.sample(names, 3), rng, network)
    shown = on_screen(page)
    assert set(shown) == set(names), "every question shows an answer"
    if shot:
        shot()
    page.click("form.answers button[type=submit]")
    if network:
        # The page holds its submit until every answer is saved, then submits by itself.
        while not page.url.endswith(next_url):
            network.release()
            page.wait_for_timeout(200)
    page.wait_for_url(f"**{next_url}", timeout=30_000)
    return shown


def take_part(chromium, live_server, study, pid, width, rng, shots, language=None, slow=False) -> dict:
    context = chromium.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    server_errors = []
    page.on(
        "response",
        lambda r: r.status >= 500 and not r.headers.get(INJECTED) and server_errors.append(f"{r.status} {r.url}"),
    )
    network = FlakyNetwork(page) if slow else None
    base = f"{live_server.url}/s/{study.slug}"
    entry = f"{base}/?PROLIFIC_PID={pid}&STUDY_ID=s&SESSION_ID=x" + (f"&lang={language}" if language else "")

    page.goto(entry)
    page.click("button[value=yes]")
    page.wait_for_url(f"{base}/instructions/")
    page.click("form.actions button[type=submit]")  # "Start"
    page.wait_for_url(f"{base}/about-you/")
    if language:
        assert page.get_attribute("html", "lang") == language
    shown = answer_page(page, rng, "/choose/", network=network)

    for n in (1, 2):
        page.locator("#results button[value=like]").first.click()
        wait_until(page, f"document.querySelectorAll('#chosen-list li').length === {n}")
    page.click("button[value=continue]")
    page.wait_for_url(f"{base}/rate/", timeout=60_000)
    shown |= answer_page(
        page, rng, "/questionnaire/", reload=True, network=network, shot=lambda: shots(page, f"{pid}-rate")
    )
    shots(page, f"{pid}-questionnaire")
    shown |= answer_page(page, rng, "/done/", reload=True, network=network)
    assert page.inner_text("#completion-code")
    if network:
        network.release()
    context.close()
    assert server_errors == []

    participant = Participant.objects.get(study=study, prolific_pid=pid)
    ranks = {str(r.pk): r.rank for r in participant.recommendations.all()}

    def key(name):
        code, _, recommendation = name.partition("__")
        return code, ranks[recommendation] if recommendation else ""

    return {key(name): value for name, value in shown.items()}


def test_the_export_holds_the_last_answer_each_participant_saw(chromium, live_server, study, shots):
    """Three people answer in a hurry, on a desktop, on a German phone and on a flaky network: the export equals their screens."""
    rng = random.Random(11)
    screens = {
        "quick-mouse": take_part(chromium, live_server, study, "quick-mouse", 1280, rng, shots),
        "phone-de": take_part(chromium, live_server, study, "phone-de", 360, rng, shots, language="de"),
        "flaky-net": take_part(chromium, live_server, study, "flaky-net", 1280, rng, shots, slow=True),
    }
    exported = {pid: {} for pid in screens}
    for row in long_rows(study):
        exported[row["prolific_pid"]][row["item"], row["recommendation_rank"]] = row["value"]
    for pid, shown in screens.items():
        assert len(shown) == 4 + 5 * 3 + 16 + 2  # pre, ratings, the default scales' items, two checks
        assert exported[pid] == shown, pid


def test_a_stale_tab_never_puts_back_an_older_answer_over_a_newer_one(chromium, live_server, study, shots):
    """One participant, two tabs on the same page: tab 1 chooses an age band, tab 2 then another; tab 1, still
    showing its own choice, is submitted. The page comes back with the newer answer shown and the question
    named, nothing of tab 1's submit is stored, and once the participant submits what they now see it goes on."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    first = context.new_page()
    base = f"{live_server.url}/s/{study.slug}"
    first.goto(f"{base}/?PROLIFIC_PID=two-tabs&STUDY_ID=s&SESSION_ID=x")
    first.click("button[value=yes]")
    first.wait_for_url(f"{base}/instructions/")
    first.click("form.actions button[type=submit]")
    first.wait_for_url(f"{base}/about-you/")
    second = context.new_page()
    second.goto(f"{base}/about-you/")

    def saved(page, name):
        wait_until(page, f"document.querySelector(\"fieldset[data-field='{name}']\").classList.contains('saved')")

    first.check("input[name=age_band][value='2']")
    saved(first, "age_band")
    second.check("input[name=age_band][value='4']")
    saved(second, "age_band")
    for name in [n for n in question_names(first) if n != "age_band"]:
        first.locator(f"input[name='{name}']").first.check()
        saved(first, name)
    assert on_screen(first)["age_band"] == 2
    first.click("form.answers button[type=submit]")
    first.wait_for_load_state()
    shots(first, "stale-tab")
    assert first.url.endswith("/about-you/")
    assert "answered differently in another tab or window" in first.inner_text("body")
    assert on_screen(first)["age_band"] == 4  # the newer answer, shown
    participant = Participant.objects.get(study=study, prolific_pid="two-tabs")
    assert participant.page == "pre"
    assert participant.responses.get(item__code="age_band").value == 4

    first.click("form.answers button[type=submit]")  # what the participant now sees
    first.wait_for_url(f"{base}/choose/")
    assert participant.responses.get(item__code="age_band").value == 4
    context.close()
