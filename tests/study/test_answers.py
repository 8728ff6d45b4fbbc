"""The stored answer is the last one the participant chose, whatever order the saves arrive in."""
import random

import pytest

from study import services
from study.models import Response
from tests.participants import ParticipantBrowser

pytestmark = pytest.mark.django_db(transaction=True)


def save(browser, item, value, seq, recommendation=None):
    body = {"item": item, "value": value, "seq": seq}
    if recommendation is not None:
        body["recommendation"] = recommendation
    return browser.client.post(browser.url("answer"), body, content_type="application/json")


@pytest.fixture
def on_pre(browser):
    browser.get()
    browser.consent_only()
    browser.post("instructions", {})
    return browser


def test_an_earlier_save_arriving_last_does_not_overwrite_a_later_one(on_pre):
    assert save(on_pre, "listening_hours", 5, seq=2).json() == {"saved": True, "value": 5, "seq": 2}
    # The first click's request arrives after the second's: it is ignored, and the page is told what stands.
    assert save(on_pre, "listening_hours", 3, seq=1).json() == {"saved": False, "value": 5, "seq": 2}
    assert Response.objects.get(item__code="listening_hours").value == 5


def test_saves_in_any_order_leave_the_highest_numbered_value(on_pre):
    chosen = [(seq, 1 + seq % 5) for seq in range(1, 21)]
    shuffled = random.Random(4).sample(chosen, len(chosen))
    for seq, value in shuffled:
        assert save(on_pre, "streaming_use", value, seq).status_code == 200
    assert Response.objects.get(item__code="streaming_use").value == chosen[-1][1]
    assert Response.objects.get(item__code="streaming_use").client_seq == 20


def test_a_repeated_request_is_answered_as_saved_and_changes_nothing(on_pre):
    first = save(on_pre, "age_band", 2, seq=7).json()
    again = save(on_pre, "age_band", 2, seq=7).json()
    assert first == again == {"saved": True, "value": 2, "seq": 7}
    assert Response.objects.filter(item__code="age_band").count() == 1


def test_a_reload_shows_the_stored_answer_and_its_number(on_pre):
    save(on_pre, "age_band", 3, seq=1_700_000_000_000)
    save(on_pre, "age_band", 1, seq=5)  # an older request
    html = on_pre.get("about-you").content.decode()
    assert 'data-field="age_band" data-seq="1700000000000"' in html
    assert 'name="age_band" value="3" checked' in html


@pytest.mark.parametrize(
    "value", [3.9, True, " 6 ", "6", 1e400, None, [3], {"v": 3}, "3.0"],
    ids=["float", "bool", "padded", "string", "huge", "null", "list", "object", "decimal-string"],
)
def test_a_value_that_is_not_an_integer_is_refused_not_coerced(on_pre, value):
    response = save(on_pre, "age_band", value, seq=1)
    assert response.status_code in (400, 422), response.content
    assert not Response.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b'{"item": "age_band", "value": Infinity, "seq": 1}', b'{"item": "age_band", "value": NaN, "seq": 1}',
     b"[" * 100_000 + b"]" * 100_000, b'"just a string"', b"\xff\xfe", b'{"item": "age_band", "value": 2, "seq": true}',
     b'{"item": "age_band", "value": 2, "seq": -4}', b'{"item": ["age_band"], "value": 2}',
     b'{"item": 0, "value": 2, "seq": 1}', b'{"item": "age_band\\n", "value": 2, "seq": 1}'],
    ids=["infinity", "nan", "deep", "string", "bytes", "bool-seq", "negative-seq", "list-item", "number-item",
         "newline-item"],
)
def test_malformed_answer_requests_get_a_400_not_a_server_error(on_pre, body):
    response = on_pre.client.post(on_pre.url("answer"), body, content_type="application/json")
    assert response.status_code == 400
    assert not Response.objects.exists()


def test_a_page_submit_with_one_invalid_value_stores_nothing_and_names_the_question(on_pre):
    answers = on_pre.pre_answers()
    answers["musical_training"] = "7.5"
    page = on_pre.client.post(on_pre.url("about-you"), answers)
    assert page.status_code == 422
    html = page.content.decode()
    assert "years of formal training on a musical instrument" in html and "is not an answer on this scale" in html
    assert 'class="choice question missing" data-field="musical_training"' in html
    assert not Response.objects.exists()
    assert on_pre.page() == "pre"


def test_a_page_submit_stores_what_was_on_screen_over_earlier_saves(on_pre):
    save(on_pre, "age_band", 3, seq=1_700_000_000_000)
    answers = {**on_pre.pre_answers(), "age_band": 5}
    page = on_pre.post("about-you", answers)
    assert page.redirect_chain[-1][0] == on_pre.url("choose")
    stored = dict(Response.objects.values_list("item__code", "value"))
    assert stored == {code: int(value) for code, value in answers.items()}


