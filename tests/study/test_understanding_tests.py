"""Understanding tests (forward simulation): drawn from the recommender's own scores, the same items across
conditions, no explanation shown, answered once, must-listen, scored at the debrief."""
import numpy as np
import pytest
from django.core.exceptions import ValidationError

from recommender import services as recommender_services
from study import forward_simulation, services
from study.models import Participant, SimulationTrial, Study
from tests.factories import make_study
from tests.participants import ParticipantBrowser

# The recommendation job is sent once the request's transaction commits, as in production.
pytestmark = pytest.mark.django_db(transaction=True)
Page = Participant.Page
WIDE = [[0.01, 2.0]]  # the twelve demo clips hold few pairs in a narrow band


@pytest.fixture
def tested_study(demo_catalog):
    return make_study(
        demo_catalog, conditions=[("features", "features"), ("spectrogram", "spectrogram"), ("control", "none")],
        simulation_trials=2, n_recommendations=2, min_liked=1, max_liked=1, simulation_bands=WIDE,
    )


def _to_pretest(study, track, client=None):
    browser = ParticipantBrowser(study, client)
    browser.get()
    browser.consent()
    browser.get_recommendations(track)
    return browser


def _answer(browser, page, trial, choice="left", confidence=3, **extra):
    return browser.post(page, {"trial": trial.pk, "choice": choice, "confidence": confidence, **extra})


def _score(index, seed, track):
    loaded = recommender_services.load_index(index.pk)
    return float(loaded.vector(track.pk) @ loaded.vector(seed.pk))


# The draw -----------------------------------------------------------------------------------------


def test_a_pair_is_drawn_within_its_band_from_eligible_rows_only_and_the_same_seed_draws_it_again():
    rng = np.random.default_rng(1)
    scores = rng.uniform(-1, 1, 200)
    eligible = rng.random(200) < 0.5
    for band in [(0.3, 2.0), (0.15, 0.3), (0.05, 0.15)]:
        for seed in range(20):
            pair = forward_simulation.draw_pair(scores, eligible, band, seed)
            assert eligible[pair.first] and eligible[pair.second] and pair.first != pair.second
            assert band[0] <= pair.margin < band[1]
            assert pair == forward_simulation.draw_pair(scores, eligible, band, seed)
    assert forward_simulation.draw_pair(np.zeros(10), np.ones(10, bool), (0.05, 0.15), 0) is None  # no pair in band


def test_skipping_one_participant_s_tracks_leaves_the_rest_of_the_draw_as_it_was():
    # The same seeded stream for everyone: a track only some participants may not see changes only their trial.
    scores = np.random.default_rng(2).uniform(-1, 1, 100)
    everyone = np.ones(100, bool)
    pairs = [forward_simulation.draw_pair(scores, everyone, (0.1, 2.0), seed) for seed in range(30)]
    unaffected = 0
    for seed, pair in enumerate(pairs):
        mine = everyone.copy()
        mine[(pair.first + 1) % 100] = False  # some other track this participant may not see
        unaffected += forward_simulation.draw_pair(scores, mine, (0.1, 2.0), seed) == pair
    assert unaffected >= 25


def test_every_band_is_asked_equally_often_every_liked_track_meets_every_band_and_sides_balance():
    rng = np.random.default_rng(0)
    for n_seeds, n_bands, n_trials in [(3, 3, 9), (2, 4, 8), (1, 3, 6), (3, 2, 6)]:
        planned = forward_simulation.plan(n_trials, n_seeds, n_bands, rng)
        assert sorted(b for _, b in planned) == sorted(i % n_bands for i in range(n_trials))
        assert {(s, b) for s, b in planned} == {(s, b) for s in range(n_seeds) for b in range(n_bands)}
    for n in (6, 7):
        sides = forward_simulation.balanced_sides(n, rng)
        assert len(sides) == n and abs(sum(sides) - (n - sum(sides))) <= 1


# The journey ----------------------------------------------------------------------------------------


