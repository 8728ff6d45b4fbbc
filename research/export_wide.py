"""The wide format: one row per participant who entered, one column per answer (``<scale>_<item>``, and
``<item>_r<rank>`` for the ratings of each recommendation), plus per-recommendation facts."""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

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
    participant_summaries,
    participants,
)
from research.export_trials import wide_trial_columns, wide_trial_values
from study.models import Item, Recommendation, Response, Study
from study.services import study_listening

_NOT_A_NAME = re.compile(r"[^A-Za-z0-9_]")


def variable_name(*parts: str) -> str:
    """A column name valid in R, pandas, Stata and SPSS: letters, digits and underscores, a letter first."""
    name = _NOT_A_NAME.sub("_", "_".join(p for p in parts if p))
    return (name if name[:1].isalpha() else f"v_{name}")[:64]


def item_column(item: Item, rank: int | None = None) -> str:
    """``<construct>_<code>`` for a question asked once, ``<code>_r<rank>`` for a rating of one recommendation."""
    if rank is not None:
        return variable_name(item.code, f"r{rank}")
    return variable_name(item.construct if item.construct != item.code else "", item.code)


WIDE_PARTICIPANT_COLUMNS = [
    ("participant", None),
    ("prolific_pid", None),
    ("condition", None),
    ("explanation", None),
    ("recommender", None),
    ("language", None),
    ("is_pilot", None),
    ("last_page", (STRING, "The page the participant reached last (done: finished; declined: no consent)")),
    ("started_at", (DATETIME, "When the participant first opened the study link (UTC)")),
    ("consented_at", (DATETIME, "When the participant consented (UTC)")),
    ("completed_at", (DATETIME, "When the participant finished (UTC)")),
    ("completed", (BOOLEAN, "The participant finished the study")),
    ("duration_s", None),
    ("too_fast", None),
    ("attention_passed", None),
    ("manipulation_passed", None),
    ("straightlined", None),
    ("attention_instructed", None),
    ("liked_track_ids", (STRING, "Catalog ids of the tracks the participant chose as liked, separated by spaces")),
    ("consent_version", (STRING, "The version of the study's texts the participant consented under (study/frozen.py: "
                                 "texts change only as a new version)")),
]

PER_RECOMMENDATION = [
    ("track_id", STRING, "Catalog id of the track recommended at rank {rank}"),
    ("similarity", NUMBER, "Similarity score of the recommendation at rank {rank}"),
    ("listened_s", NUMBER, "Seconds of the recommendation at rank {rank} heard (computed by the server)"),
    ("explanation_fallback", STRING, "Why (part of) the explanation of recommendation {rank} was not shown"),
]


def recommendation_ranks(study: Study) -> list[int]:
    """Ranks that get columns: the study's number of recommendations, or more if some participant got more."""
    highest = Recommendation.objects.filter(participant__study=study).order_by("-rank").values_list("rank", flat=True)
    return list(range(1, max([study.n_recommendations, *highest[:1]]) + 1))


def wide_columns(study: Study, options: Options) -> list[Column]:
    columns = [
        Column(name, *(spec or COMMON[name]))
        for name, spec in WIDE_PARTICIPANT_COLUMNS
        if name != "prolific_pid" or options.include_prolific_pid
    ]
    items = list(Item.objects.filter(study=study).order_by("order", "pk"))
    by_section = {section: [i for i in items if i.section == section] for section in Item.Section.values}
    for item in by_section[Item.Section.PRE]:
        columns.append(Column(item_column(item), INTEGER, item.text, item=item))
    for rank in recommendation_ranks(study):
        for name, kind, description in PER_RECOMMENDATION:
            columns.append(Column(f"{name}_r{rank}", kind, description.format(rank=rank), rank=rank))
        for item in by_section[Item.Section.RATING]:
            columns.append(Column(item_column(item, rank), INTEGER, item.text, item=item, rank=rank))
    for item in by_section[Item.Section.QUESTIONNAIRE]:
        columns.append(Column(item_column(item), INTEGER, item.text, item=item))
    columns += wide_trial_columns(study)
    names = [c.name for c in columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"two items would share the wide column name(s) {', '.join(duplicates)}; rename one")
    return columns


def wide_rows(study: Study, columns: list[Column], options: Options) -> Iterator[dict]:
    people = list(
        participants(study, options).select_related("assignment__condition").prefetch_related("liked_tracks")
        .order_by("pk")
    )
    by_item = {(c.item.pk, c.rank): c.name for c in columns if c.item is not None}
    answers = defaultdict(dict)
    for participant_id, item_id, rank, value in Response.objects.filter(participant__in=people).values_list(
        "participant_id", "item_id", "recommendation__rank", "value"
    ):
        answers[participant_id][by_item[item_id, rank]] = value
    listened = study_listening(study=study)
    for rec in Recommendation.objects.filter(participant__in=people).select_related("track"):
        answers[rec.participant_id].update({
            f"track_id_r{rec.rank}": rec.track.external_id,
            f"similarity_r{rec.rank}": round(rec.score, 6),
            f"listened_s_r{rec.rank}": listened.get(rec.pk, 0.0),
            f"explanation_fallback_r{rec.rank}": rec.explanation_fallback,
        })
    summaries = participant_summaries(study)
    tests = wide_trial_values(study, options)
    blank = dict.fromkeys((c.name for c in columns), "")
    for participant in people:
        condition = participant.condition
        yield {
            **blank,
            "participant": _who(participant.pk, options),
            "prolific_pid": participant.prolific_pid,
            "condition": condition.slug if condition else "",
            "explanation": condition.explanation if condition else "",
            "recommender": condition.recommender if condition else "",
            "language": participant.language,
            "is_pilot": participant.is_pilot,
            "last_page": participant.page,
            "started_at": participant.started_at,
            "consented_at": participant.consented_at or "",
            "completed_at": participant.completed_at or "",
            "completed": participant.completed_at is not None,
            **summaries[participant.pk],
            "liked_track_ids": " ".join(sorted(t.external_id for t in participant.liked_tracks.all())),
            "consent_version": participant.consent_version,
            **answers[participant.pk],
            **tests.get(participant.pk, {}),
        }


def wide_table(study: Study, options: Options) -> Table:
    """One row per participant who entered (those who left early too, with blanks), one column per answer."""
    columns = wide_columns(study, options)
    return Table("wide", columns, wide_rows(study, columns, options))
