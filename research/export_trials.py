"""Understanding-test trials as data: the ``trials`` format (one row per trial), the rows they add to the long
format, and each participant's accuracy for the wide one. Participants are named as in every other format."""
from __future__ import annotations

from collections.abc import Iterator

from django.utils.translation import gettext_noop

from research.export import (
    BOOLEAN,
    COMMON,
    DATETIME,
    INTEGER,
    NUMBER,
    STRING,
    Column,
    Options,
    Table,
    _who,
    participants,
)
from study.models import SimulationTrial, Study, model_side
from study.services import CONFIDENCE_POINTS, study_phases, study_trial_listening

#: What participants read in a trial: the codebook gives it in every participant language.
CHOICE_QUESTION = gettext_noop("Which of these two would the system recommend to them?")
CONFIDENCE_QUESTION = gettext_noop("How sure are you?")
CONFIDENCE_LABELS = {1: gettext_noop("Just guessing"), CONFIDENCE_POINTS: gettext_noop("Completely sure")}
SIDE_LABELS = {"left": gettext_noop("Track A (shown first, on the left)"),
               "right": gettext_noop("Track B (shown second, on the right)")}

TRIAL_COLUMNS = [
    Column("participant", *COMMON["participant"]),
    Column("condition", *COMMON["condition"]),
    Column("explanation", *COMMON["explanation"]),
    Column("recommender", *COMMON["recommender"]),
    Column("language", *COMMON["language"]),
    Column("is_pilot", *COMMON["is_pilot"]),
    Column("phase", STRING, "Which test: pre (after choosing liked tracks, before any explanation) or post (after "
                            "rating the recommendations)", labels={"pre": "pre-test", "post": "post-test"}),
    Column("trial", INTEGER, "Position of the trial in its test (1 = first shown)"),
    Column("trial_item", STRING, "The trial's identity across participants (index kind:liked track:the two candidates' "
                           "database ids): the same item in every condition that shares the recommender"),
    Column("band", INTEGER, "Difficulty band of the study's simulation_bands the trial was drawn in (0 = first)"),
    Column("margin", NUMBER, "Difference between the two candidates' scores (larger: easier)"),
    Column("seed_track_id", STRING, "Catalog id of the liked track the trial asks about"),
    Column("left_track_id", STRING, "Catalog id of the candidate shown first (A, on the left)"),
    Column("right_track_id", STRING, "Catalog id of the candidate shown second (B, on the right)"),
    Column("left_score", NUMBER, "The recommender's score of candidate A for the liked track (its ranking quantity)"),
    Column("right_score", NUMBER, "The recommender's score of candidate B for the liked track"),
    Column("model_choice", STRING, "The candidate the recommender scores higher: the right answer",
           labels=SIDE_LABELS),
    Column("choice", STRING, "The candidate the participant said the system would recommend; empty if not answered",
           text=CHOICE_QUESTION, labels=SIDE_LABELS),
    Column("correct", BOOLEAN, "The participant's choice is the model's; empty if not answered"),
    Column("chosen_track_id", STRING, "Catalog id of the candidate the participant chose"),
    Column("confidence", INTEGER, f"How sure the participant was, 1 to {CONFIDENCE_POINTS}",
           text=CONFIDENCE_QUESTION, labels=CONFIDENCE_LABELS),
    Column("response_ms", INTEGER, "Milliseconds from the server first showing the trial to the answer arriving"),
    Column("client_ms", INTEGER, "Milliseconds from showing the trial to the answer, measured by the page"),
    Column("left_listened_s", NUMBER, "Seconds of candidate A heard on the trial (computed by the server)"),
    Column("right_listened_s", NUMBER, "Seconds of candidate B heard on the trial (computed by the server)"),
    Column("shown_at", DATETIME, "When the trial was first shown (UTC)"),
    Column("answered_at", DATETIME, "When the trial was answered (UTC)"),
    Column("index_version", INTEGER, "Version of the similarity index whose scores decide the right answer"),
]


def study_trials(study: Study, options: Options):
    return (
        SimulationTrial.objects.filter(participant__in=participants(study, options))
        .select_related("participant__assignment__condition", "seed_track", "left_track", "right_track", "index")
        .order_by("participant_id", "-phase", "position")
    )