def test_the_tests_come_before_any_explanation_and_after_rating_and_their_answers_are_the_model_s(tested_study, liked):
    browser = _to_pretest(tested_study, liked[0])
    participant = browser.participant
    assert participant.page == Page.PRETEST
    page = browser.get("test").content.decode()
    assert "Which would the system recommend?" in page and "Question 1 of 2" in page
    assert "Because you liked" not in page and "explanation" not in page.lower().replace("no explanation here", "")
    pre = list(participant.trials.filter(phase="pre"))
    post = list(participant.trials.filter(phase="post"))
    assert len(pre) == len(post) == 2
    recommended = set(participant.recommendations.values_list("track_id", flat=True))
    shown = [t for trial in pre + post for t in (trial.left_track_id, trial.right_track_id)]
    assert len(set(shown)) == len(shown)  # no candidate twice, pre and post included
    assert not set(shown) & (recommended | {liked[0].pk})
    for trial in pre + post:
        assert trial.seed_track_id == liked[0].pk
        assert trial.left_score == pytest.approx(_score(trial.index, trial.seed_track, trial.left_track), abs=1e-6)
        assert trial.right_score == pytest.approx(_score(trial.index, trial.seed_track, trial.right_track), abs=1e-6)
        higher = trial.left_track if trial.left_score > trial.right_score else trial.right_track
        assert getattr(trial, f"{trial.model_choice}_track") == higher
        assert WIDE[0][0] <= trial.margin < WIDE[0][1]
    for trial in pre:
        _answer(browser, "test", trial, choice=trial.model_choice)
    assert browser.page() == Page.RATE  # the recommendations were ready: the waiting page passes at once
    browser.post("rate", browser.rating_answers())
    assert browser.page() == Page.POSTTEST
    wrong = {"left": "right", "right": "left"}
    for trial in post:
        _answer(browser, "test-again", trial, choice=wrong[trial.model_choice])
    assert browser.page() == Page.QUESTIONNAIRE
    done = browser.post("questionnaire", browser.questionnaire_answers()).content.decode()
    assert "you picked the track the system would recommend in 2 of 2 questions" in done
    assert "you picked it in 0 of 2 questions" in done


def test_conditions_sharing_a_recommender_meet_the_same_trials(tested_study, liked):
    items = {}
    for _ in range(3):  # least-filled: features, spectrogram, control in turn
        participant = _to_pretest(tested_study, liked[0]).participant
        services.participant_trials(participant=participant, phase="pre")
        items[participant.condition.slug] = [
            (t.phase, t.item, t.band) for t in participant.trials.order_by("phase", "item")
        ]
    assert len(items) == 3
    assert items["features"] == items["spectrogram"] == items["control"]


def test_an_answer_is_kept_once_a_different_second_answer_is_refused_and_the_same_one_changes_nothing(tested_study, liked):
    browser = _to_pretest(tested_study, liked[0])
    browser.get("test")
    trial = browser.participant.trials.get(phase="pre", position=1)
    _answer(browser, "test", trial, choice="left", confidence=4, client_ms=5300)
    stored = SimulationTrial.objects.get(pk=trial.pk)
    assert (stored.choice, stored.confidence, stored.client_ms) == ("left", 4, 5300)
    assert stored.response_ms is not None and stored.response_ms >= 0
    with pytest.raises(services.TrialError, match="answered that question already"):
        services.trial_answer(participant=browser.participant, trial_id=trial.pk, choice="right", confidence=4)
    services.trial_answer(participant=browser.participant, trial_id=trial.pk, choice="left", confidence=4)
    assert SimulationTrial.objects.get(pk=trial.pk).choice == "left"
    assert browser.participant.page == Page.PRETEST
    page = browser.get("test").content.decode()
    assert "Question 2 of 2" in page


@pytest.mark.parametrize(("data", "message"), [
    ({"choice": "middle", "confidence": 3}, "choose one of the two tracks"),
    ({"choice": "left", "confidence": 9}, "how sure you are"),
    ({"choice": "left"}, "how sure you are"),
])
def test_a_malformed_answer_is_refused_with_a_reason_and_stores_nothing(tested_study, liked, data, message):
    browser = _to_pretest(tested_study, liked[0])
    browser.get("test")
    trial = browser.participant.trials.get(phase="pre", position=1)
    page = browser.post("test", {"trial": trial.pk, **data}).content.decode()
    assert message in page.lower()
    assert SimulationTrial.objects.get(pk=trial.pk).choice == ""


def test_another_participant_s_trial_cannot_be_answered(tested_study, liked):
    mine = _to_pretest(tested_study, liked[0])
    theirs = _to_pretest(tested_study, liked[0])
    theirs.get("test")
    their_trial = theirs.participant.trials.get(phase="pre", position=1)
    with pytest.raises(services.TrialError, match="not part of your test"):
        services.trial_answer(participant=mine.participant, trial_id=their_trial.pk, choice="left", confidence=3)
    assert SimulationTrial.objects.get(pk=their_trial.pk).choice == ""


def test_both_candidates_must_be_heard_for_the_study_s_required_seconds(tested_study, liked):
    Study.objects.filter(pk=tested_study.pk).update(required_listening_s=5)
    tested_study.refresh_from_db()
    browser = _to_pretest(tested_study, liked[0])
    page = browser.get("test").content.decode()
    assert "Listen to at least 5 seconds of this track to choose it" in page
    trial = browser.participant.trials.get(phase="pre", position=1)
    with pytest.raises(services.TrialError, match="listen to at least 5 seconds of both"):
        services.trial_answer(participant=browser.participant, trial_id=trial.pk, choice="left", confidence=3)
    # A clip of this trial is recorded with it; one not on the page is refused.
    for track in (trial.left_track, trial.right_track):
        services.listening_record(participant=browser.participant, track_id=track.pk, kind="play", position_s=0)
    with pytest.raises(services.FlowError, match="not on your page"):
        services.listening_record(participant=browser.participant, track_id=liked[1].pk, kind="play", position_s=0)
    assert set(browser.participant.listening.values_list("trial_id", flat=True)) == {trial.pk}


