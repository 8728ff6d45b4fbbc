"""Every participant page, in every condition and both languages, at a laptop's and a phone's width, checked with
axe-core (axe-playwright-python): no serious or critical finding, explanations included (they are text and SVG
drawn by the page, so a screen reader reads their words, not an alt text)."""

import pytest

from study.models import Condition, Item
from tests.browser.conftest import answer, like_from_search
from tests.factories import make_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 360)
CONDITIONS = [
    ("features", "features", Condition.Recommender.FEATURES),
    ("spectrogram", "spectrogram", Condition.Recommender.CNN),
    ("tags", "tags", Condition.Recommender.TAGGER),
    ("control", "none", Condition.Recommender.FEATURES),
]


@pytest.fixture
def study(networked_catalog):
    return make_study(networked_catalog, conditions=[(slug, shows, 1, recommender) for slug, shows, recommender in CONDITIONS])


def serious_findings(page) -> list[str]:
    """axe-core's serious and critical violations on the page as shown, at each width, as readable lines."""
    from axe_playwright_python.sync_playwright import Axe

    found = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for violation in Axe().run(page).response["violations"]:
            if violation["impact"] in ("serious", "critical"):
                targets = [node["target"] for node in violation["nodes"]][:3]
                found.append(f"{page.url} at {width} px: {violation['id']} ({violation['impact']}) {targets}")
    return found


def walk(chromium, base, study, condition, language, shots) -> list[str]:
    """One participant in ``condition`` through the pages, axe-core on each; the first condition goes to the
    end, the others to the rate page, checked there only (the conditions differ in the explanations and nothing
    else)."""
    study.conditions.update(is_active=False)
    study.conditions.filter(slug=condition).update(is_active=True)
    context = chromium.new_context(locale={"en": "en-GB", "de": "de-DE"}[language], viewport={"width": 1280, "height": 900})
    page = context.new_page()
    findings = []
    pid = f"axe-{condition}-{language}"
    first = condition == CONDITIONS[0][0]

    def check(page) -> list[str]:
        return serious_findings(page) if first else []

    page.goto(f"{base}/?PROLIFIC_PID={pid}&STUDY_ID=s&SESSION_ID=x")
    assert page.locator("html").get_attribute("lang") == language
    findings += check(page)
    page.click("button[value=yes]")
    findings += check(page)
    page.click("button.primary")  # Start
    page.wait_for_url(f"{base}/about-you/")
    findings += check(page)
    for item in Item.objects.filter(study=study, section="pre"):
        answer(page, item.code, item.options[1][0])
    page.click("button[type=submit]")

    like_from_search(page, base)
    findings += check(page)
    page.click("button[value=continue]")

    page.wait_for_url(f"{base}/rate/", timeout=60_000)
    kinds = {"features": ".explanation-features", "spectrogram": ".explanation-spectrogram", "tags": ".explanation-tags"}
    if condition in kinds:
        assert page.locator(kinds[condition]).count() == 5
    findings += serious_findings(page)
    shots(page, f"rate-{condition}-{language}-360")
    if not first:
        context.close()
        return findings
    participant = study.participants.get(prolific_pid=pid)
    for recommendation in participant.recommendations.all():
        for item in Item.objects.filter(study=study, section="rating"):
            answer(page, f"{item.code}__{recommendation.pk}", item.scale_min)
    page.click("form.answers button[type=submit]")

    page.wait_for_url(f"{base}/questionnaire/")
    findings += serious_findings(page)
    for item in Item.objects.filter(study=study, section="questionnaire"):
        answer(page, item.code, item.options[0][0] if item.kind == "choice" else item.scale_min)
    page.click("form.answers button[type=submit]")
    page.wait_for_url(f"{base}/done/")
    findings += serious_findings(page)
    context.close()
    return findings


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_participant_page_is_free_of_serious_accessibility_findings(chromium, live_server, study, language, shots):
    """Every page in the first condition, and the rate page of every other one, in this language at both widths."""
    base = f"{live_server.url}/s/{study.slug}"
    findings = [line for condition, _, _ in CONDITIONS for line in walk(chromium, base, study, condition, language, shots)]
    assert findings == []


def test_the_declined_and_closed_pages_are_free_of_serious_accessibility_findings(chromium, live_server, demo_catalog):
    study = make_study(demo_catalog, conditions=[("features", "features")])
    context = chromium.new_context(locale="de-DE")
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{study.slug}/?PROLIFIC_PID=axe-declines&STUDY_ID=s&SESSION_ID=x")
    page.click("button[value=no]")
    findings = serious_findings(page)
    study.state = study.State.CLOSED
    study.save(update_fields=["state"])
    page.goto(f"{live_server.url}/s/{study.slug}/?PROLIFIC_PID=axe-late&STUDY_ID=s&SESSION_ID=x")
    findings += serious_findings(page)
    context.close()
    assert findings == []


def test_the_check_finds_what_a_screen_reader_would_miss(chromium):
    """The check itself: a picture with no text and an unlabelled button are found, so a clean page means clean."""
    page = chromium.new_page()
    page.set_content('<html lang="en"><body><main><img src="data:,"><button></button></main></body></html>')
    found = serious_findings(page)
    page.close()
    assert any("image-alt" in line for line in found) and any("button-name" in line for line in found)
