"""Study data as tidy rows: one row per answer (long format), ready for R or pandas."""
from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TextIO

from study.models import Item, Response, Study
from study.questionnaires import MANIPULATION_ANSWER
from study.services import study_listening

LONG_COLUMNS = [
    "participant",
    "prolific_pid",
    "condition",
    "language",
    "explanation",
    "section",
    "construct",
    "item",
    "recommendation_rank",
    "track_id",
    "track_title",
    "seed_track_id",
    "similarity",
    "index_version",
    "feature_explanation",
    "spectrogram_explanation",
    "explanation_fallback",
    "listened_s",
    "value",
    "scale_min",
    "scale_max",
    "answered_at",
    "first_answered_at",
    "participant_completed",
    "duration_s",
    "too_fast",
    "attention_passed",
    "manipulation_passed",
]


def participant_summaries(study: Study) -> dict[int, dict]:
    """Per participant: time taken and the checks, computed once for every row of theirs.

    Checks are True or False once answered, "" before; duration is from consent to completion.
    """
    checks = {
        (participant_id, check): (value, correct, explanation)
        for participant_id, check, value, correct, explanation in Response.objects.filter(
            participant__study=study, item__check_kind__in=[Item.Check.ATTENTION, Item.Check.MANIPULATION]
        ).values_list(
            "participant_id", "item__check_kind", "value", "item__correct_value",
            "participant__assignment__condition__explanation",
        )
    }

    def passed(participant_id, check):
        if (participant_id, check) not in checks:
            return ""
        value, correct, explanation = checks[participant_id, check]
        expected = correct if check == Item.Check.ATTENTION else MANIPULATION_ANSWER.get(explanation)
        return value == expected

    summaries = {}
    for participant_id, consented_at, completed_at in study.participants.values_list("pk", "consented_at", "completed_at"):
        duration = (completed_at - consented_at).total_seconds() if completed_at and consented_at else None
        summaries[participant_id] = {
            "duration_s": round(duration, 1) if duration is not None else "",
            "too_fast": duration is not None and duration < study.min_duration_s,
            "attention_passed": passed(participant_id, Item.Check.ATTENTION),
            "manipulation_passed": passed(participant_id, Item.Check.MANIPULATION),
        }
    return summaries


def long_rows(study: Study) -> Iterator[dict]:
    responses = (
        Response.objects.filter(participant__study=study)
        .select_related(
            "participant__assignment__condition",
            "item",
            "recommendation__track",
            "recommendation__seed_track",
            "recommendation__index",
            "recommendation__feature_explanation",
            "recommendation__spectrogram_explanation",
        )
        .order_by("participant_id", "item__section", "recommendation__rank", "item__order", "item_id")
    )
    summaries = participant_summaries(study)
    listened = study_listening(study=study)
    for response in responses.iterator(chunk_size=2000):
        participant, item, rec = response.participant, response.item, response.recommendation
        condition = participant.condition
        yield {
            "participant": participant.pk,
            "prolific_pid": participant.prolific_pid,
            "condition": condition.slug if condition else "",
            "language": participant.language,
            "explanation": condition.explanation if condition else "",
            "section": item.section,
            "construct": item.construct,
            "item": item.code,
            "recommendation_rank": rec.rank if rec else "",
            "track_id": rec.track.external_id if rec else "",
            "track_title": rec.track.title if rec else "",
            "seed_track_id": rec.seed_track.external_id if rec else "",
            "similarity": round(rec.score, 6) if rec else "",
            "index_version": rec.index.version if rec else "",
            # The content hash names the exact figure file the participant saw.
            "feature_explanation": rec.feature_explanation.content_hash if rec and rec.feature_explanation else "",
            "spectrogram_explanation": (
                rec.spectrogram_explanation.content_hash if rec and rec.spectrogram_explanation else ""
            ),
            # Why a figure of the condition's explanation was not shown (empty: all of it was shown).
            "explanation_fallback": rec.explanation_fallback if rec else "",
            # Seconds of this recommendation heard, computed by the server from the player events.
            "listened_s": listened.get(rec.pk, 0.0) if rec else "",
            "value": response.value,
            # The values this item's answers can take: a choice item's option codes, not the Likert defaults.
            "scale_min": min(item.scale),
            "scale_max": max(item.scale),
            "answered_at": response.answered_at.isoformat(),
            "first_answered_at": response.first_answered_at.isoformat(),
            "participant_completed": participant.completed_at is not None,
            **summaries[participant.pk],
        }


def write_long_csv(study: Study, out: TextIO) -> int:
    """Write every answer of a study as CSV; returns the number of rows."""
    writer = csv.DictWriter(out, fieldnames=LONG_COLUMNS)
    writer.writeheader()
    n = 0
    for row in long_rows(study):
        writer.writerow(row)
        n += 1
    return n
