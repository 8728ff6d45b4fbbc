"""Whole participant journeys in a real browser, in every condition, with a reload and the back button."""
import re

import pytest

from research.export import long_rows
from study.models import Item, Participant
from tests.browser.conftest import answer, csp_violations, like_from_search, wait_until
from tests.factories import make_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONDITIONS = [("features", "features"), ("spectrogram", "spectrogram"), ("both", "both"), ("control", "none")]


@pytest.fixture
def study(demo_catalog):
    return make_study(demo_catalog, conditions=CONDITIONS)


@pytest.mark.parametrize(
    ("condition", "width"),
    [("features", 1280), ("spectrogram", 1280), ("both", 360), ("control", 360)],
)
def test_a_participant_completes_the_study_in_a_browser(chromium, live_server, study, condition, width, shots):
    study.conditions.exclude(slug=condition).update(is_active=False)
    context = chromium.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    blocked = csp_violations(page)  # the site runs under its own Content-Security-Policy, untouched
    base = f"{live_server.url}/s/{study.slug}"
    given = {}

    page.goto(f"{base}/?PROLIFIC_PID=browser-{condition}&STUDY_ID=s&SESSION_ID=x")
    shots(page, "1-consent")
    page.click("button[value=yes]")
    shots(page, "2-instructions")
    page.click("text=Start")
    shots(page, "3-about-you")
    for item in Item.objects.filter(study=study, section="pre"):
        value = item.options[1][0]
        answer(page, item.code, value)
        given[(item.code, "")] = value
    page.click("button[type=submit]")

    like_from_search(page, base, count=2)
    shots(page, "4-choose")
    page.click("button[value=continue]")

    page.wait_for_url(f"{base}/rate/", timeout=60_000)
    shots(page, "5-rate")
    participant = Participant.objects.get(prolific_pid=f"browser-{condition}")
    assert participant.condition.slug == condition
    figures = {"features": (5, 0), "spectrogram": (0, 5), "both": (5, 5), "control": (0, 0)}[condition]
    assert page.locator(".explanation-features").count() == figures[0]
    assert page.locator(".explanation-spectrogram").count() == figures[1]

    recommendations = list(participant.recommendations.all())
    items = list(Item.objects.filter(study=study, section="rating"))
    first = recommendations[0]
    # Keyboard: focus the first point of a scale and move along it with the arrow key.
    page.focus(f"input[name='{items[0].code}__{first.pk}'][value='1']")
    with page.expect_response(re.compile(r"/answer/$")):
        page.keyboard.press("ArrowRight")
    given[(items[0].code, first.rank)] = 2
    for recommendation in recommendations[:2]:
        for i, item in enumerate(items):
            if (item.code, recommendation.rank) not in given:
                answer(page, f"{item.code}__{recommendation.pk}", 3 + i)
                given[(item.code, recommendation.rank)] = 3 + i

    page.reload()  # mid-page: what was given is still there
    assert page.is_checked(f"input[name='{items[0].code}__{first.pk}'][value='2']")
    page.go_back()  # the back button leads back here, not to an earlier page
    page.wait_for_url(f"{base}/rate/")
    for recommendation in recommendations[2:]:
        for i, item in enumerate(items):
            answer(page, f"{item.code}__{recommendation.pk}", 5 - i)
            given[(item.code, recommendation.rank)] = 5 - i
    page.click("form.answers button[type=submit]")

    page.wait_for_url(f"{base}/questionnaire/")
    shots(page, "6-questionnaire")
    post = list(Item.objects.filter(study=study, section="questionnaire"))
    for n, item in enumerate(post):
        value = item.options[0][0] if item.kind == "choice" else item.scale_min + n % (item.scale_max - item.scale_min + 1)
        answer(page, item.code, value)
        given[(item.code, "")] = value
        if n == len(post) // 2:
            page.reload()
            assert page.is_checked(f"input[name='{item.code}'][value='{value}']")
    page.click("form.answers button[type=submit]")

    page.wait_for_url(f"{base}/done/")
    shots(page, "7-done")
    participant.refresh_from_db()
    assert page.inner_text("#completion-code") == participant.completion_code

    exported = {(row["item"], row["recommendation_rank"]): row["value"] for row in long_rows(study)}
    assert exported == given
    assert Participant.objects.count() == 1
    assert blocked == []
    context.close()


