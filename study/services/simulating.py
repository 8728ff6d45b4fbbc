"""Understanding tests (forward simulation): drawing a participant's trials, showing them one at a time, keeping
each answer once, and the score the debrief reports.

A trial asks which of two tracks the system would recommend to someone who liked a third; the right answer is
the candidate the participant's own recommender scores higher, by the quantity it ranks (and explains) by. No
explanation is shown in a trial, in any condition, and nothing says whether an answer was right until the
debrief. Both tests are drawn at once, the first time either is needed, so the post-test never repeats a
pre-test candidate and neither holds one of the participant's recommendations.
"""
from __future__ import annotations

import logging
from collections import Counter

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from recommender import services as recommender_services
from study import forward_simulation
from study.models import Participant, SimulationTrial, Study
from study.services.choosing import study_pool
from study.services.journey import FlowError, advance, require_page
from study.services.listening import participant_trial_listening
from study.services.recommending import study_recommender_index

logger = logging.getLogger(__name__)
Page = Participant.Page
Phase = SimulationTrial.Phase

#: The page each test is taken on.
TEST_PAGES = {Page.PRETEST: Phase.PRE, Page.POSTTEST: Phase.POST}
#: The confidence scale under each trial: 1 (a guess) to CONFIDENCE_POINTS (certain).
CONFIDENCE_POINTS = 5


class TrialError(FlowError):
    """An answer to a trial that cannot be kept (not the trial shown, an unknown side, too little listening)."""


def study_phases(study: Study) -> list[str]:
    """The tests a study's participants take, in order."""
    if not study.simulation_trials:
        return []
    return [Phase.PRE, Phase.POST] if study.simulation_pretest else [Phase.POST]


def _excluded_tracks(participant: Participant, index, liked_ids: list[int], pool: list[int] | None) -> set[int]:
    """Tracks no trial of this participant may offer: liked ones, copies of them, their recommendations."""
    study = participant.study
    excluded = recommender_services.liked_copies(catalog_id=study.catalog_id, liked_track_ids=liked_ids)
    # The recommendations the job computes (or has computed) for them: the same call, so the same tracks.
    matches = recommender_services.recommend(
        index=index, liked_track_ids=liked_ids, k=study.n_recommendations, allowed_track_ids=pool,
    )
    return excluded | {m.track_id for m in matches}


def _draw(participant: Participant) -> list[SimulationTrial]:
    study = participant.study
    recommender = participant.condition.recommender
    index = study_recommender_index(study, recommender)
    liked_ids = sorted(participant.liked_tracks.values_list("pk", flat=True))
    if index is None or not liked_ids:
        logger.warning("No understanding-test trials for participant %s: %s", participant.pk,
                       "no index" if index is None else "no liked track")
        return []
    loaded = recommender_services.load_index(index.pk)
    pool_ids = list(study_pool(study).values_list("pk", flat=True))
    restricted = pool_ids if study.pool_styles or study.pool_track_ids else None
    eligible = np.zeros(len(loaded.track_ids), dtype=bool)
    eligible[loaded.rows_of(pool_ids)] = True
    eligible[loaded.rows_of(_excluded_tracks(participant, index, liked_ids, restricted))] = False
    seeds = [(track_id, rows[0]) for track_id in liked_ids if len(rows := loaded.rows_of([track_id]))]
    bands = [tuple(band) for band in study.simulation_bands]
    rng = np.random.default_rng(forward_simulation.stream_seed(study.randomisation_seed, "participant", participant.pk))
    drawn = Counter()
    trials = []
    for phase in study_phases(study):
        planned = forward_simulation.plan(study.simulation_trials, len(seeds), len(bands), rng)
        model_left = forward_simulation.balanced_sides(len(planned), rng)
        position = 0
        for (seed_number, band_number), left_is_right_answer in zip(planned, model_left, strict=True):
            seed_id, seed_row = seeds[seed_number]
            scores = loaded.vectors @ loaded.vectors[seed_row]
            pair = None
            # The planned band first; where it holds no pair any more (a small pool), the next one that does.
            for band in [*range(band_number, len(bands)), *range(band_number)]:
                drawn[seed_id, band] += 1
                pair = forward_simulation.draw_pair(scores, eligible, bands[band], forward_simulation.stream_seed(
                    study.randomisation_seed, index.feature_set, seed_id, band, drawn[seed_id, band]))
                if pair:
                    break
            if pair is None:
                logger.warning("Participant %s: no candidate pair left for trial %s of the %s-test", participant.pk,
                               position + 1, phase)
                continue
            eligible[[pair.first, pair.second]] = False
            higher, lower = sorted(
                [(pair.first_score, int(loaded.track_ids[pair.first])), (pair.second_score, int(loaded.track_ids[pair.second]))],
                reverse=True,
            )
            (left_score, left), (right_score, right) = (higher, lower) if left_is_right_answer else (lower, higher)
            position += 1
            trials.append(SimulationTrial(
                participant=participant, phase=phase, position=position, seed_track_id=seed_id, left_track_id=left,
                right_track_id=right, left_score=left_score, right_score=right_score, index=index, band=band,
                item=f"{index.feature_set}:{seed_id}:{min(left, right)}-{max(left, right)}",
            ))
    return trials


