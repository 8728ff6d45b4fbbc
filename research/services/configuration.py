"""A study's whole configuration as one JSON document: to move it to another installation exactly, or to
start a new study from an old one. Participants and their data never travel with it."""
from __future__ import annotations

import json
import re

from django.core.exceptions import ValidationError
from django.db import transaction

from recommender.models import Catalog
from study.models import Condition, Item, Study, StudyTranslation, new_seed
from study.services.journey import FlowError

FORMAT = "resonance-study"
VERSION = 1
MAX_PROBLEMS = 30  # listed in one refusal; the rest are counted
#: Not configuration: identity, bookkeeping, and the state (a copy starts as a draft).
_STUDY_SKIP = {"id", "catalog", "created_at", "state", "assignments_made", "pinned_indexes"}


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


def _problems(where: str, obj, exclude: list[str], *, path: str = "", lines: dict[str, int] | None = None) -> list[str]:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as error:
        found = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
        return [
            _at(lines, f"{path}.{field}", path)
            + f"{where}{'.' + field if field and field != '__all__' else ''}: {' '.join(messages)}"
            for field, messages in found.items()
        ]
    return []


def _at(lines: dict[str, int] | None, *paths: str) -> str:
    """"line N: " for the first of ``paths`` the file's line map knows ("" without one)."""
    for path in paths:
        if lines and path in lines:
            return f"line {lines[path]}: "
    return ""


_SPACE = re.compile(r"[ \t\n\r]*")


def _members(text: str, start: int, decoder: json.JSONDecoder) -> tuple[list[tuple[str | int, int]], int]:
    """The members of the JSON object or array opening at ``start``: (key or index, where its value starts)."""
    closing = "}" if text[start] == "{" else "]"
    found, at = [], _SPACE.match(text, start + 1).end()
    if text[at] == closing:
        return found, at + 1
    while True:
        if closing == "}":
            key, after = decoder.raw_decode(text, at)
            value = _SPACE.match(text, _SPACE.match(text, after).end() + 1).end()  # past the colon
            found.append((key, at))
        else:
            value = at
            found.append((len(found), at))
        _value, end = decoder.raw_decode(text, value)
        if closing == "}":
            found[-1] = (found[-1][0], value) if text[value] in "{[" else found[-1]
        at = _SPACE.match(text, end).end()
        if text[at] != ",":
            return found, at + 1
        at = _SPACE.match(text, at + 1).end()


def config_lines(text: str) -> dict[str, int]:
    """Where each part of a configuration file is: "study", "study.<field>", "<section>[i]" and
    "<section>[i].<field>" -> line number; empty where the text is not the JSON object it should be."""
    decoder, lines = json.JSONDecoder(), {}

    def line(position: int) -> int:
        return text.count("\n", 0, position) + 1

    try:
        start = _SPACE.match(text).end()
        for key, at in _members(text, start, decoder)[0]:
            if key == "study" and text[at] == "{":
                lines["study"] = line(at)
                for field, field_at in _members(text, at, decoder)[0]:
                    lines[f"study.{field}"] = line(field_at)
            elif key in ("conditions", "items", "translations") and text[at] == "[":
                for i, element_at in _members(text, at, decoder)[0]:
                    lines[f"{key}[{i}]"] = line(element_at)
                    if text[element_at] == "{":
                        for field, field_at in _members(text, element_at, decoder)[0]:
                            lines[f"{key}[{i}].{field}"] = line(field_at)
    except (ValueError, IndexError):
        return {}
    return lines


def _build(model, values, where: str) -> tuple[object | None, list[str]]:
    known = {f.name for f in model._meta.concrete_fields} - {"id"}
    if not isinstance(values, dict):
        return None, [f"{where}: not an object of fields."]
    unknown = sorted(set(values) - known)
    if unknown:
        return None, [f"{where}: unknown field{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}."]
    return model(**values), []


def study_from_config(config: dict, *, slug: str | None = None, catalog: Catalog | None = None,
                      fresh_seed: bool = False, text: str | None = None) -> Study:
    """Create the study a configuration describes, as a draft; ``slug``/``catalog`` override its own.

    Everything is checked as the admin checks it (each model's full_clean: impossible scales, unsafe id
    patterns, over-long fields, untruthful conditions...) before anything is written: all or nothing, with
    every problem named by where it is in the file (``line 57: items[3] ('q1').scale_max: ...``; the line
    where the file's ``text`` is given). Also refused:
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
    lines = config_lines(text) if text else {}
    study, problems = _build(Study, {**fields, "catalog": catalog}, _at(lines, "study") + "study")
    if study is not None:
        problems += _problems("study", study, exclude=[], path="study", lines=lines)
    rows = []
    for section, model in (("conditions", Condition), ("items", Item), ("translations", StudyTranslation)):
        seen = set()
        for i, values in enumerate(config.get(section) or []):
            label = (values.get("slug") or values.get("code") or values.get("language")) if isinstance(values, dict) else None
            path = f"{section}[{i}]"
            where = path + (f" ({label!r})" if label else "")
            row, found = _build(model, values, _at(lines, path) + where)
            problems += found
            if row is None:
                continue
            problems += _problems(where, row, exclude=["study"], path=path, lines=lines)
            key = label or i
            if key in seen:
                problems.append(f"{_at(lines, path)}{where}: a second {model._meta.verbose_name} {key!r}; each must be "
                                "unique in a study.")
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
