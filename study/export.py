"""Study data as tidy rows: one row per answer (long format), ready for R or pandas."""
from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TextIO

from study.models import Response, Study

LONG_COLUMNS = [
    "participant",
    "prolific_pid",
    "condition",
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
    "value",
    "scale_min",
    "scale_max",
    "answered_at",
    "first_answered_at",
    "participant_completed",
]


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
    for response in responses.iterator(chunk_size=2000):
        participant, item, rec = response.participant, response.item, response.recommendation
        condition = participant.condition
        yield {
            "participant": participant.pk,
            "prolific_pid": participant.prolific_pid,
            "condition": condition.slug if condition else "",
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
            "value": response.value,
            "scale_min": item.scale_min,
            "scale_max": item.scale_max,
            "answered_at": response.answered_at.isoformat(),
            "first_answered_at": response.first_answered_at.isoformat(),
            "participant_completed": participant.completed_at is not None,
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
