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
