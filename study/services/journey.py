"""Arriving, consenting and moving from page to page: the participant's position, owned by the server."""
from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from study import flow, randomisation
from study.models import Assignment, Condition, PageVisit, Participant, Study
from study.pid_patterns import pid_matches

Page = Participant.Page


class FlowError(ValueError):
    """A participant asked for something the study does not allow now; the message is for them."""


class NotInvited(FlowError):
    """A visitor without a PROLIFIC_PID reached a study open to Prolific participants only."""


class AlreadyTookPart(FlowError):
    """This Prolific id has taken part (or is taking part in another session); the link does not reopen it."""


class OtherParticipantHere(FlowError):
    """This browser is in the middle of the study as another participant; it is never switched."""


class InvalidLink(FlowError):
    """The link's participant, study or session id is not a valid one."""


#: What a study or session id may be (any panel's): letters, digits, dashes and underscores.
_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")


def link_check(*, study: Study, prolific_pid: str, prolific_study_id: str, prolific_session_id: str) -> None:
    """Refuse a link whose ids are not ids: the PID must match the study's pattern in full, the others be
    plain identifiers. Nothing is cut or cleaned: a malformed id is refused, not coerced into another one."""
    if prolific_pid and (len(prolific_pid) > 200 or not pid_matches(study.pid_pattern, prolific_pid)):
        raise InvalidLink(_("This link's participant id is not a valid one. Please open the study from Prolific."))
    for value in (prolific_study_id, prolific_session_id):
        if value and not _ID.fullmatch(value):
            raise InvalidLink(_("This link's study or session id is not a valid one. Please open the study from Prolific."))


def page_visit_enter(*, participant: Participant) -> None:
    """Note the server time a participant first sees their current page (reloads are the same visit)."""
    if not PageVisit.objects.filter(participant=participant, page=participant.page, left_at=None).exists():
        PageVisit.objects.create(participant=participant, page=participant.page)


def move(participant: Participant, page: str, *, from_page: str, **fields) -> bool:
    """Put the participant on ``page`` only if still on ``from_page``, and close the visit they leave.

    The conditional UPDATE makes a race between two requests (a double click, the
    worker and a poll) move the participant once.
    """
    moved = Participant.objects.filter(pk=participant.pk, page=from_page).update(page=page, **fields)
    if moved:
        PageVisit.objects.filter(participant_id=participant.pk, left_at=None).exclude(page=page).update(
            left_at=timezone.now()
        )
        participant.page = page
        for name, value in fields.items():
            setattr(participant, name, value)
    return bool(moved)


def advance(participant: Participant, *, from_page: str, **fields) -> bool:
    """Move the participant from ``from_page`` to the page after it in their study's flow (``Participant.FLOW``
    without the tests the study does not hold)."""
    return move(participant, flow.next_page(from_page, participant.study), from_page=from_page, **fields)


def require_page(participant: Participant, page: str) -> None:
    if participant.page != page:
        raise FlowError(_("That step is already done; you have been taken to where you are in the study."))


def participant_enter(
    *, study: Study, session_token: str | None, prolific_pid: str = "", prolific_study_id: str = "",
    prolific_session_id: str = "",
) -> Participant:
    """The participant this browser is, or the one this Prolific id and session are, or a new one.

    A Prolific id alone never opens someone's study: resuming in another browser needs the same
    SESSION_ID as the first arrival (Prolific's rule: one session per participant), and a finished or
    declined participant is not reopened from a link at all (their own browser still shows their page).
    A browser in the middle of the study is never switched to another participant.
    """
    link_check(study=study, prolific_pid=prolific_pid, prolific_study_id=prolific_study_id,
               prolific_session_id=prolific_session_id)
    if session_token:
        participant = Participant.objects.filter(study=study, token=session_token).first()
        if participant and (not prolific_pid or participant.prolific_pid in ("", prolific_pid)):
            return participant
        if participant:
            raise OtherParticipantHere(_(
                "This browser is already taking part in this study with another Prolific ID. Please continue in "
                "the browser you started in, or finish the study here first."
            ))
    if prolific_pid:
        participant = Participant.objects.filter(study=study, prolific_pid=prolific_pid).first()
        if participant:
            return _resume(participant, prolific_session_id)
    if study.state == Study.State.DRAFT:
        raise FlowError(_("This study has not started yet. Please come back through the link you were given later."))
    if not study.accepts_new_participants:
        raise FlowError(_("This study is closed and accepts no new participants."))
    if not prolific_pid and not study.open_to_anyone:
        raise NotInvited(
            _("This study is run on Prolific. Please open it through the link on Prolific, which tells us who you "
              "are so that you can be paid.")
        )
    try:
        with transaction.atomic():
            return Participant.objects.create(
                study=study,
                prolific_pid=prolific_pid,
                prolific_study_id=prolific_study_id,
                prolific_session_id=prolific_session_id,
                # Everyone who enters a study in pilot is a pilot participant, left out of analysis by default.
                is_pilot=study.state == Study.State.PILOT,
            )
    except IntegrityError:
        # The same Prolific id arrived twice at once (a double click); the first one stands.
        return _resume(Participant.objects.get(study=study, prolific_pid=prolific_pid), prolific_session_id)


