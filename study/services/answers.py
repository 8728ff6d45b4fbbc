"""Answers: the last value a participant chose is the one stored, whatever order the saves arrive in.

Every save of one question carries a number that grows with each choice (the page's
``seq``); the stored answer changes only for a higher number, in one conditional UPDATE,
so a request that overtakes another can never put back an earlier value. A page
submit is all-or-nothing: one invalid value stores nothing and names its question.
"""
from __future__ import annotations

import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from config.numbers import ascii_int
from study import flow
from study.models import INSTRUCTED, Item, Participant, Recommendation, Response
from study.questionnaires import MANIPULATION_ANSWER
from study.services.journey import FlowError, advance, require_page
from study.services.listening import listened_seconds
from study.templatetags.study_tags import answer_field

Page = Participant.Page
#: The page's script sends, with a submit, the save number it knows for each question.
SEQ_PREFIX = "seq__"


def form_integer(raw) -> int | None:
    """A form value as the integer it spells, or None for anything else."""
    return ascii_int(raw, max_digits=6, signed=True)


def _known_seq(answers: Mapping[str, str], field: str) -> int | None:
    """The save number the submitting page knew for ``field`` (None: a page without the script, or a bot)."""
    raw = answers.get(SEQ_PREFIX + field)
    return ascii_int(raw, max_digits=18)


class AnswerError(FlowError):
    """An answer that cannot be stored; ``field`` names the form field it came from."""

    def __init__(self, message: str, *, field: str, retry_after: float | None = None):
        super().__init__(message)
        self.field = field
        self.retry_after = retry_after


class StaleAnswer(AnswerError):
    """A submit from a page that never saw a newer answer given meanwhile (another tab or window)."""


@dataclass(frozen=True)
class Saved:
    value: int  # the answer now stored
    seq: int  # its number
    saved: bool  # False: a later choice was stored already, and this one was not


def _question(item: Item, recommendation: Recommendation | None) -> str:
    text = _("“%(text)s”") % {"text": _(item.text)}  # quotation marks as the language writes them („…“ in German)
    if recommendation is not None:
        return _("Recommendation %(rank)d, %(question)s") % {"rank": recommendation.rank, "question": text}
    return text


def study_explanations_shown(study) -> set[str]:
    """The explanations this study's groups see: every condition open or that anyone was assigned to
    (pausing a condition does not unmake its group). The debrief and the manipulation check name these."""
    return set(
        study.conditions.filter(Q(is_active=True) | Q(assignments__isnull=False)).values_list("explanation", flat=True)
    )


def _as_offered(items: list[Item], study) -> list[Item]:
    """The items as a participant is offered them: the manipulation check lists tags only in a study that has
    a tags group (charts, pictures, both and none are the classic set, distractors included), with "no
    explanations" last. Every condition of a study gets the same options; a value not offered is refused."""
    checks = [item for item in items if item.check_kind == Item.Check.MANIPULATION]
    if checks:
        hidden = set() if "tags" in study_explanations_shown(study) else {MANIPULATION_ANSWER["tags"]}
        none = MANIPULATION_ANSWER["none"]
        for item in checks:
            item.options = sorted((o for o in item.options if o[0] not in hidden), key=lambda o: o[0] == none)
    return items


def _checked_value(item: Item, raw, *, field: str, recommendation: Recommendation | None, form: bool = False) -> int:
    """The answer as an integer on the item's scale; anything else (3.9, true, " 6 ") is refused, not coerced.

    ``form``: the value comes from a submitted form, where every value is text ("6").
    """
    is_number = isinstance(raw, int) and not isinstance(raw, bool)
    if not (is_number or (form and form_integer(raw) is not None)):
        raise AnswerError(
            _("%(question)s: “%(value)s” is not an answer on this scale.")
            % {"question": _question(item, recommendation), "value": str(raw)[:40]},
            field=field,
        )
    value = int(raw)
    if value not in item.scale:
        if item.kind == Item.Kind.CHOICE:
            message = _("%(question)s: please choose one of the options given.")
        else:
            message = _("%(question)s: answers range from %(low)d to %(high)d.")
        raise AnswerError(
            message % {"question": _question(item, recommendation), "low": item.scale_min, "high": item.scale_max},
            field=field,
        )
    return value


