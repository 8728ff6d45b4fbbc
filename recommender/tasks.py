"""Celery doorways to recommender.services: ids in, one service call, nothing clever."""
from celery import shared_task

from recommender import services
from recommender.models import Catalog, Track


@shared_task(acks_late=True)
def analyse_tracks(track_ids: list[int]) -> int:
    for track in Track.objects.filter(pk__in=track_ids).select_related("catalog"):
        services.track_analyse(track=track)
    return len(track_ids)


@shared_task(acks_late=True)
def build_feature_index(catalog_id: int, feature_set: str = "audio") -> int | None:
    index = services.index_build(catalog=Catalog.objects.get(pk=catalog_id), feature_set=feature_set)
    return index.pk if index else None