def _resume(participant: Participant, prolific_session_id: str) -> Participant:
    finished = participant.page in (Page.DONE, Page.DECLINED)
    if finished or participant.prolific_session_id != prolific_session_id:
        raise AlreadyTookPart(_(
            "You have already taken part in this study with this Prolific ID. Each person may take part once; "
            "if you were interrupted, please continue in the browser you started in."
        ))
    return participant


def participant_assign(*, participant: Participant) -> Assignment:
    """Randomise once, by the study's method; the study row lock makes arrivals take turns.

    Without the lock, two arrivals could both count the same totals (or take the same
    block position) and both join the same condition; with it, each one counts after
    the previous one has been written.

    Pilot participants (bots, the researcher's own tries) are randomised among themselves: they neither
    count towards the real participants' balance nor take places in their permuted blocks, so piloting an
    open study leaves the real participants' randomisation exactly as it would have been.
    """
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=participant.study_id)
        existing = Assignment.objects.filter(participant=participant).select_related("condition").first()
        if existing:
            return existing
        active = list(Condition.objects.filter(study=study, is_active=True))
        if not active:
            raise FlowError(_("This study has no active condition; please contact the researcher."))
        weights = {c.pk: c.weight for c in active}
        pilot = participant.is_pilot
        if pilot:
            position = Assignment.objects.filter(participant__study=study, participant__is_pilot=True).count()
        else:
            # Positions count every real assignment ever made: a participant deleted on request leaves a gap,
            # so a permuted block is never dealt twice.
            position = study.assignments_made
            Study.objects.filter(pk=study.pk).update(assignments_made=position + 1)
        if study.randomisation == Study.Randomisation.PERMUTED_BLOCK:
            condition_id = randomisation.permuted_block(
                position, list(weights), seed=study.randomisation_seed, weights=weights, repeats=study.block_repeats
            )
        else:
            counted = Q(assignments__participant__is_pilot=pilot)
            if study.balance_on == Study.BalanceOn.FINISHED:
                counted &= Q(assignments__participant__completed_at__isnull=False)
            counts = dict(
                Condition.objects.filter(pk__in=weights).annotate(n=Count("assignments", filter=counted)).values_list("pk", "n")
            )
            condition_id = randomisation.least_filled(counts, weights=weights)
        return Assignment.objects.create(
            participant=participant, condition_id=condition_id, position=position + 1,
            method=f"{study.randomisation} (balance on {study.balance_on})"
            if study.randomisation == Study.Randomisation.LEAST_FILLED else study.randomisation,
        )


def participant_consent(*, participant: Participant, agree: bool, language: str = "") -> Participant:
    """Consent (randomise, then move on) or decline; ``language`` is the one the consent was read in."""
    require_page(participant, Page.CONSENT)
    if not agree:
        move(participant, Page.DECLINED, from_page=Page.CONSENT, language=language)
        return participant
    participant_assign(participant=participant)
    advance(
        participant, from_page=Page.CONSENT, language=language,
        consent_version=participant.study.consent_version, consented_at=timezone.now(),
    )
    return participant


def participant_read_instructions(*, participant: Participant) -> Participant:
    require_page(participant, Page.INSTRUCTIONS)
    advance(participant, from_page=Page.INSTRUCTIONS)
    return participant