def _check_listened(participant: Participant, item: Item, recommendation: Recommendation, field: str) -> None:
    required = participant.study.required_listening_s
    if required and item.section == Item.Section.RATING:
        heard = listened_seconds(participant=participant, recommendation=recommendation)
        if heard < required:
            raise AnswerError(
                _("Please listen to at least %(s)d seconds of this track before rating it (%(heard)d s so far).")
                % {"s": required, "heard": int(heard)},
                field=field, retry_after=1.0,
            )


def _store(participant: Participant, item: Item, recommendation: Recommendation | None, value: int,
           seq: int | None, *, known_seq: int | None = None, field: str = "") -> Saved:
    """Keep ``value`` if ``seq`` is higher than the stored answer's; ``seq=None`` is a page submit, which wins,
    unless the page knew only an older answer (``known_seq``) than one given since in another tab: StaleAnswer."""
    now = timezone.now()
    with transaction.atomic():
        rows = Response.objects.filter(participant=participant, item=item, recommendation=recommendation)
        if seq is None:
            # A page submit: what was on screen when the participant pressed the button. The page's
            # script holds the button while a save is in flight, so nothing newer can be under way.
            current = rows.select_for_update().order_by("pk").first()  # no ordering join: FOR UPDATE cannot lock one
            if current and current.value == value:
                return Saved(value, current.client_seq, True)
            if current and known_seq is not None and current.client_seq > known_seq:
                raise StaleAnswer(
                    _("%(question)s was answered differently in another tab or window since this page was "
                      "opened; the newer answer is shown. Please check it and continue.")
                    % {"question": _question(item, recommendation)},
                    field=field,
                )
            seq = current.client_seq + 1 if current else 1
        if rows.filter(client_seq__lt=seq).update(value=value, client_seq=seq, answered_at=now):
            return Saved(value, seq, True)
        try:
            with transaction.atomic():
                Response.objects.create(
                    participant=participant, item=item, recommendation=recommendation, value=value, client_seq=seq
                )
            return Saved(value, seq, True)
        except IntegrityError:
            pass  # an answer exists (perhaps written a moment ago by a concurrent save): compare with it
        if rows.filter(client_seq__lt=seq).update(value=value, client_seq=seq, answered_at=now):
            return Saved(value, seq, True)
        current = rows.get()
        return Saved(current.value, current.client_seq, current.client_seq == seq and current.value == value)


def _item(participant: Participant, item_code: str) -> Item:
    item = Item.objects.filter(study=participant.study_id, code=item_code).first()
    if item is None:
        raise FlowError(_("Unknown question."))
    return _as_offered([item], participant.study)[0]


def _recommendation(participant: Participant, item: Item, recommendation_id, field: str) -> Recommendation | None:
    if item.section != Item.Section.RATING:
        return None
    if recommendation_id is None:
        raise AnswerError(_("This answer does not say which recommendation it is for."), field=field)
    if isinstance(recommendation_id, bool) or not isinstance(recommendation_id, int):
        recommendation_id = None
    recommendation = participant.recommendations.filter(pk=recommendation_id).first() if recommendation_id else None
    if recommendation is None:
        raise AnswerError(_("That recommendation is not yours."), field=field)
    return recommendation


def response_save(
    *, participant: Participant, item_code: str, value, recommendation_id: int | None = None, seq: int | None = None
) -> Saved:
    """Store one answer as the participant gives it; ``seq`` orders the saves of one question."""
    item = _item(participant, item_code)
    require_page(participant, flow.page_of_section(item.section))
    field = answer_field(item.code, recommendation_id if item.section == Item.Section.RATING else None)
    recommendation = _recommendation(participant, item, recommendation_id, field)
    checked = _checked_value(item, value, field=field, recommendation=recommendation)
    if recommendation is not None:
        _check_listened(participant, item, recommendation, field)
    return _store(participant, item, recommendation, checked, seq)


