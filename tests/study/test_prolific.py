"""The participant journey as Prolific participants and the researchers paying them need it."""
import csv
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from study import services
from study.models import Item, ListeningEvent, PageVisit, Participant
from study.questionnaires import SCALES
from tests.factories import make_study
from tests.participants import ParticipantBrowser

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_study_takes_the_scales_it_selects_from_the_bank_with_their_sources(demo_catalog):
    study = make_study(demo_catalog, slug="narrow", scales=["resque_trust", "jian_trust"])
    post = Item.objects.filter(study=study, section="questionnaire")
    constructs = set(post.values_list("construct", flat=True))
    assert constructs == {"trust", "trust_in_automation", "check"}
    assert all(item.source for item in Item.objects.filter(study=study))
    assert set(post.filter(reverse_coded=True).values_list("code", flat=True)) == {
        "jian_deceptive", "jian_underhanded", "jian_suspicious", "jian_wary", "jian_harmful", "resque_confused",
    }
    assert post.filter(check_kind="attention").count() == 1 and post.last().check_kind == "manipulation"
    with pytest.raises(ValueError, match="unknown scale"):
        make_study(demo_catalog, slug="bad", scales=["made_up"])
    assert len(SCALES) >= 7


def test_the_journey_goes_through_instructions_and_a_pre_questionnaire(browser):
    page = browser.get()
    browser.consent_only()
    assert browser.page() == Participant.Page.INSTRUCTIONS
    page = browser.post("instructions", {})
    assert page.redirect_chain[-1][0] == browser.url("about-you")
    assert b"How old are you?" in page.content and b"musical instrument" in page.content
    page = browser.post("about-you", {"age_band": 2})  # incomplete
    assert b"Please answer every question" in page.content
    page = browser.post("about-you", browser.pre_answers())
    assert page.redirect_chain[-1][0] == browser.url("choose")


def test_a_choice_outside_the_options_is_refused(browser):
    browser.get()
    browser.consent_only()
    browser.post("instructions", {})
    response = browser.client.post(browser.url("answer"), {"item": "age_band", "value": 7}, content_type="application/json")
    assert response.status_code == 422 and "one of the options" in response.json()["error"]
    assert response.json()["field"] == "age_band"


def test_declining_returns_to_prolific_with_the_no_consent_code(study):
    study.prolific_no_consent_code = "NOCONSENT1"
    study.save()
    browser = ParticipantBrowser(study)
    browser.get(PROLIFIC_PID="p1")
    page = browser.post("consent", {"consent": "no"})
    assert b"https://app.prolific.com/submissions/complete?cc=NOCONSENT1" in page.content


def test_every_page_s_entry_and_exit_is_timed_by_the_server(study, liked):
    browser = ParticipantBrowser(study)
    browser.complete(liked)
    visits = list(PageVisit.objects.filter(participant=browser.participant).order_by("entered_at"))
    # Eager jobs finish before the waiting page is shown, so nobody waits here.
    assert [v.page for v in visits] == ["consent", "instructions", "pre", "choose", "rate", "questionnaire", "done"]
    assert all(v.left_at and v.left_at >= v.entered_at for v in visits[:-1]) and visits[-1].left_at is None


def test_the_export_flags_too_fast_completions_and_failed_checks(study, liked, tmp_path):
    careful, hasty = ParticipantBrowser(study), ParticipantBrowser(study)
    for browser in (careful, hasty):
        browser.get()
        browser.consent()
        browser.get_recommendations(*liked)
        browser.post("rate", browser.rating_answers())
    explanation_answer = {"features": 1, "spectrogram": 2, "both": 3, "none": 4}
    answers = careful.questionnaire_answers(value=5)
    careful.get("questionnaire")  # the page draws what the attention check asks this participant for
    answers.update(attention_check=careful.participant.instructed["attention_check"],
                   manipulation_check=explanation_answer[careful.participant.condition.explanation])
    careful.post("questionnaire", answers)
    hasty.post("questionnaire", {**hasty.questionnaire_answers(value=7), "manipulation_check": 4 if hasty.participant.condition.explanation != "none" else 1})
    Participant.objects.filter(pk=careful.participant.pk).update(consented_at=timezone.now() - timedelta(minutes=12))

    out = tmp_path / "answers.csv"
    call_command("export_responses", study.slug, "--out", str(out), "--reason", "test: checking the export")
    rows = {r["participant"]: r for r in csv.DictReader(out.open())}
    assert (rows[str(careful.participant.pk)]["too_fast"], rows[str(hasty.participant.pk)]["too_fast"]) == ("False", "True")
    assert rows[str(careful.participant.pk)]["attention_passed"] == "True"
    assert rows[str(careful.participant.pk)]["manipulation_passed"] == "True"
    assert rows[str(hasty.participant.pk)]["attention_passed"] == "False"
    assert rows[str(hasty.participant.pk)]["manipulation_passed"] == "False"


