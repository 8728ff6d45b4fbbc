"""Study data as tables for R, pandas and SPSS: answers (long), participants (wide), events.

A table is its columns (each with a type and a description, which the codebook reads)
and its rows as dicts. Participants are named by a keyed pseudonym, and pilot (bot)
participants left out, unless asked otherwise; the legacy ``csv`` table keeps the raw
ids it has always had. The wide format is in research.export_wide; research.export_files
writes the tables as files.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.utils.crypto import salted_hmac

from study.models import Item, ListeningEvent, PageVisit, Participant, Response, Study
from study.questionnaires import MANIPULATION_ANSWER
from study.services import study_listening

#: The published columns of ``export_responses --format csv`` (and of the API's responses): never reorder.
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
    # Added with the networks; new columns only ever go at the end.
    "recommender",
    "index_kind",
    "model_sha256",
    "tags_explanation",
    "item_position",
    "straightlined",
    "track_license",
    "track_attribution",
    "consent_version",
]

STRING, INTEGER, NUMBER, BOOLEAN, DATETIME = "string", "integer", "number", "boolean", "datetime"
#: Straight-lining is flagged only over at least this many post-questionnaire rating-scale answers.
STRAIGHTLINE_MIN_ITEMS = 5


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    item: Item | None = None  # the question whose answer this column holds (wide format)
    rank: int | None = None  # the recommendation it is about
    text: str = ""  # a question participants read that is not an item (translated in the codebook)
    labels: dict | None = None  # what some of its values mean (the codebook and SPSS's value labels)


@dataclass
class Table:
    name: str
    columns: list[Column]
    rows: Iterable[dict] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]


@dataclass(frozen=True)
class Options:
    include_pilot: bool = False
    #: Name participants by a keyed pseudonym instead of their database id.
    pseudonymous: bool = True
    include_prolific_pid: bool = False


#: The legacy ``csv`` format: raw database ids and Prolific ids, as published before pseudonyms existed.
LEGACY = Options(pseudonymous=False, include_prolific_pid=True)

#: What each column common to several tables means (type, description).
COMMON = {
    "participant": (STRING, "Participant: a pseudonym (HMAC-SHA256 of the participant's id keyed with the "
                            "server's SECRET_KEY, 16 hex digits), or the database id in the legacy csv format"),
    "prolific_pid": (STRING, "The participant's Prolific id (PROLIFIC_PID); identifying"),
    "condition": (STRING, "Condition the participant was randomised to (its slug); empty before consent"),
    "language": (STRING, "Language the participant's pages were shown in"),
    "explanation": (STRING, "What the condition's explanations show: none, features, spectrogram, both or tags"),
    "recommender": (STRING, "Which model recommends in the participant's condition: features, tagger or cnn"),
    "duration_s": (NUMBER, "Seconds from consent to completion; empty if not completed"),
    "too_fast": (BOOLEAN, "Completed faster than the study's min_duration_s"),
    "attention_passed": (BOOLEAN, "Gave the instructed answer to the attention check; empty if not answered"),
    "manipulation_passed": (BOOLEAN, "Named the explanation their condition showed; empty if not answered"),
    "attention_instructed": (STRING, "The answer the attention check asked this participant for, where the study "
                                     "draws it per participant (never a scale's end); empty where it is fixed"),
    "straightlined": (BOOLEAN, "Gave one and the same answer to every rating-scale item of the post-questionnaire "
                               "(at least 5 items, reverse-coded ones among them); empty before then"),
    "is_pilot": (BOOLEAN, "A pilot participant: entered while the study was in its pilot state, or a simulated one "
                          "(run_bots; their STUDY_ID is 'pilot-bots')"),
}

LONG_TYPES = {
    "section": (STRING, "Where the question was asked: pre, rating (per recommendation), questionnaire, or "
                        "simulation (an understanding-test trial: item sim_<phase>_<trial> is 1 when the choice was "
                        "the model's, 0 when not; sim_<phase>_<trial>_confidence how sure the participant was)"),
    "construct": (STRING, "The scale the item belongs to"),
    "item": (STRING, "The item's code; its wording and scale are in the codebook"),
    "recommendation_rank": (INTEGER, "Rank of the recommendation rated (rating items only)"),
    "track_id": (STRING, "Catalog id of the recommended track"),
    "track_title": (STRING, "Title of the recommended track"),
    "seed_track_id": (STRING, "Catalog id of the liked track the recommendation came from"),
    "similarity": (NUMBER, "Similarity score of the recommendation (cosine)"),
    "index_version": (INTEGER, "Version of the similarity index that produced the recommendation"),
    "index_kind": (STRING, "What that index holds: audio or catalog features, tagger or cnn embeddings"),
    "model_sha256": (STRING, "SHA-256 of the network's weights behind that index (tagger and CNN indexes)"),
    "tags_explanation": (STRING, "Content hash of the tags explanation figure shown; empty if none"),
    "item_position": (INTEGER, "Where on its page the participant saw the item (1 = first): the study's order, or "
                               "the participant's own when the study randomises item order"),
    "feature_explanation": (STRING, "Content hash of the feature explanation figure shown; empty if none"),
    "spectrogram_explanation": (STRING, "Content hash of the spectrogram explanation figure shown; empty if none"),
    "explanation_fallback": (STRING, "Why (part of) the condition's explanation was not shown; empty if it was"),
    "listened_s": (NUMBER, "Seconds of the recommendation heard, computed by the server from player events"),
    "value": (INTEGER, "The answer (the item's scale value or option code)"),
    "scale_min": (INTEGER, "Lowest value of the item's scale"),
    "scale_max": (INTEGER, "Highest value of the item's scale"),
    "answered_at": (DATETIME, "When the answer was last changed (UTC)"),
    "first_answered_at": (DATETIME, "When the question was first answered (UTC)"),
    "participant_completed": (BOOLEAN, "The participant finished the study"),
    "track_license": (STRING, "The recommended (or chosen) track's licence, as the catalog gives it"),
    "track_attribution": (STRING, "How the recommended (or chosen) track's author asks to be credited"),
    "consent_version": (STRING, "The version of the study's texts the participant consented under (a running study's "
                                "texts change only with a new version: study/frozen.py)"),
}


def _column(name: str) -> Column:
    kind, description = COMMON.get(name) or LONG_TYPES[name]
    return Column(name, kind, description)


def pseudonym(participant_id: int) -> str:
    """A stable pseudonym for a participant: the same in every export while SECRET_KEY stays the same."""
    # The salt keeps the name it had before the workbench moved: another would change every pseudonym.
    return salted_hmac("study.export.pseudonym", str(participant_id), algorithm="sha256").hexdigest()[:16]


def _who(participant_id: int, options: Options):
    return pseudonym(participant_id) if options.pseudonymous else participant_id


def participants(study: Study, options: Options):
    rows = study.participants.all()
    return rows if options.include_pilot else rows.filter(is_pilot=False)


def participant_summaries(study: Study) -> dict[int, dict]:
    """Per participant: time taken and the checks, computed once for every row of theirs.

    Checks are True or False once answered, "" before; duration is from consent to completion.
    """
    instructed = dict(study.participants.values_list("pk", "instructed"))
    checks = {
        (participant_id, check): (value, correct, explanation, code)
        for participant_id, check, value, correct, explanation, code in Response.objects.filter(
            participant__study=study, item__check_kind__in=[Item.Check.ATTENTION, Item.Check.MANIPULATION]
        ).values_list(
            "participant_id", "item__check_kind", "value", "item__correct_value",
            "participant__assignment__condition__explanation", "item__code",
        )
    }

    def passed(participant_id, check):
        if (participant_id, check) not in checks:
            return ""
        value, correct, explanation, code = checks[participant_id, check]
        if check == Item.Check.MANIPULATION:
            return value == MANIPULATION_ANSWER.get(explanation)
        # An attention check without a fixed answer asked each participant for the value drawn for them.
        return value == (correct if correct is not None else (instructed.get(participant_id) or {}).get(code))

    questionnaire = defaultdict(list)
    for participant_id, value in Response.objects.filter(
        participant__study=study, item__section=Item.Section.QUESTIONNAIRE, item__kind=Item.Kind.LIKERT,
        item__check_kind=Item.Check.NONE,
    ).values_list("participant_id", "value"):
        questionnaire[participant_id].append(value)

    def straightlined(participant_id):
        values = questionnaire.get(participant_id, [])
        return "" if len(values) < STRAIGHTLINE_MIN_ITEMS else len(set(values)) == 1

    summaries = {}
    for participant_id, consented_at, completed_at in study.participants.values_list("pk", "consented_at", "completed_at"):
        duration = (completed_at - consented_at).total_seconds() if completed_at and consented_at else None
        summaries[participant_id] = {
            "duration_s": round(duration, 1) if duration is not None else "",
            "too_fast": duration is not None and duration < study.min_duration_s,
            "attention_passed": passed(participant_id, Item.Check.ATTENTION),
            "manipulation_passed": passed(participant_id, Item.Check.MANIPULATION),
            "straightlined": straightlined(participant_id),
            "attention_instructed": " ".join(str(v) for v in (instructed.get(participant_id) or {}).values()),
        }
    return summaries


def long_rows(study: Study, options: Options = LEGACY) -> Iterator[dict]:
    """One row per answer, with every column of LONG_COLUMNS plus ``is_pilot``."""
    responses = (
        Response.objects.filter(participant__in=participants(study, options))
        .select_related(
            "participant__assignment__condition",
            "item",
            "recommendation__track",
            "recommendation__seed_track",
            "recommendation__index__model",
            "recommendation__feature_explanation",
            "recommendation__spectrogram_explanation",
            "recommendation__tags_explanation",
        )
        .order_by("participant_id", "item__section", "recommendation__rank", "item__order", "item_id")
    )
    summaries = participant_summaries(study)
    listened = study_listening(study=study)
    # Each section's items in the study's order; a participant's own order (item_order) where randomised.
    positions = {
        section: list(Item.objects.filter(study=study, section=section).values_list("code", flat=True))
        for section in Item.Section.values
    }
    trial_rows = _trial_rows_by_participant(study, options, summaries)
    for response in responses.iterator(chunk_size=2000):
        participant, item, rec = response.participant, response.item, response.recommendation
        # Each participant's rows together: their understanding-test trials go before their first answer.
        yield from trial_rows.pop(participant.pk, [])
        condition = participant.condition
        yield {
            "participant": _who(participant.pk, options),
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
            "recommender": condition.recommender if condition else "",
            "index_kind": rec.index.feature_set if rec else "",
            "model_sha256": rec.index.model.sha256 if rec and rec.index.model else "",
            "tags_explanation": rec.tags_explanation.content_hash if rec and rec.tags_explanation else "",
            "item_position": _position(participant, item, positions),
            "track_license": rec.track.license if rec else "",
            "track_attribution": rec.track.attribution if rec else "",
            "consent_version": participant.consent_version,
            "is_pilot": participant.is_pilot,
        }
    for rows in trial_rows.values():  # participants with trials and no answer (they left during a test)
        yield from rows


def _trial_rows_by_participant(study: Study, options: Options, summaries: dict) -> dict[int, list[dict]]:
    from research.export_trials import long_trial_rows

    people = participants(study, options).filter(trials__isnull=False).distinct().select_related("assignment__condition")
    blank = dict.fromkeys([*LONG_COLUMNS, "is_pilot"], "")
    base = {}
    for participant in people:
        condition = participant.condition
        base[participant.pk] = {
            **blank, "participant": _who(participant.pk, options), "prolific_pid": participant.prolific_pid,
            "condition": condition.slug if condition else "", "language": participant.language,
            "explanation": condition.explanation if condition else "",
            "participant_completed": participant.completed_at is not None, **summaries[participant.pk],
            "recommender": condition.recommender if condition else "", "is_pilot": participant.is_pilot,
            "consent_version": participant.consent_version,
        }
    rows: dict[int, list[dict]] = {}
    for participant_id, row in long_trial_rows(study, options, base):
        rows.setdefault(participant_id, []).append(row)
    return rows


def _position(participant: Participant, item: Item, positions: dict[str, list[str]]) -> int | str:
    order = (participant.item_order or {}).get(item.section) or positions[item.section]
    return order.index(item.code) + 1 if item.code in order else ""


def legacy_table(study: Study, *, include_pilot: bool = False) -> Table:
    """The published ``csv`` format: LONG_COLUMNS exactly, raw participant and Prolific ids."""
    options = Options(include_pilot=include_pilot, pseudonymous=False, include_prolific_pid=True)
    return Table("csv", [_column(name) for name in LONG_COLUMNS], long_rows(study, options))


def long_table(study: Study, options: Options) -> Table:
    """One row per answer: the legacy columns, with pseudonyms, the Prolific id only on request, and ``is_pilot``."""
    names = [n for n in LONG_COLUMNS if n != "prolific_pid" or options.include_prolific_pid] + ["is_pilot"]
    return Table("long", [_column(name) for name in names], long_rows(study, options))


# Events --------------------------------------------------------------------------------------

EVENT_COLUMNS = [
    Column("participant", *COMMON["participant"]),
    Column("condition", *COMMON["condition"]),
    Column("is_pilot", *COMMON["is_pilot"]),
    Column("event_type", STRING, "page_visit (a page entered and left) or player (a play, pause, seek or end)"),
    Column("page", STRING, "The page the event happened on"),
    Column("at", DATETIME, "Server time the page was entered or the player event arrived (UTC)"),
    Column("left_at", DATETIME, "Page visits: server time the page was left (UTC); empty if never left"),
    Column("visit_s", NUMBER, "Page visits: seconds on the page"),
    Column("event", STRING, "Player events: play, pause, seeked, ended or progress"),
    Column("track_id", STRING, "Player events: catalog id of the clip"),
    Column("recommendation_rank", INTEGER, "Player events: rank of the recommendation played; empty elsewhere"),
    Column("position_s", NUMBER, "Player events: position in the clip, in seconds"),
    Column("browser_listened_s", NUMBER, "Player events: the browser's own running count (audit only; "
                                         "listened_s in the other formats is computed by the server)"),
    Column("simulation_trial", STRING, "Player events on an understanding test: its trial (phase-position, e.g. "
                                       "pre-2); empty elsewhere"),
]


def events_rows(study: Study, options: Options) -> Iterator[dict]:
    people = participants(study, options)
    conditions = dict(people.values_list("pk", "assignment__condition__slug"))
    pilots = dict(people.values_list("pk", "is_pilot"))
    events = []
    for visit in PageVisit.objects.filter(participant__in=people):
        events.append((visit.participant_id, visit.entered_at, 0, visit.pk, {
            "event_type": "page_visit", "page": visit.page, "at": visit.entered_at, "left_at": visit.left_at or "",
            "visit_s": round(visit.seconds, 3) if visit.seconds is not None else "",
        }))
    for event in ListeningEvent.objects.filter(participant__in=people).select_related("track", "recommendation", "trial"):
        events.append((event.participant_id, event.created_at, 1, event.pk, {
            "event_type": "player", "page": event.page, "at": event.created_at, "event": event.kind,
            "track_id": event.track.external_id,
            "recommendation_rank": event.recommendation.rank if event.recommendation else "",
            "position_s": event.position_s, "browser_listened_s": event.listened_s,
            "simulation_trial": f"{event.trial.phase}-{event.trial.position}" if event.trial else "",
        }))
    blank = dict.fromkeys((c.name for c in EVENT_COLUMNS), "")
    for participant_id, _at, _kind, _pk, row in sorted(events, key=lambda e: e[:4]):
        yield {
            **blank, "participant": _who(participant_id, options), "condition": conditions[participant_id] or "",
            "is_pilot": pilots[participant_id], **row,
        }


def events_table(study: Study, options: Options) -> Table:
    """Every page visit and player event, one row each, in time order per participant."""
    return Table("events", list(EVENT_COLUMNS), events_rows(study, options))