def test_an_outlined_passage_plays_on_the_liked_track_then_on_the_recommendation(
        chromium, live_server, study, monkeypatch, shots):
    """The spectrogram explanation's buttons: each outline heard, the liked track's passage first, then the
    recommendation's, each stopping at the outline's end."""
    monkeypatch.setattr("explanations.regions.REGION_MIN_SIMILARITY", -1.0)  # every pair outlines something
    study.conditions.exclude(slug="spectrogram").update(is_active=False)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    base = f"{live_server.url}/s/{study.slug}"
    page.goto(f"{base}/?PROLIFIC_PID=browser-passages&STUDY_ID=s&SESSION_ID=x")
    page.click("button[value=yes]")
    page.click("text=Start")
    for item in Item.objects.filter(study=study, section="pre"):
        answer(page, item.code, item.options[1][0])
    page.click("button[type=submit]")
    like_from_search(page, base)
    page.click("button[value=continue]")
    page.wait_for_url(f"{base}/rate/", timeout=60_000)

    card = page.locator(".recommendation").first
    button = card.locator("button.passage").first
    liked, recommended = (
        [float(v) for v in button.get_attribute(f"data-{role}").split(",")] for role in ("liked", "recommended")
    )
    shots(page, "passages")
    button.click()
    players = {role: card.locator(f"audio[data-role={role}]").element_handle() for role in ("liked", "recommended")}
    wait_until(page, "a => !a.paused", arg=players["liked"])
    assert players["liked"].evaluate("a => a.currentTime") >= liked[0] - 0.05
    # The liked passage ends where its outline ends; then the recommendation's passage plays.
    wait_until(page, "a => !a.paused", arg=players["recommended"], timeout_s=liked[1] - liked[0] + 10)
    assert players["liked"].evaluate("a => a.paused")
    assert liked[1] - 0.05 <= players["liked"].evaluate("a => a.currentTime") <= liked[1] + 0.6
    assert players["recommended"].evaluate("a => a.currentTime") >= recommended[0] - 0.05
    wait_until(page, "a => a.paused", arg=players["recommended"], timeout_s=recommended[1] - recommended[0] + 10)
    assert recommended[1] - 0.05 <= players["recommended"].evaluate("a => a.currentTime") <= recommended[1] + 0.6
    context.close()


def test_the_gallery_plays_an_outlined_passage_of_each_pair(chromium, live_server, study, monkeypatch, django_user_model):
    """The researcher hears in the gallery what a participant would: an outline's button plays the liked
    passage; a click on a spectrogram plays that clip from there."""
    monkeypatch.setattr("explanations.regions.REGION_MIN_SIMILARITY", -1.0)  # every pair outlines something
    django_user_model.objects.create_superuser("lead", "lead@example.org", "a long researcher password")
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    blocked = csp_violations(page)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "lead")
    page.fill("#id_password", "a long researcher password")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/study/study/{study.pk}/gallery/?n=1")
    row = page.locator(".gallery-pair").first
    liked = row.locator("audio[data-role=liked]").element_handle()
    button = row.locator("button.passage").first
    start = float(button.get_attribute("data-liked").split(",")[0])
    button.click()
    wait_until(page, "a => !a.paused", arg=liked)
    assert liked.evaluate("a => a.currentTime") >= start - 0.05
    liked.evaluate("a => a.pause()")
    recommended = row.locator("audio[data-role=recommended]").element_handle()
    plot = row.locator(".panel[data-panel=recommended] .plot").first
    box = plot.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    wait_until(page, "a => !a.paused", arg=recommended)
    assert blocked == []
    context.close()
