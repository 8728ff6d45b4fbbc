"""Celery doorways to recommender.services: ids in, one service call, nothing clever."""
from celery import shared_task

from recommender import fetch, networks, services
from recommender.models import AudioModel, Catalog, SimilarityIndex, Track


@shared_task(acks_late=True)
def analyse_tracks(track_ids: list[int]) -> int:
    for track in Track.objects.filter(pk__in=track_ids).select_related("catalog"):
        services.track_analyse(track=track)
    return len(track_ids)


@shared_task(acks_late=True)
def build_feature_index(catalog_id: int, feature_set: str = SimilarityIndex.FeatureSet.AUDIO) -> int | None:
    index = services.index_build(catalog=Catalog.objects.get(pk=catalog_id), feature_set=feature_set)
    return index.pk if index else None


# A download that failed for a passing reason (a 5xx, a time-out, a reset) is tried again 2, 4 and 8 s
# later by Celery's own retry; after the last try the track records why it has no clip.
@shared_task(
    bind=True, acks_late=True, autoretry_for=(fetch.TransientFetchError,), retry_backoff=2, retry_jitter=False,
    max_retries=3,
)
def fetch_clip(self, track_id: int) -> int:
    track = Track.objects.select_related("catalog").get(pk=track_id)
    try:
        services.track_fetch_clip(track=track)
    except fetch.TransientFetchError as error:
        if self.request.retries < self.max_retries:
            raise
        services.track_fetch_failed(track=track, reason=str(error))
    return track_id


@shared_task(acks_late=True, ignore_result=True)
def embed_tracks(track_ids: list[int], model_id: int) -> int:
    return networks.tracks_embed(track_ids=track_ids, model=AudioModel.objects.get(pk=model_id))


@shared_task(acks_late=True)
def build_embedding_index(catalog_id: int, feature_set: str) -> int | None:
    index = services.index_build(catalog=Catalog.objects.get(pk=catalog_id), feature_set=feature_set)
    return index.pk if index else None


# Training takes minutes: its own limits, above the default ones every other job keeps. Acknowledged on
# receipt, not late: Redis would hand a job unacknowledged past its visibility timeout (twice the default
# hard limit) to a second worker while the first still trains. A lost training job is simply asked for again.
# Three networks of 600 steps take 20 min on a quiet 2-core machine, up to 105 min on a busy one.
@shared_task(acks_late=False, ignore_result=True, soft_time_limit=3 * 60 * 60, time_limit=3 * 60 * 60 + 60)
def train_cnn(catalog_id: int, seed: int = 0, steps: int | None = None, members: int | None = None) -> int:
    from recommender.cnn.contrastive import TrainingConfig  # torch: loaded only where a CNN is trained

    catalog = Catalog.objects.get(pk=catalog_id)
    config = TrainingConfig(seed=seed, **({"steps": steps} if steps else {}), **({"members": members} if members else {}))
    model = networks.cnn_train(catalog=catalog, config=config)
    networks.catalog_embed(catalog=catalog, feature_set=SimilarityIndex.FeatureSet.CNN)
    return model.pk
