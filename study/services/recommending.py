"""Recommendations for a participant, computed in a job while the participant's page shows progress.

Nobody waits forever: a job that has not finished is sent again (its worker may have
died), a bounded number of times; after FALLBACK_AFTER the waiting page's own poll
computes the recommendations in-process without drawing figures (an explanation
that could not be shown is marked on its recommendation, and in the export).
"""
from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from config.jobs import enqueue
from explanations.models import Explanation
from explanations.services import explanation_get_or_render
from recommender import services as recommender_services
from recommender.models import SimilarityIndex, Track
from study.models import Participant, Recommendation, Study
from study.services.choosing import RECOMMEND_TASK, study_pool
from study.services.journey import FlowError, advance

logger = logging.getLogger(__name__)
Page = Participant.Page

# A job not finished by then is sent again (its worker may have died) ...
RECOMMENDATION_RETRY_AFTER = timedelta(seconds=15)
# ... at most this many times in all ...
RECOMMENDATION_MAX_ATTEMPTS = 3
# ... and after this long the poll computes in-process, without drawing figures, well within a minute.
RECOMMENDATION_FALLBACK_AFTER = timedelta(seconds=45)
# A figure that fails to draw is tried again this many times before its recommendation goes without it.
RENDER_TRIES = 2


def _progress(participant: Participant, **progress) -> None:
    Participant.objects.filter(pk=participant.pk).update(recommendation_progress=progress)


def _explain(kind: str, *, seed: Track, track: Track, index, language: str, draw: bool) -> Explanation | str:
    """The explanation of one kind, or the reason it cannot be shown (logged with its cause)."""
    if not draw:
        cached = (
            Explanation.objects.filter(kind=kind, seed_track=seed, track=track, index=index, language=language)
            .exclude(image="").order_by("-created_at").first()
        )
        if cached and cached.image.storage.exists(cached.image.name):
            return cached
        return "not drawn in time (the recommendation job did not finish; computed without figures)"
    for attempt in range(1, RENDER_TRIES + 1):
        try:
            return explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index, language=language)
        except Exception as error:  # any failure in drawing: the participant must still get their page
            logger.exception(
                "Rendering the %s explanation of %s -> %s failed (try %d of %d)", kind, seed.pk, track.pk, attempt,
                RENDER_TRIES,
            )
            reason = f"{error.__class__.__name__}: {error}"
    return f"failed to render after {RENDER_TRIES} tries ({reason})"


def study_recommender_index(study: Study, recommender: str):
    """The index ``recommender`` reads for this study: a draft's is the catalog's newest; once the study has left
    draft, the one it first read then, pinned (study/frozen.py), so a model trained or a catalog analysed later
    never changes what its participants are recommended. None where the catalog has none yet."""
    # Keyed by what is read: the tagger's index of the vocabulary, the CNN's, the newest feature index ("features").
    feature_set = recommender_services.recommender_feature_set(recommender, vocabulary=study.tag_vocabulary) or recommender
    if study.state == Study.State.DRAFT:
        return recommender_services.recommender_index(study.catalog, recommender, vocabulary=study.tag_vocabulary)
    pinned = study.pinned_indexes.get(feature_set)
    if pinned is not None:
        index = SimilarityIndex.objects.filter(pk=pinned).first()
        if index is not None:
            return index
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        pinned = locked.pinned_indexes.get(feature_set)
        index = SimilarityIndex.objects.filter(pk=pinned).first() if pinned is not None else None
        if index is None:
            index = recommender_services.recommender_index(study.catalog, recommender, vocabulary=study.tag_vocabulary)
            if index is None:
                return None
            locked.pinned_indexes = {**locked.pinned_indexes, feature_set: index.pk}
            Study.objects.filter(pk=study.pk).update(pinned_indexes=locked.pinned_indexes)
        study.pinned_indexes = locked.pinned_indexes
    return index