def test_an_incomplete_page_keeps_the_valid_answers_and_asks_for_the_rest(on_pre):
    page = on_pre.post("about-you", {"age_band": 2})
    assert b"Please answer every question" in page.content
    assert dict(Response.objects.values_list("item__code", "value")) == {"age_band": 2}


def test_a_rating_is_saved_only_for_the_participant_s_own_recommendation_in_order(browser, liked):
    browser.get()
    browser.consent()
    browser.get_recommendations(*liked)
    recommendation = browser.participant.recommendations.last()
    assert save(browser, "liking", 6, 10, recommendation.pk).json()["saved"] is True
    assert save(browser, "liking", 2, 9, recommendation.pk).json() == {"saved": False, "value": 6, "seq": 10}
    missing = save(browser, "liking", 2, 1, None)
    assert missing.status_code == 422 and "does not say which recommendation" in missing.json()["error"]
    assert save(browser, "liking\n", 2, 11, recommendation.pk).status_code == 400  # an item code is exact
    assert save(browser, "liking", 2, 1, 10**30).status_code == 400


def test_the_service_refuses_a_value_off_the_scale_with_the_question_named(on_pre):
    with pytest.raises(services.AnswerError) as error:
        services.response_save(participant=on_pre.participant, item_code="age_band", value=7, seq=1)
    assert error.value.field == "age_band" and "How old are you?" in str(error.value)


def test_answers_from_two_tabs_keep_the_latest_choice(study):
    first = ParticipantBrowser(study)
    first.get(PROLIFIC_PID="two-tabs")
    first.consent_only()
    first.post("instructions", {})
    second = ParticipantBrowser(study, client=first.client)
    save(first, "age_band", 1, seq=100)
    save(second, "age_band", 2, seq=101)
    save(first, "age_band", 1, seq=99)
    assert Response.objects.get(item__code="age_band").value == 2


def test_a_submit_from_a_tab_that_missed_a_newer_answer_stores_nothing_and_shows_the_newer_one(on_pre):
    """Tab 1 chose 3, tab 2 then chose 5; tab 1, still showing 3, is submitted. Its page knew only the save
    numbered 1_000: the newer answer (5, from tab 2) stands, nothing of the submit is stored, and the page
    comes back showing 5 with the question named, so the participant decides with everything in view."""
    save(on_pre, "age_band", 3, seq=1_000)  # tab 1
    save(on_pre, "age_band", 5, seq=2_000)  # tab 2
    answers = {**on_pre.pre_answers(), "age_band": 3, "seq__age_band": "1000"}
    page = on_pre.client.post(on_pre.url("about-you"), answers)
    assert page.status_code == 422
    html = page.content.decode()
    assert "answered differently in another tab or window" in html and "How old are you?" in html
    assert 'data-field="age_band" data-seq="2000"' in html
    assert 'name="age_band" value="5"  checked' in html or 'name="age_band" value="5" checked' in html
    assert dict(Response.objects.values_list("item__code", "value")) == {"age_band": 5}
    assert on_pre.page() == "pre"

    # Submitted again from the page as it now stands (it knows save 2000): it goes through.
    page = on_pre.post("about-you", {**answers, "age_band": 5, "seq__age_band": "2000"})
    assert page.redirect_chain[-1][0] == on_pre.url("choose")
    assert Response.objects.get(item__code="age_band").value == 5


def test_a_submit_from_the_tab_that_gave_the_newest_answer_goes_through(on_pre):
    save(on_pre, "age_band", 5, seq=2_000)
    answers = {**on_pre.pre_answers(), "age_band": 4, "seq__age_band": "2000"}  # changed here, unsaved: on screen
    page = on_pre.post("about-you", answers)
    assert page.redirect_chain[-1][0] == on_pre.url("choose")
    assert Response.objects.get(item__code="age_band").value == 4


@pytest.mark.parametrize("value", ["²", "٣", "3\n", " 3", "３"])
def test_a_submitted_value_that_is_not_plain_ascii_digits_is_refused_with_its_question_named(on_pre, value):
    answers = {**on_pre.pre_answers(), "age_band": value}
    page = on_pre.client.post(on_pre.url("about-you"), answers)
    assert page.status_code == 422 and "is not an answer on this scale" in page.content.decode()
    assert not Response.objects.exists()
    assert 'value="3" checked' not in page.content.decode().replace("  ", " ")  # nothing shown as chosen


def test_a_refused_answer_names_its_question_in_the_participant_s_own_quotation_marks(study):
    browser = ParticipantBrowser(study)
    browser.get(lang="de")
    browser.consent_only()
    browser.post("instructions", {})
    page = browser.client.post(browser.url("about-you"), {**browser.pre_answers(), "age_band": "7.5"})
    assert page.status_code == 422 and "„Wie alt sind Sie?“" in page.content.decode()
