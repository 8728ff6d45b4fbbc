"""The codebook: one row for every column of every export format, with its meaning in each language.

Item columns carry the question as participants read it in each of settings.LANGUAGES,
their scale with its anchor or option labels and codes, whether the item is reverse-coded
and where it comes from; every other column carries its type, description and values.
"""
from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from research.export import BOOLEAN, EVENT_COLUMNS, STRING, Column, Options, Table, legacy_table, long_table
from research.export_trials import TRIAL_COLUMNS
from research.export_wide import wide_columns
from study.models import Condition, Item, Participant, Study
from study.questionnaires import GERMAN_SOURCE, MANIPULATION_ANSWER


def language_codes() -> list[str]:
    """The participant languages, read when a codebook is made (settings can change after import)."""
    return [code for code, _name in settings.LANGUAGES]


def codebook_columns() -> list[str]:
    codes = language_codes()
    return [
        "name", "formats", "type", "description", "section", "construct", "item", "recommendation_rank",
        *[f"text_{code}" for code in codes],
        "scale_min", "scale_max",
        *[f"values_{code}" for code in codes],
        "reverse_coded", "check", "correct_value", "source",
        "published_text", "adapted", "bank_scale", "dropped_from_scale", "changed_from_bank", "translations",
    ]


def _translated(text: str, language: str) -> str:
    with translation.override(language):
        return gettext(text) if text else ""


def _item_values(item: Item, language: str) -> str:
    """Codes and their labels: every option of a choice item, the two anchors of a rating scale."""
    if item.kind == Item.Kind.CHOICE:
        return "; ".join(f"{value} = {_translated(label, language)}" for value, label in item.options)
    return (
        f"{item.scale_min} = {_translated(item.label_min, language)}; "
        f"{item.scale_max} = {_translated(item.label_max, language)}"
    )


def _choices(choices) -> str:
    return "; ".join(f"{value} = {label}" for value, label in choices)


def _column_values(study: Study) -> dict[str, str]:
    """The values a non-item column takes, where there are few."""
    return {
        "condition": _choices(study.conditions.values_list("slug", "name")),
        "explanation": _choices(Condition.Shows.choices),
        "section": _choices(Item.Section.choices),
        "last_page": _choices(Participant.Page.choices),
        "page": _choices(Participant.Page.choices),
        "language": _choices(settings.LANGUAGES),
        "event_type": "page_visit; player",
        "event": "play; pause; seeked; ended; progress",
        # The manipulation check's right answer depends on the participant's condition.
        "manipulation_key": "; ".join(
            f"{slug} ({explanation}): {MANIPULATION_ANSWER[explanation]}"
            for slug, explanation in study.conditions.order_by("pk").values_list("slug", "explanation")
        ),
    }


def _bank_notes(item: Item, study_codes: set[str]) -> dict:
    """What the codebook says of a bank item: which of its scale's items the study left out, and what the study
    changed from the bank (wording, response scale, anchors)."""
    from study.questionnaires import SCALES, bank_item, scale_items

    notes = {"bank_scale": item.bank_scale, "dropped_from_scale": "", "changed_from_bank": ""}
    if not item.bank_scale or item.bank_scale not in SCALES:
        return notes
    scale_codes = [entry["code"] for entry in SCALES[item.bank_scale]["items"]]
    notes["dropped_from_scale"] = " ".join(code for code in scale_codes if code not in study_codes)
    entry = bank_item(item.bank_scale, item.code)
    if entry is not None:
        bank = next(fields for fields in scale_items(item.bank_scale, [item.code]))
        changed = [
            f"{name}: bank {bank[name]!r}, study {getattr(item, name)!r}"
            for name in ("text", "scale_min", "scale_max", "label_min", "label_max", "reverse_coded")
            if bank[name] != getattr(item, name)
        ]
        notes["changed_from_bank"] = "; ".join(changed)
    return notes


def _row(column: Column, formats: list[str], values: dict[str, str], study_codes: set[str] = frozenset()) -> dict:
    item = column.item
    row = dict.fromkeys(codebook_columns(), "")
    row.update(name=column.name, formats=" ".join(formats), type=column.type, description=column.description)
    if column.rank is not None:
        row["recommendation_rank"] = column.rank
    if item is None:
        described = "True; False (SPSS: 1 = True, 0 = False)" if column.type == BOOLEAN else values.get(column.name, "")
        for code in language_codes():
            row[f"values_{code}"] = (
                "; ".join(f"{value} = {_translated(label, code)}" for value, label in column.labels.items())
                if column.labels else described
            )
            row[f"text_{code}"] = _translated(column.text, code)
        return row
    row.update(
        description=f"Answer to item {item.code}" + (f" about recommendation {column.rank}" if column.rank else ""),
        section=item.section, construct=item.construct, item=item.code, scale_min=min(item.scale),
        scale_max=max(item.scale), reverse_coded=item.reverse_coded, check=item.check_kind,
        correct_value=values["manipulation_key"] if item.check_kind == Item.Check.MANIPULATION
        else "drawn per participant from the scale's inner points: attention_instructed"
        if item.check_kind == Item.Check.ATTENTION and item.correct_value is None
        else "" if item.correct_value is None else item.correct_value, source=item.source,
        published_text=item.published_text, adapted=item.adapted, **_bank_notes(item, study_codes),
        translations="; ".join(
            f"{code}: {'as published' if code == 'en' and not item.adapted else GERMAN_SOURCE if code == 'de' else 'adapted wording'}"
            for code in language_codes()
        ),
    )
    for code in language_codes():
        row[f"text_{code}"] = _translated(item.text, code)
        row[f"values_{code}"] = _item_values(item, code)
    return row


def codebook_rows(study: Study, options: Options | None = None) -> list[dict]:
    """One row per column name, naming every format it appears in (wide order first, then long, then events)."""
    options = options or Options()
    formats = {
        "wide": wide_columns(study, options),
        "long": long_table(study, options).columns,
        "csv": legacy_table(study).columns,
        "events": list(EVENT_COLUMNS),
        "trials": list(TRIAL_COLUMNS),
    }
    formats["xlsx"] = [*formats["wide"], *formats["long"], *formats["events"], *formats["trials"]]
    formats["spss"] = formats["wide"]
    formats["spss_trials"] = formats["trials"]
    first: dict[str, Column] = {}
    appears: dict[str, list[str]] = {}
    for format, columns in formats.items():
        for column in columns:
            first.setdefault(column.name, column)
            appears.setdefault(column.name, [])
            if format not in appears[column.name]:
                appears[column.name].append(format)
    values = _column_values(study)
    study_codes = set(study.items.values_list("code", flat=True))
    return [_row(column, appears[name], values, study_codes) for name, column in first.items()]


def codebook_table(study: Study, options: Options | None = None) -> Table:
    return Table("codebook", [Column(name, STRING, "") for name in codebook_columns()], codebook_rows(study, options))

