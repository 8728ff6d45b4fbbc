"""A participant's data leaves only through here: deletion on request and the retention purge, both logged.

The admin never deletes the record (it is read-only there); these services do, each leaving an entry in
the audit log with who did it, when, and a keyed pseudonym of the Prolific id instead of the id itself.
"""
from __future__ import annotations

import re
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from research.export import pseudonym
from study.models import AuditEntry, Participant, Study


class NoSuchParticipant(LookupError):
    """No participant of this study has that Prolific id."""


def pid_pseudonym(prolific_pid: str) -> str:
    """A keyed hash of a Prolific id: the log can show that one id's data was deleted, without the id."""
    # The salt keeps the name it had before the workbench moved: the log's earlier entries stay comparable.
    return salted_hmac("study.privacy.pid", prolific_pid, algorithm="sha256").hexdigest()[:16]


def participant_find(*, study: Study, reference: str) -> Participant:
    """The participant of ``study`` that ``reference`` names: their Prolific id, the pseudonym the exports give
    them, or the admin's P<number> (a participant of a study open to anyone may have no Prolific id)."""
    reference = reference.strip()
    rows = Participant.objects.filter(study=study)
    found = None
    if re.fullmatch(r"P\d{1,18}", reference):
        found = rows.filter(pk=int(reference[1:])).first()
    elif re.fullmatch(r"[0-9a-f]{16}", reference):
        found = next((p for p in rows.only("pk") if pseudonym(p.pk) == reference), None)
    if found is None and reference:
        found = rows.filter(prolific_pid=reference).first()
    if found is None:
        raise NoSuchParticipant(
            f"No participant of study {study.slug!r} is {reference!r} (a Prolific id, an export pseudonym or P<number>)."
        )
    return found


def participant_delete(*, study: Study, actor: str, prolific_pid: str = "", reference: str = "") -> dict:
    """Delete everything one participant gave (answers, player events, page visits, recommendations, the
    assignment and the participant row) and log it. Returns what was deleted, by kind. The participant is
    named by ``prolific_pid``, or by ``reference`` (participant_find: also an export pseudonym or P<number>).

    The balance stays honest: the least-filled randomiser counts the assignments that exist, so the
    deleted one no longer counts; permuted blocks continue after the highest position ever dealt.
    """
    with transaction.atomic():
        named = participant_find(study=study, reference=reference or prolific_pid)
        participant = Participant.objects.select_for_update().get(pk=named.pk)
        condition = participant.condition.slug if participant.condition else ""
        counts = {
            "answers": participant.responses.count(),
            "listening_events": participant.listening.count(),
            "page_visits": participant.visits.count(),
            "recommendations": participant.recommendations.count(),
            "assignment": int(condition != ""),
        }
        who = ({"prolific_pid_pseudonym": pid_pseudonym(participant.prolific_pid)} if participant.prolific_pid
               else {"participant_pseudonym": pseudonym(participant.pk)})
        participant.delete()  # the rest cascades
        AuditEntry.objects.create(
            actor=actor[:200], action=AuditEntry.Action.DELETE_PARTICIPANT, study=study,
            detail={**who, "condition": condition, "deleted": counts},
        )
    return counts


def identifiers_purge(*, older_than_days: int, actor: str, now=None) -> int:
    """Blank the Prolific ids (participant, study and session) of everyone who started more than
    ``older_than_days`` days ago; answers stay, no longer linkable to a person. Returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=older_than_days)
    with transaction.atomic():
        stale = Participant.objects.filter(started_at__lt=cutoff).exclude(
            prolific_pid="", prolific_study_id="", prolific_session_id=""
        )
        by_study = {}
        for study_id in stale.values_list("study_id", flat=True):
            by_study[study_id] = by_study.get(study_id, 0) + 1
        purged = stale.update(prolific_pid="", prolific_study_id="", prolific_session_id="")
        for study_id, n in by_study.items():
            AuditEntry.objects.create(
                actor=actor[:200], action=AuditEntry.Action.PURGE_IDENTIFIERS, study_id=study_id,
                detail={"participants": n, "older_than_days": older_than_days, "cutoff": cutoff.isoformat()},
            )
    return purged
