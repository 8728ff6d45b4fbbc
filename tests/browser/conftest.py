"""Debian's Chromium driven by Playwright against pytest-django's live server (no browser download)."""
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
# As root in a container Chromium needs --no-sandbox; the rest keep it off this machine's closed network.
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_INTEGRATION") == "1":
            pytest.fail(f"Chromium not found at {CHROMIUM} (Debian package chromium)")
        pytest.skip("Chromium is not installed (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the test's own ORM
    # calls are still plain synchronous code, so Django's async guard is lifted for them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(request):
    """Save a screenshot of a page as a test artefact: shots(page, "consent")."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        page.screenshot(path=ARTIFACTS / f"{request.node.name}-{name}.png", full_page=True)

    return take


def wait_until(page, expression: str, arg=None, timeout_s: float = 30.0) -> None:
    """Poll a JavaScript expression (or function of ``arg``) until it is truthy.

    Playwright's wait_for_function evaluates its string with eval() inside the page, which the site's
    Content-Security-Policy (rightly) forbids; page.evaluate goes through the DevTools protocol instead,
    so the policy stays in force for everything the site itself runs.
    """
    import time

    deadline = time.monotonic() + timeout_s
    script = expression if arg is not None else f"() => ({expression})"
    while time.monotonic() < deadline:
        if page.evaluate(script, arg) if arg is not None else page.evaluate(script):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"still false after {timeout_s:.0f} s: {expression}")


def csp_violations(page) -> list[str]:
    """Collect the console's Content-Security-Policy complaints: the site must cause none."""
    found: list[str] = []
    page.on("console", lambda message: "Content Security Policy" in message.text and found.append(message.text))
    return found


def answer(page, name, value) -> None:
    """Click one radio and wait until the page has saved it."""
    import re

    with page.expect_response(re.compile(r"/answer/$")) as saved:
        page.check(f"input[name='{name}'][value='{value}']")
    assert saved.value.ok, saved.value.text()


def like_from_search(page, base: str, count: int = 1, query: str = "a") -> None:
    """On the choose page: search, and like the first ``count`` results, each saved before the next
    (its button turns into "Chosen ✓")."""
    page.wait_for_url(f"{base}/choose/")
    page.fill("#q", query)
    page.click("form[role=search] button")
    for n in range(1, count + 1):
        page.locator("#results button[value=like]").first.click()
        wait_until(page, f"document.querySelectorAll('#chosen-list li').length === {n}")
