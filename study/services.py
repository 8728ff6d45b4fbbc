"""Everything a participant's actions change, and setting studies up.

Views call these; each checks that the participant may do what is asked, so a
forged request gets a clear error and changes nothing.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from config.jobs import enqueue
from explanations.models import Explanation
from explanations.services import explanation_get_or_render, explanations_prerender
from recommender import services as recommender_services
from recommender.models import Catalog, Track
from study import randomisation
from study.models import (
    Assignment, Condition, Item, ListeningEvent, PageVisit, Participant, Recommendation, Response, Study,
)
from study.questionnaires import default_items

Page = Participant.Page
# A recommendation job not finished by then is sent again (its worker may have died).
RECOMMENDATION_RETRY_AFTER = timedelta(seconds=45)


class FlowError(ValueError):
    """A participant asked for something the study does not allow now; the message is for them."""


# ---------------------------------------------------------------- setting up


def study_create(
    *, slug: str, title: str, catalog: Catalog, conditions: list[tuple], consent_text: str,
    scales: list[str] | None = None, **options,
) -> Study:
    """A study with its conditions ((slug, name, explanation[, weight])) and the chosen questionnaire scales."""
    items = default_items(scales)
    with transaction.atomic():
        study = Study.objects.create(slug=slug, title=title, catalog=catalog, consent_text=consent_text, **options)
        for condition_slug, name, explanation, *weight in conditions:
            Condition.objects.create(
                study=study, slug=condition_slug, name=name, explanation=explanation, weight=weight[0] if weight else 1
            )
        Item.objects.bulk_create(Item(study=study, **fields) for fields in items)
    return study


# ---------------------------------------------------------------- moving through the study


def page_visit_enter(*, participant: Participant) -> None:
    """Note the server time a participant first sees their current page (reloads are the same visit)."""
    if not PageVisit.objects.filter(participant=participant, page=participant.page, left_at=None).exists():
        PageVisit.objects.create(participant=participant, page=participant.page)


def _move(participant: Participant, page: str, *, from_page: str | None = None, **fields) -> bool:
    """Put the participant on ``page`` (only if still on ``from_page``, when given) and close the visit they leave.

    The conditional UPDATE makes a race between two requests (a double click, the
    worker and a poll) move the participant once.
    """
    rows = Participant.objects.filter(pk=participant.pk)
    if from_page is not None:
        rows = rows.filter(page=from_page)
    moved = rows.update(page=page, **fields)
    if moved:
        PageVisit.objects.filter(participant_id=participant.pk, left_at=None).exclude(page=page).update(
            left_at=timezone.now()
        )
        participant.page = page
        for name, value in fields.items():
            setattr(participant, name, value)
    return bool(moved)


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
        raise FlowError(_("This study is closed and accepts no new participants."))
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
    """Randomise once, by the study's method; the study row lock makes arrivals take turns.

    Without the lock, two arrivals could both count the same totals (or take the same
    block position) and both join the same condition; with it, each one counts after
    the previous one has been written.
    """
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=participant.study_id)
        existing = Assignment.objects.filter(participant=participant).select_related("condition").first()
        if existing:
            return existing
        active = list(Condition.objects.filter(study=study, is_active=True))
        if not active:
            raise FlowError(_("This study has no active condition; please contact the researcher."))
        weights = {c.pk: c.weight for c in active}
        position = Assignment.objects.filter(condition__study=study).count()
        if study.randomisation == Study.Randomisation.PERMUTED_BLOCK:
            condition_id = randomisation.permuted_block(
                position, list(weights), seed=study.randomisation_seed, weights=weights, repeats=study.block_repeats
            )
        else:
            counted = Q(assignments__participant__completed_at__isnull=False) if study.balance_on == "finished" else Q()
            counts = dict(
                Condition.objects.filter(pk__in=weights).annotate(n=Count("assignments", filter=counted)).values_list("pk", "n")
            )
            condition_id = randomisation.least_filled(counts, weights=weights)
        return Assignment.objects.create(
            participant=participant, condition_id=condition_id, position=position + 1,
            method=f"{study.randomisation} (balance on {study.balance_on})"
            if study.randomisation == Study.Randomisation.LEAST_FILLED else study.randomisation,
        )


def _require_page(participant: Participant, page: str) -> None:
    if participant.page != page:
        raise FlowError(_("That step is already done; you have been taken to where you are in the study."))


def participant_consent(*, participant: Participant, agree: bool) -> Participant:
    _require_page(participant, Page.CONSENT)
    if not agree:
        _move(participant, Page.DECLINED, from_page=Page.CONSENT)
        return participant
    participant_assign(participant=participant)
    _move(
        participant, Page.INSTRUCTIONS, from_page=Page.CONSENT,
        consent_version=participant.study.consent_version, consented_at=timezone.now(),
    )
    return participant


def participant_read_instructions(*, participant: Participant) -> Participant:
    _require_page(participant, Page.INSTRUCTIONS)
    _move(participant, Page.PRE, from_page=Page.INSTRUCTIONS)
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
        raise FlowError(_("That track is not part of this study."))
    if not liked:
        participant.liked_tracks.remove(track)
        return
    if participant.liked_tracks.count() >= participant.study.max_liked:
        raise FlowError(_("You can choose at most %(n)d tracks; remove one first.") % {"n": participant.study.max_liked})
    participant.liked_tracks.add(track)


def participant_confirm_liked(*, participant: Participant) -> Participant:
    from study.tasks import recommend_for_participant

    _require_page(participant, Page.CHOOSE)
    n = participant.liked_tracks.count()
    if not participant.study.min_liked <= n <= participant.study.max_liked:
        raise FlowError(
            _("Please choose between %(low)d and %(high)d tracks.")
            % {"low": participant.study.min_liked, "high": participant.study.max_liked}
        )
    if _move(participant, Page.WAIT, from_page=Page.CHOOSE, recommendations_requested_at=timezone.now()):
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
    _move(participant, Page.RATE, from_page=Page.WAIT)
    return list(participant.recommendations.all())


def participant_poll_recommendations(*, participant: Participant) -> bool:
    """Whether recommendations are ready; resends the job if it has taken suspiciously long."""
    from study.tasks import recommend_for_participant

    if participant.page != Page.WAIT:
        return True
    if participant.recommendations.exists():
        _move(participant, Page.RATE, from_page=Page.WAIT)
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

SECTION_PAGE = {Item.Section.PRE: Page.PRE, Item.Section.RATING: Page.RATE, Item.Section.QUESTIONNAIRE: Page.QUESTIONNAIRE}
PAGE_SECTION = {page: section for section, page in SECTION_PAGE.items()}
NEXT_PAGE = {Page.PRE: Page.CHOOSE, Page.RATE: Page.QUESTIONNAIRE, Page.QUESTIONNAIRE: Page.DONE}


def response_save(
    *, participant: Participant, item_code: str, value, recommendation_id: int | None = None
) -> Response:
    """Store one answer, replacing an earlier answer to the same question."""
    item = Item.objects.filter(study=participant.study_id, code=item_code).first()
    if item is None:
        raise FlowError(_("Unknown question."))
    _require_page(participant, SECTION_PAGE[item.section])
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise FlowError(_("“%(value)s” is not an answer on this scale.") % {"value": value}) from None
    if value not in item.scale:
        if item.kind == Item.Kind.CHOICE:
            raise FlowError(_("Please choose one of the options given."))
        raise FlowError(_("Answers range from %(low)d to %(high)d.") % {"low": item.scale_min, "high": item.scale_max})
    recommendation = None
    if item.section == Item.Section.RATING:
        recommendation = participant.recommendations.filter(pk=recommendation_id).first()
        if recommendation is None:
            raise FlowError(_("That recommendation is not yours."))
        required = participant.study.required_listening_s
        if required and listened_seconds(participant, recommendation) < required:
            raise FlowError(_("Please listen to at least %(s)d seconds of this track before rating it.") % {"s": required})
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
    """Move on from a page of questions once every question on it is answered."""
    section = PAGE_SECTION.get(participant.page)
    if section is None:
        raise FlowError(_("There is nothing to submit on this page."))
    if missing_answers(participant, section):
        raise FlowError(_("Please answer every question before you continue."))
    following = NEXT_PAGE[participant.page]
    fields = {}
    if following == Page.DONE:
        fields = {
            "completed_at": timezone.now(),
            "completion_code": participant.study.prolific_completion_code or secrets.token_hex(4).upper(),
        }
    _move(participant, following, from_page=participant.page, **fields)
    return participant


# ---------------------------------------------------------------- listening


def listening_record(
    *, participant: Participant, track_id: int, kind: str, position_s: float, listened_s: float
) -> ListeningEvent:
    """Store one player event; only for a clip the participant's current page plays."""
    if kind not in ListeningEvent.Kind.values:
        raise FlowError(_("Unknown player event."))
    if not (0 <= position_s <= 3600 and 0 <= listened_s <= 3600):
        raise FlowError(_("Implausible player position."))
    recommendation = None
    if participant.page == Page.RATE:
        recommendation = participant.recommendations.filter(track_id=track_id).first()
        if recommendation is None and not participant.recommendations.filter(seed_track_id=track_id).exists():
            raise FlowError(_("That clip is not on your page."))
    elif participant.page == Page.CHOOSE:
        if not Track.objects.filter(pk=track_id, catalog=participant.study.catalog_id).exists():
            raise FlowError(_("That clip is not part of this study."))
    else:
        raise FlowError(_("No clips play on this page."))
    return ListeningEvent.objects.create(
        participant=participant, track_id=track_id, recommendation=recommendation, page=participant.page,
        kind=kind, position_s=position_s, listened_s=listened_s,
    )


