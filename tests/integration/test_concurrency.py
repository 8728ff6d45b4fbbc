"""Participants acting at the same moment against a live server: no error page, no answer lost.

Runs on the configured database: SQLite (the embedded default) here, PostgreSQL in CI.
"""
import functools
import random
from collections import Counter

import pytest

from study.models import Assignment, Item, Participant, Response
from tests.factories import CatalogFactory, TrackFactory, make_study
from tests.live import LiveParticipant, all_at_once, all_succeeded, statuses

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("connections")]

CONSENTING = 12
ANSWERING = 20
ROUNDS = 3
SAVES_OF_ONE_ITEM = 20


@pytest.fixture
def study():
    return make_study(
        CatalogFactory(), conditions=[("features", "features"), ("spectrogram", "spectrogram"), ("control", "none")]
    )


def entered(live_server, study, n: int) -> list[LiveParticipant]:
    """``n`` participants, each in its own browser, on the consent page."""
    participants = [LiveParticipant(live_server.url, study.slug) for _ in range(n)]
    for i, participant in enumerate(participants):
        participant.enter(f"pid-{i}")
    assert all_succeeded(participants), statuses(participants)
    return participants


def on_pre_questionnaire(live_server, study, n: int) -> list[LiveParticipant]:
    """``n`` participants who consented and read the instructions, one after another."""
    participants = entered(live_server, study, n)
    for participant in participants:
        participant.post("consent", {"consent": "yes"})
        participant.post("instructions")
    assert all_succeeded(participants), statuses(participants)
    assert set(Participant.objects.values_list("page", flat=True)) == {Participant.Page.PRE}
    return participants


def test_twelve_participants_agreeing_at_once_are_all_assigned_in_balance(live_server, study):
    """Twelve "I agree" clicks at the same moment: every one succeeds and conditions stay within one of each other."""
    participants = entered(live_server, study, CONSENTING)

    all_at_once(lambda participant: participant.post("consent", {"consent": "yes"}), participants)

    assert all_succeeded(participants), statuses(participants)
    assert Assignment.objects.count() == Participant.objects.count() == CONSENTING
    counts = Counter(Assignment.objects.values_list("condition__slug", flat=True))
    assert set(counts) == {"features", "spectrogram", "control"}
    assert max(counts.values()) - min(counts.values()) <= 1, counts


def test_twenty_participants_changing_answers_together_keep_their_last_choices(live_server, study):
    """Twenty participants change every answer in the same moments, round after round; each last choice is stored."""
    participants = on_pre_questionnaire(live_server, study, ANSWERING)
    items = list(Item.objects.filter(study=study, section=Item.Section.PRE))
    assert items

    def choice(i: int, item: Item, round_: int) -> int:
        # Consecutive rounds pick neighbouring options, so every round changes every answer.
        return item.options[(i + round_) % len(item.options)][0]

    def answer_all(i: int, round_: int) -> list:
        """One participant's page: each question answered anew, numbered by the round."""
        return [participants[i].answer(item.code, choice(i, item, round_), seq=round_ + 1) for item in items]

    replies = []
    for round_ in range(ROUNDS):
        per_participant = all_at_once(functools.partial(answer_all, round_=round_), range(ANSWERING))
        replies += [reply for page in per_participant for reply in page]

    assert all_succeeded(participants), statuses(participants)
    # Each participant's saves of one question come one round after another: none is stale.
    assert all(reply.json()["saved"] for reply in replies)

    stored = {
        (pid, code): (value, seq)
        for pid, code, value, seq in Response.objects.values_list(
            "participant__prolific_pid", "item__code", "value", "client_seq"
        )
    }
    expected = {
        (f"pid-{i}", item.code): (choice(i, item, ROUNDS - 1), ROUNDS) for i in range(ANSWERING) for item in items
    }
    assert stored == expected


def test_twenty_saves_of_one_answer_at_once_keep_the_last_choice(live_server, study):
    """One participant's twenty saves of a question arrive together in any order; the one chosen last is stored."""
    (participant,) = on_pre_questionnaire(live_server, study, 1)
    item = Item.objects.get(study=study, code="age_band")
    options = [value for value, _ in item.options]
    # Neighbouring saves differ, and the last (seq 20) differs from the one before it.
    value_of = {seq: options[seq % len(options)] for seq in range(1, SAVES_OF_ONE_ITEM + 1)}
    sends = list(value_of.items())
    random.Random(20).shuffle(sends)
    tabs = [participant.tab() for _ in sends]

    replies = all_at_once(lambda i: tabs[i].answer(item.code, sends[i][1], seq=sends[i][0]), range(len(sends)))

    assert all_succeeded(tabs), statuses(tabs)
    assert Response.objects.get(item=item).value == value_of[SAVES_OF_ONE_ITEM]
    # A save that came too late says so and names the answer that stays.
    replies = [reply.json() for reply in replies]
    assert all(reply["saved"] or reply["seq"] > seq for reply, (seq, _) in zip(replies, sends)), replies

    stale = participant.answer(item.code, value_of[5], seq=5)
    assert stale.status_code == 200
    assert stale.json() == {"saved": False, "value": value_of[SAVES_OF_ONE_ITEM], "seq": SAVES_OF_ONE_ITEM}
    assert Response.objects.get(item=item).value == value_of[SAVES_OF_ONE_ITEM]


def test_likes_sent_at_once_never_choose_more_tracks_than_the_study_allows(live_server, study):
    """Eight "I like this" clicks (a double-clicking participant, two tabs) reach the server together: the
    choice stops at the study's maximum, every other click is told why, and nothing fails."""
    from recommender.models import Track

    (participant,) = entered(live_server, study, 1)
    participant.post("consent", {"consent": "yes"})
    participant.post("instructions")
    pre = {item.code: item.options[0][0] for item in Item.objects.filter(study=study, section="pre")}
    participant.post("about-you", pre)
    assert Participant.objects.get().page == Participant.Page.CHOOSE
    tracks = [TrackFactory(catalog=study.catalog, status=Track.Status.ANALYSED).pk for _ in range(8)]
    tabs = [participant.tab() for _ in tracks]

    replies = all_at_once(lambda i: tabs[i].post("choose", {"action": "like", "track": tracks[i]}), range(len(tracks)))

    assert all(reply.status_code < 500 for reply in replies), [reply.status_code for reply in replies]
    assert Participant.objects.get().liked_tracks.count() == study.max_liked
