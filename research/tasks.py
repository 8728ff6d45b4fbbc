"""Celery doorways to research.services."""
from celery import shared_task
from django.conf import settings

from research import services


@shared_task(ignore_result=True)
def purge_identifiers() -> int:
    """The daily retention purge (settings.RETENTION_DAYS; scheduled by the worker's beat)."""
    if not settings.RETENTION_DAYS:
        return 0
    return services.identifiers_purge(older_than_days=settings.RETENTION_DAYS, actor="retention (daily)")


# A preparation runs for minutes to an hour: its own limits, acknowledged on receipt (as train_cnn, so Redis does not
# hand it to a second worker while the first still works); a lost one is seen as stalled in its panel and asked for
# again, and the new one resumes where it stopped.
@shared_task(acks_late=False, ignore_result=True, soft_time_limit=3 * 60 * 60, time_limit=3 * 60 * 60 + 60)
def prepare_catalog(preparation_id: int) -> None:
    from study.models import Preparation

    try:
        services.preparation_run(preparation=Preparation.objects.select_related("catalog").get(pk=preparation_id))
    except Exception:  # recorded on the job row (state failed, its reason) for the panel; nothing to retry blindly
        return
