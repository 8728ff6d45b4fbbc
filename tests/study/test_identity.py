"""Participants are who they say: a Prolific id alone does not open someone's study, a browser is never
switched to another participant, and ids are checked, never cut short."""
import pytest

from study.models import Participant
from tests.participants import ParticipantBrowser

pytestmark = pytest.mark.django_db(transaction=True)

PID = "5f3a9c0d1b2e4f6a7c8d9e01"


@pytest.fixture(autouse=True)
def prolific_ids_only(study):
    """The check a new study has: Prolific's 24 hexadecimal characters (the test factory allows any)."""
    from study.models import Study

    study.pid_pattern = Study._meta.get_field("pid_pattern").default
    study.save()
OTHER = "5f3a9c0d1b2e4f6a7c8d9e02"


def link(pid=PID, session="session-1", study_id="study-1"):
    return {"PROLIFIC_PID": pid, "STUDY_ID": study_id, "SESSION_ID": session}


def started(study, **params):
    browser = ParticipantBrowser(study)
    browser.get(**link(**params))
    browser.consent()
    return browser


def test_the_same_id_and_session_resume_in_a_new_browser_but_another_session_is_told_it_took_part(study):
    first = started(study)
    again = ParticipantBrowser(study)
    page = again.get(**link())
    assert page.redirect_chain[-1][0] == again.url("choose") and again.participant == first.participant
    stranger = ParticipantBrowser(study)
    page = stranger.get(**link(session="session-2"))
    assert page.status_code == 403 and "already taken part" in page.content.decode()
    assert f"participant:{study.pk}" not in stranger.client.session
    assert Participant.objects.filter(study=study).count() == 1


def test_a_browser_in_the_middle_of_its_own_study_is_never_switched_to_another_participant(study):
    mine = started(study)
    other = started(study, pid=OTHER, session="other-session")
    page = mine.get(**link(pid=OTHER, session="other-session"))
    assert page.status_code == 409 and "already taking part" in page.content.decode()
    assert mine.participant != other.participant and mine.participant.prolific_pid == PID


def test_a_replayed_finished_link_shows_no_completion_code(study, liked):
    study.prolific_completion_code = "DONE1234"
    study.save()
    browser = started(study)
    browser.get_recommendations(*liked)
    browser.post("rate", browser.rating_answers())
    done = browser.post("questionnaire", browser.questionnaire_answers()).content.decode()
    assert "DONE1234" in done
    replay = ParticipantBrowser(study).get(**link())
    assert replay.status_code == 403 and "DONE1234" not in replay.content.decode()
    assert "DONE1234" in browser.get().content.decode()  # the participant's own browser still sees it


@pytest.mark.parametrize("pid", [
    "5f3a9c0d1b2e4f6a7c8d9e0", "5F3A9C0D1B2E4F6A7C8D9E01X", "<script>alert(1)</script>", "a\x00b", "x\r\ny",
    "\u202e5f3a9c0d1b2e4f6a7c8d9e01", "5f3a9c0d1b2e4f6a7c8d9e01" + "0" * 64,
])
def test_an_id_that_is_not_a_prolific_id_is_refused_and_stores_nothing(study, pid):
    page = ParticipantBrowser(study).get(**link(pid=pid))
    assert page.status_code == 400 and "not a valid" in page.content.decode()
    assert not Participant.objects.exists()


def test_ids_longer_than_64_characters_are_never_cut_to_collide(study):
    """Another panel's ids, allowed by the study's own pattern: two that share 64 characters stay two people."""
    study.pid_pattern = r"[a-z0-9]{1,100}"
    study.save()
    long_a, long_b = "a" * 64 + "1", "a" * 64 + "2"
    started(study, pid=long_a)
    started(study, pid=long_b)
    assert sorted(Participant.objects.values_list("prolific_pid", flat=True)) == [long_a, long_b]


@pytest.mark.parametrize("field", ["STUDY_ID", "SESSION_ID"])
def test_study_and_session_ids_are_checked_too(study, field):
    params = {**link(), field: "<img src=x>"}
    page = ParticipantBrowser(study).get(**params)
    assert page.status_code == 400 and not Participant.objects.exists()


@pytest.mark.parametrize("field", ["PROLIFIC_PID", "STUDY_ID", "SESSION_ID"])
def test_a_link_naming_two_ids_is_refused_rather_than_guessed(study, field):
    browser = ParticipantBrowser(study)
    params = {**link(), field: [link()[field], OTHER if field == "PROLIFIC_PID" else "session-2"]}
    page = browser.client.get(browser.url(""), params)
    assert page.status_code == 400 and "more than one Prolific ID or session" in page.content.decode()
    assert not Participant.objects.exists()