def participant_recommend(*, participant: Participant, draw: bool = True) -> list[Recommendation]:
    """Compute, explain and store a participant's recommendations; a second run returns the first's.

    ``draw=False`` uses only figures already rendered (the fallback when the job is late).
    """
    existing = list(participant.recommendations.all())
    if existing:
        return existing
    try:
        recommender = participant.condition.recommender
        study = participant.study
        index = study_recommender_index(study, recommender)
        if index is None:
            raise RuntimeError(
                recommender_services.missing_index_message(study.catalog, recommender, vocabulary=study.tag_vocabulary)
            )
        liked_ids = list(participant.liked_tracks.values_list("pk", flat=True))
        pool = list(study_pool(study).values_list("pk", flat=True)) if study.pool_styles or study.pool_track_ids else None
        matches = recommender_services.recommend(
            index=index, liked_track_ids=liked_ids, k=study.n_recommendations, allowed_track_ids=pool
        )
    except Exception as error:
        logger.exception("Recommending for participant %s failed", participant.pk)
        _progress(participant, error=f"{error.__class__.__name__}: {error}")
        raise
    tracks = Track.objects.select_related("analysis").in_bulk(
        [m.track_id for m in matches] + [m.seed_track_id for m in matches]
    )
    kinds = participant.condition.explanation_kinds
    language = participant.language or "en"
    rows = []
    _progress(participant, done=0, total=len(matches))
    for rank, match in enumerate(matches, start=1):
        seed, track = tracks[match.seed_track_id], tracks[match.track_id]
        shown, missing = {}, []
        for kind in kinds:
            result = _explain(kind, seed=seed, track=track, index=index, language=language, draw=draw)
            if isinstance(result, Explanation):
                shown[kind] = result
            else:
                missing.append(f"{kind}: {result}")
        rows.append(
            Recommendation(
                participant=participant, rank=rank, track=track, seed_track=seed, score=match.score, index=index,
                feature_explanation=shown.get(Explanation.Kind.FEATURES),
                spectrogram_explanation=shown.get(Explanation.Kind.SPECTROGRAM),
                tags_explanation=shown.get(Explanation.Kind.TAGS),
                explanation_fallback="; ".join(missing),
            )
        )
        _progress(participant, done=rank, total=len(matches))
    try:
        with transaction.atomic():
            Recommendation.objects.bulk_create(rows)
    except IntegrityError:
        # A re-delivered job (or the fallback) finished first; keep its rows.
        pass
    advance(participant, from_page=Page.WAIT)
    return list(participant.recommendations.all())


def _claim_resend(rows, now, **also) -> bool:
    """Claim the right to send a participant's job again, in one conditional UPDATE: true for exactly one of
    the pollers (or starting workers) that try at once, and never past RECOMMENDATION_MAX_ATTEMPTS."""
    return bool(rows.filter(recommendation_attempts__lt=RECOMMENDATION_MAX_ATTEMPTS).update(
        recommendation_attempts=F("recommendation_attempts") + 1, recommendation_sent_at=now, **also
    ))