def listen(browser, track, event, position, listened):
    return browser.client.post(
        browser.url("listen"), {"track": track.pk, "event": event, "position": position, "listened": listened}
    )


def test_player_events_are_stored_with_positions_for_clips_on_the_page_only(browser, liked, demo_catalog):
    browser.get()
    browser.consent()
    assert listen(browser, liked[0], "play", 0, 0).json() == {"saved": True}  # on the choosing page
    browser.get_recommendations(*liked)
    recommendation = browser.participant.recommendations.first()
    for event, position, heard in (("play", 0, 0), ("seeked", 12.5, 3.1), ("pause", 14.0, 4.6), ("ended", 30.0, 21.0)):
        assert listen(browser, recommendation.track, event, position, heard).status_code == 200
    events = ListeningEvent.objects.filter(recommendation=recommendation)
    assert list(events.values_list("kind", "position_s")) == [("play", 0), ("seeked", 12.5), ("pause", 14.0), ("ended", 30.0)]

    elsewhere = demo_catalog.tracks.exclude(pk__in=[r.track_id for r in browser.participant.recommendations.all()])
    elsewhere = elsewhere.exclude(pk__in=[t.pk for t in liked]).first()
    assert listen(browser, elsewhere, "play", 0, 0).status_code == 409
    assert listen(browser, recommendation.track, "rewind", 0, 0).status_code == 409
    assert listen(browser, recommendation.track, "play", "soon", 0).status_code == 400


def test_a_study_can_require_listening_before_rating(study, liked):
    """The requirement is checked against the seconds the server measured, not a total the browser sends."""
    study.required_listening_s = 3  # the demo clips last 4 s
    study.save()
    browser = ParticipantBrowser(study)
    browser.get()
    browser.consent()
    page = browser.get_recommendations(*liked)
    assert b"Listen to at least 3 seconds" in page.content
    recommendation = browser.participant.recommendations.first()
    answer = {"item": "liking", "value": 5, "recommendation": recommendation.pk, "seq": 1}
    response = browser.client.post(browser.url("answer"), answer, content_type="application/json")
    assert response.status_code == 422 and "listen to at least 3 seconds" in response.json()["error"]
    assert response.json()["retry_after"]

    # A forged total is ignored: one event claiming an hour of listening unlocks nothing.
    listen(browser, recommendation.track, "progress", 3.9, 3600)
    response = browser.client.post(browser.url("answer"), answer, content_type="application/json")
    assert response.status_code == 422

    # A position far ahead a moment after play buys only the seconds that passed.
    ListeningEvent.objects.all().delete()
    listen(browser, recommendation.track, "play", 0.0, 0)
    listen(browser, recommendation.track, "progress", 3.9, 0)
    response = browser.client.post(browser.url("answer"), answer, content_type="application/json")
    assert response.status_code == 422

    # Play from 0, and 5 s later (by the server's clock) the clip is at 3.9 s: 3.9 s heard.
    ListeningEvent.objects.all().delete()
    listen(browser, recommendation.track, "play", 0.0, 0)
    ListeningEvent.objects.update(created_at=timezone.now() - timedelta(seconds=5))
    listen(browser, recommendation.track, "progress", 3.9, 0)
    response = browser.client.post(browser.url("answer"), answer, content_type="application/json")
    assert response.json() == {"saved": True, "value": 5, "seq": 1}


def test_permuted_blocks_and_weights_are_used_and_recorded(demo_catalog):
    study = make_study(
        demo_catalog, slug="blocks", conditions=[("features", "features", 2), ("control", "none", 1)],
        randomisation="permuted_block", block_repeats=1,
    )
    browsers = [ParticipantBrowser(study) for _ in range(6)]
    for browser in browsers:
        browser.get()
        browser.consent_only()
    assignments = [b.participant.assignment for b in browsers]
    assert [a.position for a in assignments] == [1, 2, 3, 4, 5, 6]
    assert {a.method for a in assignments} == {"permuted_block"}
    for block in (assignments[:3], assignments[3:]):
        assert sorted(a.condition.slug for a in block) == ["control", "features", "features"]


