"""Player events, and the listening time the server computes from them (study.listening_time)."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from recommender.models import Track
from study.listening_time import PlayerEvent, seconds_heard_one_at_a_time
from study.models import ListeningEvent, Participant, Recommendation, Study
from study.services.journey import FlowError

Page = Participant.Page
#: At most this many player events per participant in any RATE_WINDOW; the rest are dropped. A person
#: playing, pausing and seeking, with a progress event every 5 s per clip, stays far below it.
RATE_LIMIT = 20
RATE_WINDOW = timedelta(seconds=10)


class TooManyEvents(FlowError):
    """More player events than a person could cause: dropped, not stored."""


def listening_record(*, participant: Participant, track_id: int, kind: str, position_s: float,
                     listened_s: float = 0.0) -> ListeningEvent:
    """Store one player event, only for a clip the participant's current page plays, and not in a flood."""
    if kind not in ListeningEvent.Kind.values:
        raise FlowError(_("Unknown player event."))
    if not (0 <= position_s <= 3600):
        raise FlowError(_("Implausible player position."))
    recommendation = trial = None
    if participant.page in (Page.PRETEST, Page.POSTTEST):
        # The trial on the page: the first of the test not yet answered (a clip of an answered one is no longer shown).
        trial = participant.trials.filter(
            phase="pre" if participant.page == Page.PRETEST else "post", choice=""
        ).order_by("position").first()
        if trial is None or track_id not in (trial.seed_track_id, trial.left_track_id, trial.right_track_id):
            raise FlowError(_("That clip is not on your page."))
    elif participant.page == Page.RATE:
        recommendation = participant.recommendations.filter(track_id=track_id).first()
        if recommendation is None and not participant.recommendations.filter(seed_track_id=track_id).exists():
            raise FlowError(_("That clip is not on your page."))
    elif participant.page == Page.CHOOSE:
        if not Track.objects.filter(pk=track_id, catalog=participant.study.catalog_id).exists():
            raise FlowError(_("That clip is not part of this study."))
    else:
        raise FlowError(_("No clips play on this page."))
    recent = ListeningEvent.objects.filter(participant=participant, created_at__gte=timezone.now() - RATE_WINDOW)
    if recent.count() >= RATE_LIMIT:
        raise TooManyEvents(_("Too many player events; please slow down."))
    return ListeningEvent.objects.create(
        participant=participant, track_id=track_id, recommendation=recommendation, trial=trial, page=participant.page,
        kind=kind, position_s=position_s, listened_s=max(0.0, min(float(listened_s), 3600.0)),
    )


def _events(rows: list[tuple]) -> list[PlayerEvent]:
    return [PlayerEvent(kind, position, created.timestamp()) for kind, position, created in rows]


def listened_seconds(*, participant: Participant, recommendation: Recommendation) -> float:
    """Seconds of this recommendation the participant heard, computed from the events' server times; a moment
    in which another of their clips played too counts for one clip only (listening_time)."""
    return participant_listening(participant=participant).get(recommendation.pk, 0.0)


def participant_listening(*, participant: Participant) -> dict[int, float]:
    """Seconds heard per recommendation (by its id) of one participant."""
    rows = (
        ListeningEvent.objects.filter(participant=participant, recommendation__isnull=False)
        .order_by("created_at", "pk")
        .values_list("recommendation_id", "kind", "position_s", "created_at", "recommendation__track__duration_s")
    )
    return _one_at_a_time(rows)


def participant_trial_listening(*, participant: Participant) -> dict[tuple[int, int], float]:
    """Seconds heard per (understanding-test trial id, track id) of one participant."""
    return study_trial_listening(participants=[participant.pk])


def study_trial_listening(*, study: Study | None = None, participants=None) -> dict[tuple[int, int], float]:
    """Seconds heard per (trial id, track id) for every participant of the study (or of ``participants``)."""
    events = ListeningEvent.objects.filter(trial__isnull=False)
    events = events.filter(participant__study=study) if participants is None else events.filter(participant__in=participants)
    by_participant: dict[int, list] = defaultdict(list)
    for participant_id, trial_id, track_id, *row in (
        events.order_by("created_at", "pk")
        .values_list("participant_id", "trial_id", "track_id", "kind", "position_s", "created_at", "track__duration_s")
        .iterator(chunk_size=5000)
    ):
        by_participant[participant_id].append(((trial_id, track_id), *row))
    return {key: round(seconds, 1) for rows in by_participant.values() for key, seconds in _one_at_a_time(rows).items()}


def _one_at_a_time(rows) -> dict:
    """(clip key, kind, position, created, duration) rows of one participant: seconds heard per clip."""
    events: dict[int, list] = defaultdict(list)
    durations = {}
    for recommendation_id, kind, position, created, duration in rows:
        events[recommendation_id].append((kind, position, created))
        durations[recommendation_id] = duration
    return seconds_heard_one_at_a_time({rid: (_events(rows_), durations[rid]) for rid, rows_ in events.items()})


def study_listening(*, study: Study) -> dict[int, float]:
    """Seconds heard per recommendation (by its id) for every participant of the study."""
    by_participant: dict[int, list] = defaultdict(list)
    rows = (
        ListeningEvent.objects.filter(participant__study=study, recommendation__isnull=False)
        .order_by("created_at", "pk")
        .values_list("participant_id", "recommendation_id", "kind", "position_s", "created_at",
                     "recommendation__track__duration_s")
    )
    for participant_id, *row in rows.iterator(chunk_size=5000):
        by_participant[participant_id].append(row)
    return {rid: round(seconds, 1) for rows_ in by_participant.values() for rid, seconds in _one_at_a_time(rows_).items()}