def test_seconds_heard_per_option_come_from_the_server_s_clock(tested_study, liked, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    Study.objects.filter(pk=tested_study.pk).update(required_listening_s=3)
    tested_study.refresh_from_db()
    browser = _to_pretest(tested_study, liked[0])
    browser.get("test")
    participant = browser.participant
    trial = participant.trials.get(phase="pre", position=1)
    start = timezone.now()
    for track in (trial.left_track, trial.right_track):
        for kind, position, at in (("play", 0.0, 0), ("pause", 3.5, 3.5)):
            monkeypatch.setattr(timezone, "now", lambda moment=start + timedelta(seconds=at): moment)
            services.listening_record(participant=participant, track_id=track.pk, kind=kind, position_s=position)
        start += timedelta(seconds=10)
    monkeypatch.undo()
    heard = services.participant_trial_listening(participant=participant)
    assert heard == {(trial.pk, trial.left_track_id): pytest.approx(3.5), (trial.pk, trial.right_track_id): pytest.approx(3.5)}
    services.trial_answer(participant=participant, trial_id=trial.pk, choice="right", confidence=2)
    assert SimulationTrial.objects.get(pk=trial.pk).choice == "right"


def test_a_study_without_tests_or_without_the_pre_test_skips_their_pages(demo_catalog, liked):
    off = make_study(demo_catalog, slug="no-tests", simulation_trials=0)
    browser = _to_pretest(off, liked[0])
    assert browser.page() in (Page.WAIT, Page.RATE)
    assert not browser.participant.trials.exists()
    post_only = make_study(demo_catalog, slug="post-only", simulation_trials=1, simulation_pretest=False,
                           n_recommendations=2, simulation_bands=WIDE)
    browser = _to_pretest(post_only, liked[0])
    assert browser.page() in (Page.WAIT, Page.RATE)
    browser.post("rate", browser.rating_answers())
    assert browser.page() == Page.POSTTEST
    assert list(browser.participant.trials.values_list("phase", flat=True)) == ["post"]


def test_a_test_with_no_pair_left_to_draw_moves_the_participant_on(demo_catalog, liked):
    # Twelve clips, one liked and ten recommended: one candidate is no pair; the participant is never stuck.
    study = make_study(demo_catalog, slug="tiny", simulation_trials=3, n_recommendations=10, simulation_bands=WIDE)
    browser = _to_pretest(study, liked[0])  # the test page, on its first showing, passes the participant on
    assert browser.page() in (Page.WAIT, Page.RATE)
    assert not browser.participant.trials.exists()
    assert browser.participant.visits.filter(page=Page.PRETEST).exists()


def test_the_wait_clock_starts_when_the_participant_starts_waiting(tested_study, liked):
    browser = _to_pretest(tested_study, liked[0])
    before = browser.participant.recommendations_requested_at
    for trial in browser.participant.trials.filter(phase="pre"):
        _answer(browser, "test", trial)
    assert browser.participant.recommendations_requested_at > before


def test_the_bands_and_the_number_of_trials_are_checked(demo_catalog):
    study = make_study(demo_catalog, slug="bands", state="draft")
    for bands in ([], [[0.3]], [[0.3, 0.1]], [[0, 0.5]], [[0.1, 3]], "easy", [["a", "b"]]):
        study.simulation_bands = bands
        with pytest.raises(ValidationError, match="band"):
            study.full_clean()
    study.simulation_bands, study.simulation_trials = [[0.2, 1]], 41
    with pytest.raises(ValidationError, match="At most 40"):
        study.full_clean()
    study.simulation_trials = 6
    study.full_clean()


def test_a_new_study_holds_six_trials_in_each_test_by_default(demo_catalog):
    study = Study(catalog=demo_catalog, slug="defaults", title="t", consent_text="c")
    assert (study.simulation_trials, study.simulation_pretest, len(study.simulation_bands)) == (6, True, 3)


def test_the_launch_checklist_warns_when_the_pool_is_too_small_for_the_tests(demo_catalog):
    from research.services import study_warnings

    small = make_study(demo_catalog, slug="small", simulation_trials=6)  # 12 clips; 6 x 2 x 2 + 3 + 5 needed
    assert any("understanding tests need 32 tracks in the pool" in w and "it has 12" in w for w in study_warnings(small))
    fits = make_study(demo_catalog, slug="fits", simulation_trials=1, simulation_pretest=False, n_recommendations=2)
    assert not any("understanding tests" in w for w in study_warnings(fits))
