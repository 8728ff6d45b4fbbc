import pytest

from study.models import Assignment, Participant, Response
from tests.participants import ParticipantBrowser

# The recommendation job is sent on commit, so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("condition", "feature_figures", "spectrogram_figures"),
    [("features", 5, 0), ("spectrogram", 0, 5), ("both", 5, 5), ("control", 0, 0)],
)
def test_a_participant_completes_the_study_in_each_condition(
    study, liked, condition, feature_figures, spectrogram_figures
):
    study.conditions.exclude(slug=condition).update(is_active=False)
    browser = ParticipantBrowser(study)

    page = browser.get(PROLIFIC_PID="pid-1", STUDY_ID="st", SESSION_ID="se")
    assert b"Information and consent" in page.content
    browser.consent()
    assert browser.participant.condition.slug == condition

    page = browser.get_recommendations(*liked)
    assert page.redirect_chain[-1][0] == browser.url("rate")
    assert page.content.count(b"explanation-features") == feature_figures
    assert page.content.count(b"explanation-spectrogram") == spectrogram_figures
    assert page.content.count(b'data-role="recommended"') == 5
    # The liked track can be heard again in every explanation condition (not only beside a spectrogram).
    assert page.content.count(b'data-role="liked"') == (0 if condition == "control" else 5)
    assert b"likert missing" not in page.content  # nothing outlined before an attempt to move on

    page = browser.post("rate", browser.rating_answers())
    assert b"A few questions" in page.content
    page = browser.post("questionnaire", browser.questionnaire_answers())

    participant = browser.participant
    assert participant.page == Participant.Page.DONE
    assert participant.completion_code.encode() in page.content
    assert (participant.prolific_pid, participant.prolific_study_id, participant.prolific_session_id) == ("pid-1", "st", "se")
    assert participant.recommendations.count() == 5
    assert participant.responses.count() == browser.n_answers() == 4 + 5 * 3 + 16 + 2  # pre, ratings, scales, checks


def test_recommendations_never_include_the_liked_tracks(browser, liked):
    browser.get()
    browser.consent()
    browser.get_recommendations(*liked)
    recommended = set(browser.participant.recommendations.values_list("track_id", flat=True))
    assert recommended.isdisjoint({t.pk for t in liked})
    assert {r.seed_track_id for r in browser.participant.recommendations.all()} <= {t.pk for t in liked}


def test_reloading_and_going_back_keep_answers_and_the_page(browser, liked):
    browser.get()
    browser.consent()
    browser.get_recommendations(*liked)
    answers = browser.rating_answers(value=3)
    first_half = dict(list(answers.items())[:4])
    page = browser.post("rate", first_half)  # incomplete: stays on the page, keeps what was given
    assert page.redirect_chain[-1][0] == browser.url("rate")
    assert b"Please answer every question" in page.content
    assert page.content.count(b'class="likert question missing"') == 5 * 3 - 4
    assert browser.participant.responses.filter(item__section="rating").count() == 4

    page = browser.get("rate")  # reload
    assert page.content.count(b'value="3" checked') == 4

    browser.post("rate", answers)
    for earlier in ("consent", "instructions", "about-you", "choose", "wait", "rate", ""):  # back button, typed URLs
        page = browser.get(earlier)
        assert page.redirect_chain[-1][0] == browser.url("questionnaire")
    assert Participant.objects.count() == 1
    assert browser.participant.responses.filter(item__section="rating").count() == len(answers)


def test_the_same_prolific_id_resumes_the_same_participant_in_a_new_browser(study, liked):
    first = ParticipantBrowser(study)
    first.get(PROLIFIC_PID="abc")
    first.consent()
    condition = first.participant.condition

    second = ParticipantBrowser(study)
    page = second.get(PROLIFIC_PID="abc")
    assert page.redirect_chain[-1][0] == second.url("choose")
    assert second.participant.pk == first.participant.pk
    assert second.participant.condition == condition
    assert Participant.objects.count() == 1 and Assignment.objects.count() == 1


def test_submitting_an_answer_twice_keeps_one_response_with_the_last_value(browser, liked):
    browser.get()
    browser.consent()
    browser.get_recommendations(*liked)
    recommendation = browser.participant.recommendations.first()
    for seq, value in enumerate((2, 2, 6), start=1):
        response = browser.client.post(
            browser.url("answer"),
            {"item": "liking", "value": value, "recommendation": recommendation.pk, "seq": seq},
            content_type="application/json",
        )
        assert response.json() == {"saved": True, "value": value, "seq": seq}
    assert Response.objects.get(item__section="rating").value == 6


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"item": "liking", "value": 9}, 422),
        ({"item": "liking", "value": "lots"}, 422),
        ({"item": "no-such-item", "value": 3}, 409),
        ({"value": 3}, 400),
        ({"item": "trust_recommender", "value": 3}, 409),  # the questionnaire is not open yet
    ],
)
def test_invalid_answers_are_refused_with_a_reason_and_change_nothing(browser, liked, payload, status):
    browser.get()
    browser.consent()
    browser.get_recommendations(*liked)
    payload.setdefault("recommendation", browser.participant.recommendations.first().pk)
    response = browser.client.post(browser.url("answer"), payload, content_type="application/json")
    assert response.status_code == status
    assert response.json()["error"]
    assert not Response.objects.filter(item__section__in=["rating", "questionnaire"]).exists()


