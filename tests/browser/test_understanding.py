"""The understanding tests in a real browser, on a phone: must-listen, keyboard answers, no explanation, the
score at the debrief, and the trials export holding exactly what was clicked."""
import pytest

from research.export import Options
from research.export_trials import trials_rows
from study.models import Item, Participant
from tests.browser.conftest import answer, csp_violations, like_from_search, wait_until
from tests.factories import make_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _hear(page, letter: str) -> None:
    """Play one candidate until its choice opens (the page's own gate: the required seconds and one more)."""
    index = "AB".index(letter)
    page.evaluate("i => document.querySelectorAll('audio[data-role=candidate]')[i].play()", index)
    wait_until(page, "i => !document.querySelectorAll('input[name=choice]')[i].disabled", index, timeout_s=20)
    page.evaluate("i => document.querySelectorAll('audio[data-role=candidate]')[i].pause()", index)


def _take_trial(page, letter: str, confidence: int) -> None:
    assert page.locator("input[name=choice]:disabled").count() == 2  # nothing to choose before listening
    assert page.locator(".explanation, .because-figure, [class*=explanation-]").count() == 0
    _hear(page, "A")
    _hear(page, "B")
    # Keyboard only: focus the option, Space chooses it; the confidence scale by arrow keys from its first point.
    page.focus(f"input[name=choice][value={'left' if letter == 'A' else 'right'}]")
    page.keyboard.press("Space")
    page.focus("input[name=confidence][value='1']")
    page.keyboard.press("Space")
    for _ in range(confidence - 1):
        page.keyboard.press("ArrowRight")
    page.click("#trial button[type=submit]")


def test_a_participant_takes_both_tests_on_a_phone_and_the_export_holds_what_was_clicked(
    chromium, live_server, demo_catalog, shots,
):
    study = make_study(
        demo_catalog, conditions=[("features", "features")], simulation_trials=2, n_recommendations=2,
        min_liked=1, max_liked=1, simulation_bands=[[0.01, 2.0]], required_listening_s=1,
    )
    context = chromium.new_context(viewport={"width": 360, "height": 780}, is_mobile=True, has_touch=True)
    page = context.new_page()
    blocked = csp_violations(page)
    base = f"{live_server.url}/s/{study.slug}"
    page.goto(f"{base}/?PROLIFIC_PID=phone-test&STUDY_ID=s&SESSION_ID=x")
    page.click("button[value=yes]")
    page.click("text=Start")
    for item in Item.objects.filter(study=study, section="pre"):
        answer(page, item.code, item.options[1][0])
    page.click("button[type=submit]")
    like_from_search(page, base, count=1)
    page.click("button[value=continue]")

    clicked = []
    for phase, url in (("pre", "test"), ("post", "test-again")):
        for position, (letter, confidence) in enumerate([("A", 4), ("B", 2)], start=1):
            page.wait_for_url(f"{base}/{url}/")
            assert f"Question {position} of 2" in page.inner_text("main")
            assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
            shots(page, f"{phase}-{position}")
            _take_trial(page, letter, confidence)
            clicked.append((phase, position, "left" if letter == "A" else "right", confidence))
        if phase == "pre":
            page.wait_for_url(f"{base}/rate/", timeout=60_000)
            participant = Participant.objects.get(prolific_pid="phone-test")
            for recommendation in participant.recommendations.all():
                page.evaluate("t => document.querySelector(`audio[data-track='${t}'][data-role=recommended]`).play()",
                              str(recommendation.track_id))
                wait_until(page, "t => !document.querySelector(`#rec-${t} .likert input`).disabled",
                           recommendation.rank, timeout_s=20)
                page.evaluate("() => document.querySelectorAll('audio').forEach(a => a.pause())")
                for item in Item.objects.filter(study=study, section="rating"):
                    answer(page, f"{item.code}__{recommendation.pk}", 3)
            page.click("form.answers button[type=submit]")

    page.wait_for_url(f"{base}/questionnaire/")
    for item in Item.objects.filter(study=study, section="questionnaire"):
        answer(page, item.code, item.options[0][0] if item.kind == "choice" else item.scale_min)
    page.click("form.answers button[type=submit]")
    page.wait_for_url(f"{base}/done/")
    shots(page, "done")
    rows = list(trials_rows(study, Options()))
    exported = [(r["phase"], r["trial"], r["choice"], r["confidence"]) for r in rows]
    assert exported == clicked
    right = {phase: sum(r["correct"] for r in rows if r["phase"] == phase) for phase in ("pre", "post")}
    score = page.inner_text(".test-score")
    assert f"in {right['pre']} of 2 questions" in score and f"you picked it in {right['post']} of 2 questions" in score
    for row in rows:
        assert row["left_listened_s"] >= 1 and row["right_listened_s"] >= 1  # the server's count, not the page's
        assert row["client_ms"] != "" and row["response_ms"] >= row["client_ms"] * 0.5
    assert blocked == []
    context.close()
