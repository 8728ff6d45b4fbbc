"""A researcher trying the study: walking any condition as a participant would, and clearing that test data away
before the study opens. Both are in the audit log. A preview participant is pilot data (left out of exports and
analysis unless asked for), assigned the chosen condition instead of a randomised one, and never counts towards
the real participants' balance or blocks (pilots are randomised among themselves: study.services.journey)."""
from __future__ import annotations

from django.db import transaction

from study.models import Assignment, AuditEntry, Condition, Participant, Study
from study.services import FlowError


def participant_preview(*, study: Study, condition: Condition, actor: str) -> Participant:
    """A new pilot participant in ``condition``, at the consent page, whatever the study's state (a draft too):
    the caller puts its token in the researcher's browser session."""
    if condition.study_id != study.pk:
        raise FlowError("That condition is not one of this study's.")
    with transaction.atomic():
        participant = Participant.objects.create(study=study, is_pilot=True, prolific_study_id="preview")
        Assignment.objects.create(participant=participant, condition=condition, method=f"preview by {actor}"[:40])
        AuditEntry.objects.create(actor=actor[:200], action=AuditEntry.Action.PREVIEW, study=study, detail={
            "condition": condition.slug, "participant": f"P{participant.pk}",
        })
    return participant


def study_discard_test_data(*, study: Study, actor: str) -> dict[str, int]:
    """Delete every pilot participant of a study that has not opened (its bots, previews and the researchers'
    own tries), with all they did; logged with the counts. An open or closed study keeps its pilots in the record
    (they are left out of its exports and analysis unless asked for)."""
    if study.state not in (Study.State.DRAFT, Study.State.PILOT):
        raise FlowError(f"Study {study.slug!r} is {study.state}: test data is discarded only before it opens.")
    with transaction.atomic():
        pilots = Participant.objects.filter(study=study, is_pilot=True)
        counts = {"participants": pilots.count(), "answers": sum(p.responses.count() for p in pilots)}
        pilots.delete()
        AuditEntry.objects.create(actor=actor[:200], action=AuditEntry.Action.DISCARD_TEST_DATA, study=study,
                                  detail=counts)
    return counts
