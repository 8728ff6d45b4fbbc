"""Choosing liked tracks: searching the study's catalog and keeping the participant's choice."""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from config.jobs import enqueue
from recommender.models import Track
from study.models import Participant, Study
from study.services.journey import FlowError, advance, require_page

#: The job that computes a participant's recommendations (a doorway to participant_recommend).
RECOMMEND_TASK = "study.tasks.recommend_for_participant"

Page = Participant.Page
PAGE_SIZE = 20


@dataclass(frozen=True)
class SearchPage:
    """One page of search results, with what the participant needs to reach every other match."""

    tracks: list[Track]
    total: int  # every analysed track that matches
    page: int  # 1-based
    pages: int
    page_size: int = PAGE_SIZE

    @property
    def first(self) -> int:
        return (self.page - 1) * self.page_size + 1 if self.total else 0

    @property
    def last(self) -> int:
        return self.first + len(self.tracks) - 1 if self.tracks else 0


def study_pool(study: Study) -> QuerySet[Track]:
    """The tracks a study's participants may find, like and be recommended: analysed, in its pool."""
    tracks = Track.objects.filter(catalog=study.catalog_id, status=Track.Status.ANALYSED)
    if study.pool_styles:
        tracks = tracks.filter(style__in=study.pool_styles)
    if study.pool_track_ids:
        tracks = tracks.filter(external_id__in=[str(i) for i in study.pool_track_ids])
    return tracks


def _matching(study: Study, query: str) -> QuerySet[Track]:
    tracks = study_pool(study)
    query = query.strip()
    if query:
        tracks = tracks.filter(Q(title__icontains=query) | Q(artist__icontains=query))
    return tracks


def catalog_search(*, study: Study, query: str, page: int = 1, page_size: int = PAGE_SIZE) -> SearchPage:
    """The ``page``-th page of tracks matching ``query`` (all analysed tracks when empty), by title."""
    tracks = _matching(study, query)
    total = tracks.count()
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    start = (page - 1) * page_size
    found = list(tracks.order_by("title", "artist", "pk")[start : start + page_size])
    return SearchPage(tracks=found, total=total, page=page, pages=pages, page_size=page_size)


def participant_like(*, participant: Participant, track_id: int, liked: bool) -> list[Track]:
    """Add a track to (or remove it from) the participant's choice; returns the choice as it now stands."""
    require_page(participant, Page.CHOOSE)
    track = study_pool(participant.study).filter(pk=track_id).first()
    if track is None:
        raise FlowError(_("That track is not part of this study."))
    if not liked:
        participant.liked_tracks.remove(track)
    else:
        with transaction.atomic():
            # The participant's row lock makes likes sent at once (several clicks, two tabs) take turns: each
            # counts after the previous one was added, so the choice never grows past the study's maximum.
            Participant.objects.select_for_update().filter(pk=participant.pk).values_list("pk").first()
            if not participant.liked_tracks.filter(pk=track.pk).exists():
                if participant.study.liked_full(participant.liked_tracks.count()):
                    raise FlowError(
                        _("You can choose at most %(n)d tracks; remove one first.") % {"n": participant.study.max_liked}
                    )
                participant.liked_tracks.add(track)
    return list(participant.liked_tracks.order_by("title"))


def participant_confirm_liked(*, participant: Participant) -> Participant:
    """Ask for recommendations: the job is sent and the participant waits on a page that shows its progress."""
    require_page(participant, Page.CHOOSE)
    if not participant.study.liked_enough(participant.liked_tracks.count()):
        raise FlowError(
            _("Please choose between %(low)d and %(high)d tracks.")
            % {"low": participant.study.min_liked, "high": participant.study.max_liked}
        )
    if advance(participant, from_page=Page.CHOOSE, recommendations_requested_at=timezone.now(),
               recommendation_sent_at=timezone.now(), recommendation_attempts=1, recommendation_progress={}):
        enqueue(RECOMMEND_TASK, participant.pk, background=True)
    return participant
