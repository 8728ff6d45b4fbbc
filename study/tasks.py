"""Celery doorways to study.services."""
import logging

from celery import shared_task
from celery.signals import worker_ready
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.utils import timezone

from study import services
from study.models import Participant

logger = logging.getLogger(__name__)


# Its result lives in the database; ignoring it keeps the result store off the web's path. A database
# that is restarting (OperationalError) or a full disk (OSError) is worth another try, with back-off.
@shared_task(
    acks_late=True, ignore_result=True, autoretry_for=(OSError, OperationalError, InterfaceError),
    retry_backoff=2, retry_backoff_max=10, retry_jitter=False, max_retries=3,
)
def recommend_for_participant(participant_id: int) -> list[int]:
    participant = Participant.objects.select_related("study__catalog", "assignment__condition").get(pk=participant_id)
    return [r.pk for r in services.participant_recommend(participant=participant)]



@worker_ready.connect
def resend_orphaned_recommendations(sender=None, **kwargs) -> None:
    """A starting worker takes over the jobs a killed worker held (see recommendations_resend_orphaned)."""
    try:
        services.recommendations_resend_orphaned(started_before=timezone.now())
    except DatabaseError:  # the database not there (yet): the waiting pages' own re-sends cover these jobs
        logger.warning("Could not look for orphaned recommendation jobs", exc_info=True)
    finally:
        connections.close_all()  # the worker's main process keeps no connection; its pool processes have theirs
