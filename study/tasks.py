"""Celery doorways to study.services."""
from celery import shared_task
from django.db import InterfaceError, OperationalError

from study import services
from study.models import Participant


# Its result lives in the database; ignoring it keeps the result store off the web's path. A database
# that is restarting (OperationalError) or a full disk (OSError) is worth another try, with back-off.
@shared_task(
    acks_late=True, ignore_result=True, autoretry_for=(OSError, OperationalError, InterfaceError),
    retry_backoff=2, retry_backoff_max=10, retry_jitter=False, max_retries=3,
)
def recommend_for_participant(participant_id: int) -> list[int]:
    participant = Participant.objects.select_related("study__catalog", "assignment__condition").get(pk=participant_id)
    return [r.pk for r in services.participant_recommend(participant=participant)]


@shared_task(ignore_result=True)
def purge_identifiers() -> int:
    """The daily retention purge (settings.RETENTION_DAYS; scheduled by the worker's beat)."""
    from django.conf import settings

    if not settings.RETENTION_DAYS:
        return 0
    return services.identifiers_purge(older_than_days=settings.RETENTION_DAYS, actor="retention (daily)")
