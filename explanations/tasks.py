"""Celery doorways to explanations.services."""
from celery import shared_task

from explanations import services
from recommender.models import SimilarityIndex


@shared_task(acks_late=True, ignore_result=True)
def render_explanations(index_id: int, kinds: list[str], pairs: list[list[int]], languages: list[str] | None = None) -> int:
    # No languages: a message queued before the argument existed, when every explanation was English.
    return services.explanations_render_pairs(
        index=SimilarityIndex.objects.get(pk=index_id), kinds=kinds, pairs=pairs, languages=languages
    )
