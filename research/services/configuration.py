"""A study's whole configuration as one JSON document: to move it to another installation exactly, or to
start a new study from an old one. Participants and their data never travel with it."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from recommender.models import Catalog
from study.models import Condition, Item, Study, StudyTranslation, new_seed
from study.services.journey import FlowError

FORMAT = "resonance-study"
VERSION = 1
MAX_PROBLEMS = 30  # listed in one refusal; the rest are counted
#: Not configuration: identity, bookkeeping, and the state (a copy starts as a draft).
_STUDY_SKIP = {"id", "catalog", "created_at", "state", "assignments_made"}


def _fields(obj, skip: set[str]) -> dict:
    return {f.name: f.value_from_object(obj) for f in obj._meta.concrete_fields if f.name not in skip}


def study_to_config(study: Study) -> dict:
    """Everything that defines the study: its settings, catalog (by slug), conditions, items and texts."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "study": {**_fields(study, _STUDY_SKIP), "catalog": study.catalog.slug},
        "conditions": [_fields(c, {"id", "study"}) for c in study.conditions.order_by("pk")],
        "items": [_fields(i, {"id", "study"}) for i in study.items.order_by("section", "order", "pk")],
        "translations": [_fields(t, {"id", "study"}) for t in study.translations.order_by("language")],
    }


def _problems(where: str, obj, exclude: list[str]) -> list[str]:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as error:
        found = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
        return [f"{where}{'.' + field if field and field != '__all__' else ''}: {' '.join(messages)}"
                for field, messages in found.items()]
    return []


def _build(model, values, where: str) -> tuple[object | None, list[str]]:
    known = {f.name for f in model._meta.concrete_fields} - {"id"}
    if not isinstance(values, dict):
        return None, [f"{where}: not an object of fields."]
    unknown = sorted(set(values) - known)
    if unknown:
        return None, [f"{where}: unknown field{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}."]
    return model(**values), []


def study_from_config(config: dict, *, slug: str | None = None, catalog: Catalog | None = None,
                      fresh_seed: bool = False) -> Study:
    """Create the study a configuration describes, as a draft; ``slug``/``catalog`` override its own.

    Everything is checked as the admin checks it (each model's full_clean: impossible scales, unsafe id
    patterns, over-long fields, untruthful conditions...) before anything is written: all or nothing, with
    every problem named by where it is in the file (``items[3] (code 'q1').scale_max: ...``). Also refused:
    another format or version, a slug in use, an unknown catalog.
    """
    if not isinstance(config, dict) or config.get("format") != FORMAT or config.get("version") != VERSION:
        raise FlowError(f"Not a Resonance study configuration (format {FORMAT!r}, version {VERSION}).")
    fields = dict(config.get("study") or {})
    fields["slug"] = slug or fields.get("slug")
    catalog_slug = fields.pop("catalog", None)
    catalog = catalog or Catalog.objects.filter(slug=catalog_slug).first()
    if catalog is None:
        raise FlowError(f"No catalog {catalog_slug!r} here: import it first, or name another one.")
    if Study.objects.filter(slug=fields["slug"]).exists():
        raise FlowError(f"A study {fields['slug']!r} exists already; give the copy another slug.")
    if fresh_seed:
        fields["randomisation_seed"] = new_seed()
    fields["state"] = Study.State.DRAFT
    study, problems = _build(Study, {**fields, "catalog": catalog}, "study")
    if study is not None:
        problems += _problems("study", study, exclude=[])
    rows = []
    for section, model in (("conditions", Condition), ("items", Item), ("translations", StudyTranslation)):
        seen = set()
        for i, values in enumerate(config.get(section) or []):
            label = (values.get("slug") or values.get("code") or values.get("language")) if isinstance(values, dict) else None
            where = f"{section}[{i}]" + (f" ({label!r})" if label else "")
            row, found = _build(model, values, where)
            problems += found
            if row is None:
                continue
            problems += _problems(where, row, exclude=["study"])
            key = label or i
            if key in seen:
                problems.append(f"{where}: a second {model._meta.verbose_name} {key!r}; each must be unique in a study.")
            seen.add(key)
            rows.append(row)
    if problems:
        shown = problems[:MAX_PROBLEMS] + ([f"... and {len(problems) - MAX_PROBLEMS} more."] if len(problems) > MAX_PROBLEMS else [])
        raise FlowError("This configuration cannot be imported; nothing was written:\n" + "\n".join(shown))
    with transaction.atomic():
        study.save()
        for row in rows:
            row.study = study
            row.save()
    return study


def study_duplicate(*, study: Study, slug: str) -> Study:
    """A new draft study configured like ``study``, with its own randomisation seed and no participants."""
    return study_from_config(study_to_config(study), slug=slug, catalog=study.catalog, fresh_seed=True)