def participant_poll_recommendations(*, participant: Participant) -> dict:
    """What the waiting page shows: ready (and where to go), progress, or a failure with a way on.

    Resends a job that has taken suspiciously long, and past RECOMMENDATION_FALLBACK_AFTER
    computes the recommendations here, so a participant never waits much more than a minute.
    """
    if participant.page != Page.WAIT:
        return {"ready": True}
    if participant.recommendations.exists():
        advance(participant, from_page=Page.WAIT)
        return {"ready": True}
    now = timezone.now()
    rows = Participant.objects.filter(pk=participant.pk, page=Page.WAIT)
    requested = participant.recommendations_requested_at or now
    if now - requested >= RECOMMENDATION_FALLBACK_AFTER:
        # One poll claims the fallback (the conditional UPDATE), the others keep showing progress.
        if rows.filter(recommendation_attempts__lte=RECOMMENDATION_MAX_ATTEMPTS).update(
            recommendation_attempts=RECOMMENDATION_MAX_ATTEMPTS + 1, recommendation_sent_at=now
        ):
            logger.warning("Recommendations for participant %s are late; computing them in-process", participant.pk)
            with contextlib.suppress(Exception):  # recorded in the progress, shown below
                participant_recommend(participant=participant, draw=False)
            participant.refresh_from_db(fields=["page", "recommendation_progress"])
            if participant.page != Page.WAIT:
                return {"ready": True}
    elif _claim_resend(rows.filter(recommendation_sent_at__lt=now - RECOMMENDATION_RETRY_AFTER), now):
        logger.warning("Recommendation job for participant %s is late; sending it again", participant.pk)
        enqueue(RECOMMEND_TASK, participant.pk, background=True)
    participant.refresh_from_db(fields=["page", "recommendation_progress", "recommendation_attempts"])
    if participant.page != Page.WAIT:
        return {"ready": True}
    progress = participant.recommendation_progress or {}
    if progress.get("error") and participant.recommendation_attempts > RECOMMENDATION_MAX_ATTEMPTS:
        return {"ready": False, "failed": True, "progress": progress}
    return {"ready": False, "progress": {"done": progress.get("done", 0), "total": progress.get("total", 0)}}


def recommendations_resend_orphaned(*, started_before) -> int:
    """Send again the job of every participant still waiting whose job a worker had begun, or that has
    waited past RECOMMENDATION_RETRY_AFTER, before ``started_before``; returns how many were sent.

    A worker calls this as it starts: if it replaces one that was killed outright (SIGKILL of the whole
    worker, a lost machine), that worker's job is unacknowledged in Redis until the visibility timeout
    (minutes), and the participant's page would re-send it only on its next late poll. A job some other
    live worker still runs is sent twice at worst: jobs are idempotent, and bounded by the attempts.
    """
    now = timezone.now()
    waiting = Participant.objects.filter(
        page=Page.WAIT, recommendations__isnull=True, recommendation_attempts__lt=RECOMMENDATION_MAX_ATTEMPTS,
        recommendation_sent_at__lt=started_before,
    ).filter(Q(recommendation_progress__total__gt=0) | Q(recommendation_sent_at__lt=now - RECOMMENDATION_RETRY_AFTER))
    sent = 0
    for pk, sent_at in waiting.values_list("pk", "recommendation_sent_at"):
        # The same claim as the waiting page's poll: whoever moves recommendation_sent_at on sends, never both.
        # The dead job's progress goes with it: a second worker starting a moment later sees a job just sent.
        rows = Participant.objects.filter(pk=pk, page=Page.WAIT, recommendation_sent_at=sent_at)
        if _claim_resend(rows, now, recommendation_progress={}):
            logger.warning("Participant %s was waiting on a job begun before this worker started; sending it again", pk)
            enqueue(RECOMMEND_TASK, pk)
            sent += 1
    return sent


def participant_retry_recommendations(*, participant: Participant) -> bool:
    """The participant asks again after a failure: start over with a fresh job, unless one is in flight (sent
    less than RECOMMENDATION_RETRY_AFTER ago and not failed): thirty clicks, or tabs, send one job, not thirty.
    Returns whether a job was sent."""
    if participant.page != Page.WAIT:
        raise FlowError(_("There is nothing to retry on this page."))
    now = timezone.now()
    idle = (Q(recommendation_sent_at__isnull=True) | Q(recommendation_sent_at__lt=now - RECOMMENDATION_RETRY_AFTER)
            | Q(recommendation_progress__has_key="error"))
    if Participant.objects.filter(idle, pk=participant.pk, page=Page.WAIT, recommendations__isnull=True).update(
        recommendations_requested_at=now, recommendation_sent_at=now, recommendation_attempts=1,
        recommendation_progress={},
    ):
        enqueue(RECOMMEND_TASK, participant.pk, background=True)
        return True
    return False