def _arrive(study, *, pilot: bool) -> ParticipantBrowser:
    browser = ParticipantBrowser(study)
    browser.get()
    if pilot:
        Participant.objects.filter(pk=browser.participant.pk).update(is_pilot=True)  # as run_bots marks its bots
    browser.consent_only()
    return browser


def test_pilots_in_an_open_study_leave_the_real_participants_balance_alone(demo_catalog):
    """Bots run into an open study must not steer real participants: after four pilots all in features, the
    next two real participants are one in each condition (least-filled over real participants only)."""
    study = make_study(demo_catalog, slug="piloted")
    study.conditions.filter(slug="spectrogram").update(is_active=False)
    pilots = [_arrive(study, pilot=True) for _ in range(4)]
    assert {b.participant.condition.slug for b in pilots} == {"features"}
    study.conditions.update(is_active=True)

    real = [_arrive(study, pilot=False) for _ in range(2)]
    assert sorted(b.participant.condition.slug for b in real) == ["features", "spectrogram"]
    assert _arrive(study, pilot=True).participant.condition.slug == "spectrogram"  # pilots balance among pilots


def test_pilots_take_no_place_in_the_real_participants_permuted_blocks(demo_catalog):
    from study.randomisation import permuted_block

    study = make_study(demo_catalog, slug="blocks-piloted", randomisation="permuted_block", block_repeats=1)
    condition_ids = list(study.conditions.filter(is_active=True).values_list("pk", flat=True))
    for _ in range(3):
        _arrive(study, pilot=True)
    real = [_arrive(study, pilot=False).participant.assignment for _ in range(4)]
    assert [a.position for a in real] == [1, 2, 3, 4]
    dealt = [permuted_block(i, condition_ids, seed=study.randomisation_seed, weights=dict.fromkeys(condition_ids, 1),
                            repeats=1) for i in range(4)]
    assert [a.condition_id for a in real] == dealt  # exactly the blocks they would have had without the pilots
    study.refresh_from_db()
    assert study.assignments_made == 4


def test_least_filled_can_balance_on_finished_participants(study, liked):
    study.balance_on = "finished"
    study.save()
    study.conditions.exclude(slug__in=["features", "control"]).update(is_active=False)
    first = ParticipantBrowser(study)
    first.complete(liked)
    finished_in = first.participant.condition.slug
    # Started-but-unfinished participants do not count: each newcomer joins the other condition.
    for _ in range(3):
        browser = ParticipantBrowser(study)
        browser.get()
        browser.consent_only()
        assert browser.participant.condition.slug != finished_in
    assert "balance on finished" in browser.participant.assignment.method


def test_services_refuse_to_skip_pages(browser):
    browser.get()
    with pytest.raises(services.FlowError):
        services.participant_read_instructions(participant=browser.participant)


def _manipulation_options(page) -> list[tuple[str, str]]:
    import re

    fieldset = re.search(r'data-field="manipulation_check".*?</fieldset>', page, re.S)[0]
    return re.findall(r'value="(\d+)"[^>]*> <span>([^<]+)</span>', fieldset)


def test_the_manipulation_check_offers_tags_only_where_a_group_saw_tags_and_no_explanations_last(browser, liked):
    """A study of charts against pictures should not ask whether the explanations were words; every group of
    one study is offered the same options, and a value not offered is refused like any other."""
    study = browser.study
    assert not study.conditions.filter(explanation="tags").exists()
    browser.get()
    browser.consent()
    browser.get_recommendations(*liked)
    browser.post("rate", browser.rating_answers())
    page = browser.get("questionnaire").content.decode()
    assert [value for value, _label in _manipulation_options(page)] == ["1", "2", "3", "4"]
    assert _manipulation_options(page)[-1][1] == "There were no explanations"
    refused = browser.client.post(browser.url("answer"), {"item": "manipulation_check", "value": 5, "seq": 1},
                                  content_type="application/json")
    assert refused.status_code == 422 and "choose one of the options" in refused.json()["error"]

    study.conditions.create(slug="words", name="Words", explanation="tags", recommender="tagger")
    page = browser.get("questionnaire").content.decode()
    assert [value for value, _label in _manipulation_options(page)] == ["1", "2", "3", "5", "4"]
