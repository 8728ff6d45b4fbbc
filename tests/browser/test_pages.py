"""Single participant pages in a real browser: consent on a phone, choosing tracks, and the waiting page."""
import time

import pytest

from recommender import services as recommender_services
from recommender.models import Track
from study.models import Study
from study.services import recommending
from tests.browser.conftest import wait_until
from tests.factories import make_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_CONSENT = "\n\n".join(
    f"Paragraph {n}: your answers are stored without your name and used only for research on music "
    f"recommendation; you may stop at any time without giving a reason." for n in range(1, 16)
) + "\n\nLast line of the consent text."


def enter(chromium, live_server, study, pid, width=1280, height=900):
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    server_errors = []
    page.on("response", lambda r: r.status >= 500 and server_errors.append(f"{r.status} {r.request.method} {r.url}"))
    page.goto(f"{live_server.url}/s/{study.slug}/?PROLIFIC_PID={pid}&STUDY_ID=s&SESSION_ID=x")
    return context, page, server_errors


def to_choose(page, base):
    """Consent, instructions and the questions about you, as quickly as a participant can."""
    page.click("button[value=yes]")
    page.wait_for_url(f"{base}/instructions/")
    page.click("form.actions button[type=submit]")
    page.wait_for_url(f"{base}/about-you/")
    for fieldset in page.locator("fieldset[data-field]").all():
        fieldset.locator("input[type=radio]").first.check()
    wait_until(page, "!document.querySelector('fieldset.saving, fieldset.unsaved')")
    page.click("form.answers button[type=submit]")
    page.wait_for_url(f"{base}/choose/")


def test_the_whole_consent_text_is_readable_on_a_phone(chromium, live_server, demo_catalog, shots):
    """At 360 px the consent text sits on the page itself: no inner box clips it, its last line is in the document."""
    study = make_study(demo_catalog)
    Study.objects.filter(pk=study.pk).update(consent_text=LONG_CONSENT)
    context, page, server_errors = enter(chromium, live_server, study, "consent-phone", width=360, height=740)
    shots(page, "consent-360")
    text = page.locator(".consent-text")
    box = text.evaluate("e => ({scroll: e.scrollHeight, client: e.clientHeight})")
    assert box["scroll"] <= box["client"] + 1
    # No ancestor clips it either: each one is at least as tall as its content or lets it overflow.
    clipped = text.evaluate("""e => {
        for (let node = e; node; node = node.parentElement) {
            const style = getComputedStyle(node);
            if (['hidden', 'auto', 'scroll', 'clip'].includes(style.overflowY) && node.scrollHeight > node.clientHeight + 1
                && node !== document.documentElement && node !== document.body) return node.className || node.tagName;
        }
        return null;
    }""")
    assert clipped is None
    last = page.locator(".consent-text p").last
    assert "Last line" in last.inner_text()
    bottom = last.evaluate("e => e.getBoundingClientRect().bottom + window.scrollY")
    assert bottom <= page.evaluate("document.documentElement.scrollHeight")
    last.scroll_into_view_if_needed()
    assert last.is_visible()
    assert page.locator("button[value=yes]").is_visible()
    assert server_errors == []
    context.close()


@pytest.fixture
def big_catalog(db, memoised_audio_work):
    """Twenty-four analysed clips: more than one page of search results."""
    catalog, _ = recommender_services.catalog_create_demo(slug="bigger", per_style=4, seconds=4, seed=7)
    recommender_services.catalog_analyse(catalog=catalog)
    return catalog


def test_search_pages_reach_every_track_once(chromium, live_server, big_catalog, shots):
    """The match count is shown and the numbered pages list every analysed track exactly once."""
    study = make_study(big_catalog)
    analysed = set(Track.objects.filter(catalog=big_catalog, status=Track.Status.ANALYSED).values_list("pk", flat=True))
    assert len(analysed) > 20
    context, page, server_errors = enter(chromium, live_server, study, "pages", width=360)
    base = f"{live_server.url}/s/{study.slug}"
    to_choose(page, base)
    assert f"{len(analysed)} tracks match" in page.inner_text("#result-count")
    assert page.locator(".pagination").is_visible()
    shots(page, "choose-360")
    seen = []
    for n in range(1, page.locator(".pagination a, .pagination .current").count() + 1):
        if n > 1:
            page.click(f".pagination a:text-is('{n}')")
            page.wait_for_url(f"**page={n}")
        seen += [int(t) for t in page.locator("#results li[data-track]").evaluate_all("els => els.map(e => e.dataset.track)")]
        assert page.locator("#results li").count() <= 20
    assert sorted(seen) == sorted(analysed)
    page.set_viewport_size({"width": 1280, "height": 900})
    shots(page, "choose-1280-last-page")
    # A search narrows the count and the pages to what matches.
    page.fill("#q", "zzz-nothing")
    page.click("form[role=search] button")
    page.wait_for_url("**q=zzz-nothing*")
    assert "No track matches" in page.inner_text("#result-count")
    assert server_errors == []
    context.close()