def trials_rows(study: Study, options: Options) -> Iterator[dict]:
    heard = study_trial_listening(study=study)
    for trial in study_trials(study, options).iterator(chunk_size=2000):
        participant = trial.participant
        condition = participant.condition
        chosen = {"left": trial.left_track, "right": trial.right_track}.get(trial.choice)
        yield {
            "participant": _who(participant.pk, options),
            "condition": condition.slug if condition else "",
            "explanation": condition.explanation if condition else "",
            "recommender": condition.recommender if condition else "",
            "language": participant.language,
            "is_pilot": participant.is_pilot,
            "phase": trial.phase,
            "trial": trial.position,
            "trial_item": trial.item,
            "band": trial.band,
            "margin": round(trial.margin, 6),
            "seed_track_id": trial.seed_track.external_id,
            "left_track_id": trial.left_track.external_id,
            "right_track_id": trial.right_track.external_id,
            "left_score": round(trial.left_score, 6),
            "right_score": round(trial.right_score, 6),
            "model_choice": trial.model_choice,
            "choice": trial.choice,
            "correct": "" if trial.correct is None else trial.correct,
            "chosen_track_id": chosen.external_id if chosen else "",
            "confidence": trial.confidence or "",
            "response_ms": trial.response_ms if trial.response_ms is not None else "",
            "client_ms": trial.client_ms if trial.client_ms is not None else "",
            "left_listened_s": heard.get((trial.pk, trial.left_track_id), 0.0),
            "right_listened_s": heard.get((trial.pk, trial.right_track_id), 0.0),
            "shown_at": trial.shown_at or "",
            "answered_at": trial.answered_at or "",
            "index_version": trial.index.version,
        }


def trials_table(study: Study, options: Options) -> Table:
    """One row per understanding-test trial drawn (unanswered ones with an empty choice)."""
    return Table("trials", list(TRIAL_COLUMNS), trials_rows(study, options))


# The long format's rows ------------------------------------------------------------------------


def long_trial_rows(study: Study, options: Options, base: dict[int, dict]) -> Iterator[tuple[int, dict]]:
    """(participant id, row) for each answered trial: one row whose value is 1 when the choice was the model's (0
    otherwise), one with the confidence. ``base`` holds each participant's columns common to all their rows."""
    heard = study_trial_listening(study=study)
    for trial in study_trials(study, options).exclude(choice=""):
        chosen = trial.left_track if trial.choice == "left" else trial.right_track
        common = {
            **base[trial.participant_id], "section": "simulation", "seed_track_id": trial.seed_track.external_id,
            "track_id": chosen.external_id, "track_title": chosen.title,
            "similarity": round(trial.left_score if trial.choice == "left" else trial.right_score, 6),
            "index_version": trial.index.version, "index_kind": trial.index.feature_set,
            "track_license": chosen.license, "track_attribution": chosen.attribution,
            "listened_s": heard.get((trial.pk, chosen.pk), 0.0), "answered_at": trial.answered_at.isoformat(),
            "first_answered_at": trial.answered_at.isoformat(), "item_position": trial.position,
        }
        code = f"sim_{trial.phase}_{trial.position}"
        yield trial.participant_id, {**common, "construct": "forward_simulation", "item": code,
                                     "value": int(bool(trial.correct)), "scale_min": 0, "scale_max": 1}
        yield trial.participant_id, {**common, "construct": "simulation_confidence", "item": f"{code}_confidence",
                                     "value": trial.confidence, "scale_min": 1, "scale_max": CONFIDENCE_POINTS}


# The wide format's columns ------------------------------------------------------------------------


def wide_trial_columns(study: Study) -> list[Column]:
    """Accuracy and confidence per test the study holds (or held for some participant), and the improvement."""
    held = set(study_phases(study)) | set(
        SimulationTrial.objects.filter(participant__study=study).values_list("phase", flat=True).distinct()
    )
    columns = []
    for phase, name in (("pre", "pre-test"), ("post", "post-test")):
        if phase in held:
            columns += [
                Column(f"sim_{phase}_answered", INTEGER, f"Understanding {name}: trials answered"),
                Column(f"sim_{phase}_correct", INTEGER, f"Understanding {name}: trials answered as the model would"),
                Column(f"sim_{phase}_accuracy", NUMBER, f"Understanding {name}: share answered as the model would"),
                Column(f"sim_{phase}_confidence", NUMBER, f"Understanding {name}: mean confidence (1 to {CONFIDENCE_POINTS})"),
            ]
    if held == {"pre", "post"}:
        columns.append(Column("sim_improvement", NUMBER, "Understanding: post-test minus pre-test accuracy"))
    return columns


def wide_trial_values(study: Study, options: Options) -> dict[int, dict]:
    """Per participant id: the wide columns of their tests (blank for a test not taken)."""
    totals: dict[int, dict] = {}
    for participant_id, phase, left, right, choice, confidence in (
        SimulationTrial.objects.filter(participant__in=participants(study, options)).exclude(choice="")
        .values_list("participant_id", "phase", "left_score", "right_score", "choice", "confidence")
    ):
        answered, correct, confidences = totals.setdefault(participant_id, {}).setdefault(phase, [0, 0, 0])
        model = model_side(left, right)
        totals[participant_id][phase] = [answered + 1, correct + (choice == model), confidences + (confidence or 0)]
    values = {}
    for participant_id, phases in totals.items():
        row = {}
        for phase, (answered, correct, confidences) in phases.items():
            row.update({f"sim_{phase}_answered": answered, f"sim_{phase}_correct": correct,
                        f"sim_{phase}_accuracy": round(correct / answered, 6),
                        f"sim_{phase}_confidence": round(confidences / answered, 6)})
        if "pre" in phases and "post" in phases:
            row["sim_improvement"] = round(row["sim_post_accuracy"] - row["sim_pre_accuracy"], 6)
        values[participant_id] = row
    return values
