"""Everything a participant's actions change, and setting studies up.

Views call these; each checks that the participant may do what is asked, so a
forged request gets a clear error and changes nothing.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from config.jobs import enqueue
from explanations.models import Explanation
from explanations.services import explanation_get_or_render, explanations_prerender
from recommender import services as recommender_services
from recommender.models import Catalog, Track
from study import randomisation
from study.models import Assignment, Condition, Item, Participant, Recommendation, Response, Study
from study.questionnaires import default_items

Page = Participant.Page
# A recommendation job not finished by then is sent again (its worker may have died).
RECOMMENDATION_RETRY_AFTER = timedelta(seconds=45)


class FlowError(ValueError):
    """A participant asked for something the study does not allow now; the message is for them."""


# ---------------------------------------------------------------- setting up


def study_create(
    *, slug: str, title: str, catalog: Catalog, conditions: list[tuple[str, str, str]], consent_text: str, **options
) -> Study:
    """A study with its conditions (slug, name, explanation) and the default questionnaire."""
    with transaction.atomic():
        study = Study.objects.create(slug=slug, title=title, catalog=catalog, consent_text=consent_text, **options)
        for condition_slug, name, explanation in conditions:
            Condition.objects.create(study=study, slug=condition_slug, name=name, explanation=explanation)
        Item.objects.bulk_create(Item(study=study, **fields) for fields in default_items())
    return study


# ---------------------------------------------------------------- arriving


def participant_enter(
    *, study: Study, session_token: str | None, prolific_pid: str = "", prolific_study_id: str = "",
    prolific_session_id: str = "",
) -> Participant:
    """The participant this browser or Prolific id already is, or a new one if neither is known."""
    if session_token:
        participant = Participant.objects.filter(study=study, token=session_token).first()
        if participant and (not prolific_pid or participant.prolific_pid in ("", prolific_pid)):
            return participant
    if prolific_pid:
        participant = Participant.objects.filter(study=study, prolific_pid=prolific_pid).first()
        if participant:
            return participant
    if not study.is_open:
        raise FlowError("This study is closed and accepts no new participants.")
    try:
        with transaction.atomic():
            return Participant.objects.create(
                study=study,
                prolific_pid=prolific_pid,
                prolific_study_id=prolific_study_id,
                prolific_session_id=prolific_session_id,
            )
    except IntegrityError:
        # The same Prolific id arrived twice at once (a double click); the first one stands.
        return Participant.objects.get(study=study, prolific_pid=prolific_pid)


def participant_assign(*, participant: Participant) -> Assignment:
    """Randomise to the least-filled active condition, once; the study row lock makes arrivals take turns.

    Without the lock, two arrivals could both count the same totals and both join the
    same condition; with it, each one counts after the previous one has been written.
    """
    with transaction.atomic():
        Study.objects.select_for_update().get(pk=participant.study_id)
        existing = Assignment.objects.filter(participant=participant).select_related("condition").first()
        if existing:
            return existing
        counts = {
            condition.pk: condition.n
            for condition in Condition.objects.filter(study_id=participant.study_id, is_active=True).annotate(
                n=Count("assignments")
            )
        }
        if not counts:
            raise FlowError("This study has no active condition; please contact the researcher.")
        condition_id = randomisation.least_filled(counts)
        return Assignment.objects.create(
            participant=participant, condition_id=condition_id, method=randomisation.LEAST_FILLED
        )


def _require_page(participant: Participant, page: str) -> None:
    if participant.page != page:
        raise FlowError("That step is already done; you have been taken to where you are in the study.")


def participant_consent(*, participant: Participant, agree: bool) -> Participant:
    _require_page(participant, Page.CONSENT)
    if not agree:
        participant.page = Page.DECLINED
        participant.save(update_fields=["page"])
        return participant
    participant_assign(participant=participant)
    participant.consent_version = participant.study.consent_version
    participant.consented_at = timezone.now()
    participant.page = Page.CHOOSE
    participant.save(update_fields=["consent_version", "consented_at", "page"])
    return participant


# ---------------------------------------------------------------- choosing liked tracks


def catalog_search(*, study: Study, query: str, limit: int = 30):
    tracks = Track.objects.filter(catalog=study.catalog_id, status=Track.Status.ANALYSED)
    query = query.strip()
    if query:
        tracks = tracks.filter(Q(title__icontains=query) | Q(artist__icontains=query))
    return tracks.order_by("title", "artist")[:limit]


def participant_like(*, participant: Participant, track_id: int, liked: bool) -> None:
    _require_page(participant, Page.CHOOSE)
    track = Track.objects.filter(
        pk=track_id, catalog=participant.study.catalog_id, status=Track.Status.ANALYSED
    ).first()
    if track is None:
        raise FlowError("That track is not part of this study.")
    if not liked:
        participant.liked_tracks.remove(track)
        return
    if participant.liked_tracks.count() >= participant.study.max_liked:
        raise FlowError(f"You can choose at most {participant.study.max_liked} tracks; remove one first.")
    participant.liked_tracks.add(track)


def participant_confirm_liked(*, participant: Participant) -> Participant:
    from study.tasks import recommend_for_participant

    _require_page(participant, Page.CHOOSE)
    n = participant.liked_tracks.count()
    if not participant.study.min_liked <= n <= participant.study.max_liked:
        raise FlowError(
            f"Please choose between {participant.study.min_liked} and {participant.study.max_liked} tracks."
        )
    participant.page = Page.WAIT
    participant.recommendations_requested_at = timezone.now()
    participant.save(update_fields=["page", "recommendations_requested_at"])
    enqueue(recommend_for_participant, participant.pk)
    return participant


# ---------------------------------------------------------------- recommending


def participant_recommend(*, participant: Participant) -> list[Recommendation]:
    """Compute, explain and store a participant's recommendations; a second run returns the first's."""
    existing = list(participant.recommendations.all())
    if existing:
        return existing
    index = recommender_services.catalog_latest_index(participant.study.catalog)
    if index is None:
        raise RuntimeError(f"catalog {participant.study.catalog.slug!r} has no similarity index yet")
    liked_ids = list(participant.liked_tracks.values_list("pk", flat=True))
    matches = recommender_services.recommend(
        index=index, liked_track_ids=liked_ids, k=participant.study.n_recommendations
    )
    tracks = Track.objects.in_bulk(
        [m.track_id for m in matches] + [m.seed_track_id for m in matches]
    )
    kinds = participant.condition.explanation_kinds
    rows = []
    for rank, match in enumerate(matches, start=1):
        seed, track = tracks[match.seed_track_id], tracks[match.track_id]
        rendered = {
            kind: explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index) for kind in kinds
        }
        rows.append(
            Recommendation(
                participant=participant,
                rank=rank,
                track=track,
                seed_track=seed,
                score=match.score,
                index=index,
                feature_explanation=rendered.get(Explanation.Kind.FEATURES),
                spectrogram_explanation=rendered.get(Explanation.Kind.SPECTROGRAM),
            )
        )
    try:
        with transaction.atomic():
            Recommendation.objects.bulk_create(rows)
    except IntegrityError:
        # A re-delivered job finished first; keep its rows.
        pass
    Participant.objects.filter(pk=participant.pk, page=Page.WAIT).update(page=Page.RATE)
    return list(participant.recommendations.all())


def participant_poll_recommendations(*, participant: Participant) -> bool:
    """Whether recommendations are ready; resends the job if it has taken suspiciously long."""
    from study.tasks import recommend_for_participant

    if participant.page != Page.WAIT:
        return True
    if participant.recommendations.exists():
        Participant.objects.filter(pk=participant.pk, page=Page.WAIT).update(page=Page.RATE)
        return True
    cutoff = timezone.now() - RECOMMENDATION_RETRY_AFTER
    resent = Participant.objects.filter(pk=participant.pk, recommendations_requested_at__lt=cutoff).update(
        recommendations_requested_at=timezone.now()
    )
    if resent:
        enqueue(recommend_for_participant, participant.pk)
        # Outside a transaction (or with the broker down) the job has already run.
        return participant.recommendations.exists()
    return False


# ---------------------------------------------------------------- answering

SECTION_PAGE = {Item.Section.RATING: Page.RATE, Item.Section.QUESTIONNAIRE: Page.QUESTIONNAIRE}


def response_save(
    *, participant: Participant, item_code: str, value, recommendation_id: int | None = None
) -> Response:
    """Store one answer, replacing an earlier answer to the same question."""
    item = Item.objects.filter(study=participant.study_id, code=item_code).first()
    if item is None:
        raise FlowError("Unknown question.")
    _require_page(participant, SECTION_PAGE[item.section])
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise FlowError(f"“{value}” is not an answer on this scale.") from None
    if value not in item.scale:
        raise FlowError(f"Answers range from {item.scale_min} to {item.scale_max}.")
    recommendation = None
    if item.section == Item.Section.RATING:
        recommendation = participant.recommendations.filter(pk=recommendation_id).first()
        if recommendation is None:
            raise FlowError("That recommendation is not yours.")
    with transaction.atomic():
        response, created = Response.objects.select_for_update().get_or_create(
            participant=participant, item=item, recommendation=recommendation, defaults={"value": value}
        )
        if not created and response.value != value:
            response.value = value
            response.save(update_fields=["value", "answered_at"])
    return response


def missing_answers(participant: Participant, section: str) -> list[tuple[int | None, str]]:
    """(recommendation id, item code) of every question on this page still unanswered."""
    items = list(Item.objects.filter(study=participant.study_id, section=section))
    given = set(participant.responses.values_list("recommendation_id", "item__code"))
    if section == Item.Section.RATING:
        wanted = [(r, i.code) for r in participant.recommendations.values_list("pk", flat=True) for i in items]
    else:
        wanted = [(None, i.code) for i in items]
    return [key for key in wanted if key not in given]


def participant_finish_page(*, participant: Participant) -> Participant:
    """Move on from the rating or questionnaire page once every question on it is answered."""
    section = {Page.RATE: Item.Section.RATING, Page.QUESTIONNAIRE: Item.Section.QUESTIONNAIRE}.get(participant.page)
    if section is None:
        raise FlowError("There is nothing to submit on this page.")
    if missing_answers(participant, section):
        raise FlowError("Please answer every question before you continue.")
    if participant.page == Page.RATE:
        participant.page = Page.QUESTIONNAIRE
        participant.save(update_fields=["page"])
    else:
        participant.page = Page.DONE
        participant.completed_at = timezone.now()
        participant.completion_code = participant.study.prolific_completion_code or secrets.token_hex(4).upper()
        participant.save(update_fields=["page", "completed_at", "completion_code"])
    return participant


def study_prerender_explanations(*, study: Study) -> int:
    """Render ahead of time every explanation this study's conditions can show; returns the pairs sent."""
    index = recommender_services.catalog_latest_index(study.catalog)
    if index is None:
        raise FlowError(f"Catalog {study.catalog.slug!r} has no similarity index yet; analyse it first.")
    kinds = sorted({kind for condition in study.conditions.filter(is_active=True) for kind in condition.explanation_kinds})
    return explanations_prerender(index=index, kinds=kinds, per_seed=study.n_recommendations + study.max_liked)