def _instructed(participant: Participant, items: list[Item]) -> list[Item]:
    """Attention checks that instruct each participant to give a value of their own (Item.correct_value empty):
    drawn from the scale's inner points the first time and stored, and written into the item's text in the
    participant's language. Never an end of the scale, so answering one end of every scale fails it."""
    drawn = [item for item in items if item.check_kind == Item.Check.ATTENTION and item.correct_value is None]
    if not drawn:
        return items
    stored = participant.instructed or {}
    if any(item.code not in stored for item in drawn):
        with transaction.atomic():
            # Re-read under a lock: two tabs opening the page at once must instruct the same value.
            locked = Participant.objects.select_for_update().only("instructed").get(pk=participant.pk)
            stored = dict(locked.instructed or {})
            for item in drawn:
                stored.setdefault(item.code, random.SystemRandom().choice(list(item.scale)[1:-1]))
            Participant.objects.filter(pk=participant.pk).update(instructed=stored)
        participant.instructed = stored
    for item in drawn:
        item.text = gettext(item.text).replace(INSTRUCTED, str(stored[item.code]))
    return items


def participant_items(*, participant: Participant, section: str) -> list[Item]:
    """The section's items in the order this participant sees them: the study's, or, when the study
    randomises item order, one drawn the first time and stored, so reloads and the export show the same."""
    items = _as_offered(list(Item.objects.filter(study=participant.study_id, section=section)), participant.study)
    items = _instructed(participant, items)
    if participant.study.item_order != participant.study.ItemOrder.RANDOMISED:
        return items
    order = (participant.item_order or {}).get(section)
    if order is None:
        order = [item.code for item in items]
        random.SystemRandom().shuffle(order)
        with transaction.atomic():
            # Re-read under a lock: two tabs opening the page at once must agree on one order.
            locked = Participant.objects.select_for_update().only("item_order").get(pk=participant.pk)
            stored = dict(locked.item_order or {})
            order = stored.setdefault(section, order)
            Participant.objects.filter(pk=participant.pk).update(item_order=stored)
        participant.item_order = stored
    position = {code: i for i, code in enumerate(order)}
    # An item added after the order was drawn goes last, in the study's order.
    return sorted(items, key=lambda item: position.get(item.code, len(position)))


def _questions(participant: Participant, section: str) -> list[tuple[Item, Recommendation | None]]:
    items = _as_offered(list(Item.objects.filter(study=participant.study_id, section=section)), participant.study)
    if section == Item.Section.RATING:
        return [(item, rec) for rec in participant.recommendations.all() for item in items]
    return [(item, None) for item in items]


def missing_answers(participant: Participant, section: str) -> list[tuple[int | None, str]]:
    """(recommendation id, item code) of every question on this page still unanswered."""
    given = set(participant.responses.values_list("recommendation_id", "item__code"))
    wanted = [(rec.pk if rec else None, item.code) for item, rec in _questions(participant, section)]
    return [key for key in wanted if key not in given]


def participant_submit_page(*, participant: Participant, answers: Mapping[str, str]) -> Participant:
    """Store a page's answers (all or none) and move on once every question on it is answered.

    An invalid value stores nothing from this submit and its error names the question.
    Valid answers to an incomplete page are kept; the page then asks for the rest.
    """
    section = flow.section_of(participant.page)
    if section is None:
        raise FlowError(_("There is nothing to submit on this page."))
    checked = []
    for item, recommendation in _questions(participant, section):
        field = answer_field(item.code, recommendation.pk if recommendation else None)
        raw = answers.get(field)
        if raw in (None, ""):
            continue
        value = _checked_value(item, raw, field=field, recommendation=recommendation, form=True)
        if recommendation is not None:
            _check_listened(participant, item, recommendation, field)
        checked.append((item, recommendation, value, field))
    with transaction.atomic():  # all or nothing: a stale answer stores nothing of this submit
        for item, recommendation, value, field in checked:
            _store(participant, item, recommendation, value, None, field=field, known_seq=_known_seq(answers, field))
    if missing_answers(participant, section):
        raise FlowError(_("Please answer every question before you continue."))
    fields = {}
    if flow.next_page(participant.page, participant.study) == Page.DONE:
        fields = {
            "completed_at": timezone.now(),
            "completion_code": participant.study.prolific_completion_code or secrets.token_hex(4).upper(),
        }
    advance(participant, from_page=participant.page, **fields)
    return participant