def participant_trials(*, participant: Participant, phase: str) -> list[SimulationTrial]:
    """The participant's trials of one test, drawn (both tests at once) the first time either is asked for."""
    if not participant.trials.exists():
        trials = _draw(participant)
        try:
            with transaction.atomic():
                SimulationTrial.objects.bulk_create(trials)
        except IntegrityError:
            pass  # another tab drew them first: the same draw, kept once
    return list(participant.trials.filter(phase=phase).select_related("seed_track", "left_track", "right_track"))


def participant_current_trial(*, participant: Participant) -> tuple[SimulationTrial | None, int]:
    """The trial the participant's test page shows (the first unanswered one, marked as shown) and how many the
    test has; a test with nothing left to answer moves the participant on and returns None."""
    page = participant.page
    if page not in TEST_PAGES:
        raise FlowError(_("There is no test on this page."))
    trials = participant_trials(participant=participant, phase=TEST_PAGES[page])
    trial = next((t for t in trials if not t.choice), None)
    if trial is None:
        _leave_test(participant, page)
        return None, len(trials)
    if trial.shown_at is None:
        now = timezone.now()
        SimulationTrial.objects.filter(pk=trial.pk, shown_at=None).update(shown_at=now)
        trial.refresh_from_db(fields=["shown_at"])
    return trial, len(trials)


def _leave_test(participant: Participant, page: str) -> None:
    # The waiting page's clock starts when the participant starts waiting, not when the job was sent before
    # the pre-test: a participant who took three minutes over the test has not waited three minutes.
    fields = {"recommendations_requested_at": timezone.now()} if page == Page.PRETEST else {}
    advance(participant, from_page=page, **fields)


def trial_answer(
    *, participant: Participant, trial_id: int, choice: str, confidence: int, client_ms: int | None = None,
) -> SimulationTrial:
    """Keep the participant's answer to the trial their page shows: once, never changed (a second identical
    answer, from a double click or another tab, is the same answer). Moves on after the test's last trial."""
    page = participant.page
    if page not in TEST_PAGES:
        require_page(participant, Page.PRETEST)  # raises the usual "already done" message
    trial = participant.trials.filter(pk=trial_id, phase=TEST_PAGES[page]).first()
    if trial is None:
        raise TrialError(_("That question is not part of your test."))
    if choice not in SimulationTrial.Side.values:
        raise TrialError(_("Please choose one of the two tracks."))
    if not (isinstance(confidence, int) and 1 <= confidence <= CONFIDENCE_POINTS):
        raise TrialError(_("Please say how sure you are."))
    if trial.choice:
        if (trial.choice, trial.confidence) != (choice, confidence):
            raise TrialError(_("You have answered that question already; answers cannot be changed."))
        return trial
    _check_listened(participant, trial)
    client_ms = client_ms if isinstance(client_ms, int) and 0 <= client_ms <= 24 * 3600 * 1000 else None
    SimulationTrial.objects.filter(pk=trial.pk, choice="").update(
        choice=choice, confidence=confidence, client_ms=client_ms, answered_at=timezone.now(),
    )
    trial.refresh_from_db()
    if not participant.trials.filter(phase=trial.phase, choice="").exists():
        _leave_test(participant, page)
    return trial


def _check_listened(participant: Participant, trial: SimulationTrial) -> None:
    """The study's must-listen rule, as for recommendations: each candidate heard for the required seconds."""
    required = participant.study.required_listening_s
    if not required:
        return
    heard = participant_trial_listening(participant=participant)
    for track_id in (trial.left_track_id, trial.right_track_id):
        if heard.get((trial.pk, track_id), 0.0) < required:
            raise TrialError(_("Please listen to at least %(s)d seconds of both tracks before answering.")
                             % {"s": required})


def participant_test_scores(*, participant: Participant) -> dict[str, tuple[int, int]]:
    """(answers that agreed with the model, trials answered) per test taken, for the debrief."""
    scores = {}
    for trial in participant.trials.exclude(choice=""):
        correct, answered = scores.get(trial.phase, (0, 0))
        scores[trial.phase] = (correct + bool(trial.correct), answered + 1)
    return scores