def listened_seconds(participant: Participant, recommendation: Recommendation) -> float:
    """How long the participant has heard this recommendation, by the browser's own count."""
    return (
        ListeningEvent.objects.filter(participant=participant, recommendation=recommendation)
        .aggregate(most=Max("listened_s"))["most"]
        or 0.0
    )


def _study_index(study: Study):
    index = recommender_services.catalog_latest_index(study.catalog)
    if index is None:
        raise FlowError(f"Catalog {study.catalog.slug!r} has no similarity index yet; analyse it first.")
    return index


def study_prerender_explanations(*, study: Study) -> int:
    """Render ahead of time every explanation this study's conditions can show; returns the pairs sent."""
    index = _study_index(study)
    kinds = sorted({kind for condition in study.conditions.filter(is_active=True) for kind in condition.explanation_kinds})
    return explanations_prerender(index=index, kinds=kinds, per_seed=study.n_recommendations + study.max_liked)


def study_gallery(*, study: Study, n_pairs: int) -> list[dict]:
    """Sample (liked, recommended) pairs, one liked track per style first, with every condition's explanations.

    Each row: the pair and, per condition, the explanations that condition shows (rendered now if need be).
    """
    index = _study_index(study)
    loaded = recommender_services.load_index(index.pk)

    def first_indexed(tracks) -> list[int]:
        # A few candidates are enough: nearly every track of an analysed catalog is in its index.
        return [pk for pk in tracks.values_list("pk", flat=True)[: 4 * n_pairs] if loaded.rows_of([pk]).size]

    tracks = study.catalog.tracks.order_by("pk")
    seed_ids = []
    for style in tracks.order_by("style").values_list("style", flat=True).distinct()[:n_pairs]:
        seed_ids += first_indexed(tracks.filter(style=style))[:1]
    seed_ids += [pk for pk in first_indexed(tracks) if pk not in seed_ids][: n_pairs - len(seed_ids)]
    by_pk = Track.objects.in_bulk(seed_ids)
    seeds = [by_pk[pk] for pk in seed_ids]
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
