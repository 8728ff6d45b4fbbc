"""Celery doorways to explanations.services."""
from celery import shared_task

from explanations import services
from recommender.models import SimilarityIndex, Track


@shared_task(acks_late=True, ignore_result=True)
def render_explanations(index_id: int, kinds: list[str], pairs: list[list[int]], languages: list[str] | None = None) -> int:
    # No languages: a message queued before the argument existed, when every explanation was English.
    index = SimilarityIndex.objects.get(pk=index_id)
    tracks = Track.objects.select_related("analysis").in_bulk({t for pair in pairs for t in pair})
    for seed_id, track_id in pairs:
        for kind in kinds:
            for language in languages or ["en"]:
                services.explanation_get_or_render(
                    kind=kind, seed_track=tracks[seed_id], track=tracks[track_id], index=index, language=language
                )
    return len(pairs)