def study_gallery(*, study: Study, n_pairs: int) -> list[dict]:
    """Sample (liked, recommended) pairs, one liked track per style first, with every condition's explanations.

    Each row: the pair and, per condition, the explanations that condition shows (rendered now if need be).
    """
    index = recommender_services.catalog_latest_index(study.catalog)
    if index is None:
        raise FlowError(f"Catalog {study.catalog.slug!r} has no similarity index yet; analyse it first.")
    in_index = Track.objects.filter(pk__in=index.track_ids).order_by("style", "pk")
    seeds, styles = [], set()
    for track in in_index.iterator():
        if track.style not in styles:
            styles.add(track.style)
            seeds.append(track)
        if len(seeds) == n_pairs:
            break
    seeds += [t for t in in_index[: n_pairs * 2] if t not in seeds][: n_pairs - len(seeds)]
    conditions = list(study.conditions.all())
    rows = []
    for seed in seeds:
        best = recommender_services.recommend(index=index, liked_track_ids=[seed.pk], k=1)[0]
        track = Track.objects.get(pk=best.track_id)
        shown = {
            condition.pk: [
                explanation_get_or_render(kind=kind, seed_track=seed, track=track, index=index)
                for kind in condition.explanation_kinds
            ]
            for condition in conditions
        }
        rows.append({"seed": seed, "track": track, "score": best.score, "shown": [shown[c.pk] for c in conditions]})
    return rows