def test_a_participant_cannot_answer_for_another_participant_s_recommendation(study, liked):
    alice, mallory = ParticipantBrowser(study), ParticipantBrowser(study)
    for browser in (alice, mallory):
        browser.get()
        browser.consent()
        browser.get_recommendations(*liked)
    alice_recommendation = alice.participant.recommendations.first()
    response = mallory.client.post(
        mallory.url("answer"),
        {"item": "liking", "value": 1, "recommendation": alice_recommendation.pk},
        content_type="application/json",
    )
    assert response.status_code == 422 and "not yours" in response.json()["error"]
    assert not Response.objects.filter(item__section="rating").exists()


def test_a_browser_without_a_participant_cannot_post_answers(study):
    response = ParticipantBrowser(study).client.post(
        f"/s/{study.slug}/answer/", {"item": "liking", "value": 1}, content_type="application/json"
    )
    assert response.status_code == 403


def test_choosing_is_limited_to_the_study_s_bounds(browser, demo_catalog, study):
    browser.get()
    browser.consent()
    page = browser.post("choose", {"action": "continue"})
    assert b"Please choose between 1 and 3" in page.content
    tracks = list(demo_catalog.tracks.all()[:4])
    browser.like(*tracks)
    assert browser.participant.liked_tracks.count() == 3
    page = browser.post("choose", {"action": "like", "track": 999999})
    assert b"not part of this study" in page.content
    assert browser.page() == Participant.Page.CHOOSE


def test_search_finds_tracks_by_title_or_artist(browser, demo_catalog):
    browser.get()
    browser.consent()
    track = demo_catalog.tracks.first()
    page = browser.get("choose", q=track.artist[:6])
    assert track.artist.encode() in page.content
    page = browser.get("choose", q="zzzz-nothing")
    assert b"No track matches" in page.content


def test_declining_consent_ends_the_study_without_a_condition(browser):
    browser.get()
    page = browser.post("consent", {"consent": "no"})
    assert b"You chose not to take part" in page.content
    assert browser.participant.condition is None
    assert browser.get("choose").redirect_chain[-1][0] == browser.url("declined")


def test_a_closed_study_turns_new_participants_away_but_lets_started_ones_finish(study, liked):
    started = ParticipantBrowser(study)
    started.get()
    started.consent()
    study.state = "closed"
    study.save()
    assert ParticipantBrowser(study).get().status_code == 403
    assert started.get().redirect_chain[-1][0] == started.url("choose")


def test_finishing_redirects_to_prolific_when_a_completion_code_is_set(study, liked):
    study.prolific_completion_code = "C1234ABC"
    study.save()
    page = ParticipantBrowser(study).complete(liked)
    assert b"https://app.prolific.com/submissions/complete?cc=C1234ABC" in page.content


def test_the_waiting_page_reports_readiness(browser, liked):
    browser.get()
    browser.consent()
    browser.get_recommendations(*liked)
    assert browser.client.get(browser.url("status")).json() == {"ready": True, "next": browser.url("rate")}


def test_a_forged_session_token_is_a_new_participant_not_someone_else(study):
    victim = ParticipantBrowser(study)
    victim.get()
    forger = ParticipantBrowser(study)
    session = forger.client.session
    session[f"participant:{study.pk}"] = "guessed-token"
    session.save()
    forger.get()
    assert forger.participant.pk != victim.participant.pk


def test_the_declined_page_says_what_is_kept_and_for_how_long_in_the_participant_s_language(study, settings):
    settings.RETENTION_DAYS = 30
    with_id = ParticipantBrowser(study)
    with_id.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"
    with_id.get(PROLIFIC_PID="5f3a9c0d1b2e4f6a7c8d9e01")
    page = with_id.post("consent", {"consent": "no"}).content.decode()
    assert "Wir speichern nur, dass Ihre Prolific-ID abgelehnt hat" in page and "nach 30 Tagen gelöscht" in page
    settings.RETENTION_DAYS = 0
    anonymous = ParticipantBrowser(study)
    anonymous.get()
    page = anonymous.post("consent", {"consent": "no"}).content.decode()
    assert "We keep only that a visitor declined" in page and "erased after" not in page
