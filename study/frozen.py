"""Nothing changes under a running study: once a study has left draft (pilot, open or closed), what its
participants are asked and shown is frozen. The models' clean() ask this module, so the admin, imports and every
full_clean refuse the same changes with the same words.

Frozen: the questions (every field of every item, and adding or removing one), the conditions (all but
whether one still takes new participants), the design (catalog, pool, randomisation, liked tracks and
recommendations, tag vocabulary, item order, listening), the recommenders' indexes (pinned when the study leaves
draft: a model trained or a catalog analysed later does not reach it) and the state (an open or closed study
never goes back). The texts participants read may change only as a new version: with a new consent version,
which every participant who consents from then on carries into the export. The repair for a genuine mistake:
close the study, duplicate it (a draft with everything editable), fix the copy and open it. A pilot nobody is
left in (its test data discarded) may go back to draft.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError

#: The study's design: what every participant goes through.
STUDY_FIELDS = [
    "catalog", "pid_pattern", "open_to_anyone", "pool_styles", "pool_track_ids", "min_liked", "max_liked",
    "n_recommendations", "tag_vocabulary", "item_order", "randomisation", "balance_on", "block_repeats",
    "required_listening_s", "simulation_trials", "simulation_pretest", "simulation_bands",
]
#: What participants read: changes only with a new consent version.
TEXT_FIELDS = ["title", "description", "consent_text", "instructions_text", "debrief_text"]
#: What may change on a condition of a running study: whether it still takes new participants.
CONDITION_OPEN_FIELDS = {"is_active"}
REPAIR = ("Close the study, duplicate it (a draft), fix the copy and open that instead (a pilot whose test data is "
          "discarded may go back to draft).")
#: The states in which participants may have seen the study.
LEFT_DRAFT = ("pilot", "open", "closed")
NEW_VERSION = ("Participants have read this text: change it only with a new consent version (every participant who "
               "consents from now on carries it into the export).")


def is_frozen(study) -> bool:
    """Whether participants' questions and design are frozen: the study, as stored, has left draft."""
    return _stored_state(study) in LEFT_DRAFT


def _stored_state(study) -> str | None:
    if study is None or not study.pk:
        return None
    return type(study).objects.filter(pk=study.pk).values_list("state", flat=True).first()


def back_to_draft(study) -> bool:
    """A pilot nobody is left in going back to draft: allowed, and everything is editable again in that save."""
    return study.state == "draft" and _stored_state(study) == "pilot" and not study.participants.exists()


def _changed(obj, fields) -> list[str]:
    stored = type(obj).objects.filter(pk=obj.pk).values(*[f"{name}_id" if _is_fk(obj, name) else name for name in fields]).first()
    if stored is None:
        return []
    return [name for name in fields if stored[f"{name}_id" if _is_fk(obj, name) else name] != _value(obj, name)]


def _is_fk(obj, name) -> bool:
    return obj._meta.get_field(name).is_relation


def _value(obj, name):
    return getattr(obj, f"{name}_id") if _is_fk(obj, name) else getattr(obj, name)


def study_check(study) -> None:
    """Study.clean: refuse a change to a frozen study's design, a way back to draft or pilot, and new texts
    without a new consent version."""
    if not is_frozen(study) or back_to_draft(study):
        return
    errors = dict.fromkeys(_changed(study, STUDY_FIELDS), f"Frozen: this study has left draft. {REPAIR}")
    stored = _stored_state(study)
    if study.state == "draft":
        errors["state"] = ("Back to draft only from a pilot nobody is left in: discard its test data first (the "
                           "study's page “Try the study”).")
    elif study.state == "pilot" and stored != "pilot":
        errors["state"] = "An open or closed study cannot go back to pilot."
    if not _changed(study, ["consent_version"]):
        errors.update(dict.fromkeys(_changed(study, TEXT_FIELDS), NEW_VERSION))
    if errors:
        raise ValidationError(errors)


def translations_check(study, *, changed: bool) -> None:
    """The study's texts in other languages follow the same rule as its own: on a frozen study, a changed,
    added or removed translation needs a new consent version in the same save (``study`` carries the values
    submitted with it; the stored row the old ones)."""
    if changed and is_frozen(study) and not _changed(study, ["consent_version"]):
        raise ValidationError(f"Texts in another language: {NEW_VERSION}")


def row_check(obj, *, open_fields: set[str] = frozenset()) -> None:
    """Item.clean, Condition.clean: refuse adding a row to a frozen study, or changing one (but ``open_fields``)."""
    study = obj.study if obj.study_id else None
    if not is_frozen(study):
        return
    what = obj._meta.verbose_name
    if not obj.pk:
        raise ValidationError(f"Frozen: this study has left draft; no {what} can be added. {REPAIR}")
    fields = [f.name for f in obj._meta.concrete_fields if f.name not in {"id", "study", *open_fields}]
    changed = _changed(obj, fields)
    if changed:
        raise ValidationError(dict.fromkeys(changed, f"Frozen: participants may have seen this {what}. {REPAIR}"))