def test_liking_a_track_keeps_the_clip_playing_and_the_scroll(chromium, live_server, demo_catalog, shots):
    """Like and remove go without a reload: the clip that plays goes on playing and the page stays where it was."""
    study = make_study(demo_catalog)
    context, page, server_errors = enter(chromium, live_server, study, "liker", width=1280, height=600)
    base = f"{live_server.url}/s/{study.slug}"
    to_choose(page, base)
    assert "12 tracks match" in page.inner_text("#result-count")
    track = page.locator("#results li[data-track]").nth(6)
    track.scroll_into_view_if_needed()
    audio = track.locator("audio")
    audio.evaluate("a => { a.loop = true; return a.play(); }")
    wait_until(page, "a => a.currentTime > 0.2 && !a.paused", arg=audio.element_handle())
    scroll = page.evaluate("window.scrollY")
    assert scroll > 0
    # The chosen list above grows, and the browser's scroll anchoring moves scrollY by just that much:
    # what matters is that the track under the pointer stays where it is on screen.
    on_screen = track.evaluate("e => e.getBoundingClientRect().top")
    stays = lambda: abs(track.evaluate("e => e.getBoundingClientRect().top") - on_screen) <= 1  # noqa: E731
    before = audio.evaluate("a => a.currentTime")

    track.locator("button[value=like]").click()
    wait_until(page, "document.querySelectorAll('#chosen-list li').length === 1")
    assert track.locator("button").get_attribute("aria-pressed") == "true"
    page.wait_for_timeout(300)
    state = audio.evaluate("a => ({paused: a.paused, time: a.currentTime})")
    assert not state["paused"]
    assert state["time"] != before  # still advancing (it may have looped)
    assert stays() and page.evaluate("window.scrollY") >= scroll
    shots(page, "liked-while-playing")

    track.locator("button[value=unlike]").click()
    wait_until(page, "document.querySelectorAll('#chosen-list li').length === 0")
    assert not audio.evaluate("a => a.paused")
    assert stays() and page.evaluate("window.scrollY") > 0
    assert page.locator("#continue").is_disabled()
    assert server_errors == []
    context.close()


def test_the_waiting_page_shows_progress_and_moves_on_by_itself(chromium, live_server, demo_catalog, monkeypatch, shots):
    """On the embedded default the job runs beside the request: the wait page comes at once, shows a bar, then the ratings."""
    study = make_study(demo_catalog, conditions=[("control", "none")])
    progress = recommending._progress

    def slow_progress(participant, **state):
        progress(participant, **state)
        time.sleep(0.6)  # a job that takes a few seconds, as drawing figures does

    monkeypatch.setattr(recommending, "_progress", slow_progress)
    context, page, server_errors = enter(chromium, live_server, study, "waiter", width=360)
    base = f"{live_server.url}/s/{study.slug}"
    to_choose(page, base)
    page.locator("#results button[value=like]").first.click()
    wait_until(page, "document.querySelectorAll('#chosen-list li').length === 1")

    started = time.monotonic()
    page.click("button[value=continue]")
    page.wait_for_url(f"{base}/wait/")
    assert time.monotonic() - started < 2.5, "the click returned before the job finished"
    assert page.locator("progress.job-progress").is_visible()
    wait_until(page, "document.querySelector('progress.job-progress').value >= 1")
    shots(page, "wait-360")
    assert "Step 4 of 6" in page.inner_text("#step")
    page.wait_for_url(f"{base}/rate/", timeout=30_000)
    assert page.locator("article.recommendation").count() == study.n_recommendations
    assert server_errors == []
    context.close()
