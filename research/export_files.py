"""Export files: the tables of research.export as CSV, XLSX or SPSS, each with its reproducibility header.

``study_export`` is the one entry point for the command, the admin and the API: it
builds the file in memory and returns it with its metadata (the study configuration's
hash, the software version, the index versions used, when and by whom it was made).
CSV files stay plain for R and pandas; their metadata goes in a sidecar ``FILE.meta.json``.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.utils import timezone

from recommender.models import SimilarityIndex
from research.export import (
    BOOLEAN,
    DATETIME,
    INTEGER,
    NUMBER,
    Options,
    Table,
    events_table,
    legacy_table,
    long_table,
)
from research.export_trials import trials_table
from research.export_wide import wide_table
from study.models import AuditEntry, Item, Recommendation, Study
from study.questionnaires import PREFER_NOT_TO_SAY

logger = logging.getLogger(__name__)

#: Every format, the file suffix it is written with, and its media type.
FORMATS = {
    "csv": ("csv", "text/csv; charset=utf-8"),
    "long": ("csv", "text/csv; charset=utf-8"),
    "wide": ("csv", "text/csv; charset=utf-8"),
    "events": ("csv", "text/csv; charset=utf-8"),
    "trials": ("csv", "text/csv; charset=utf-8"),
    "codebook": ("csv", "text/csv; charset=utf-8"),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "spss": ("sav", "application/x-spss-sav"),
    "spss_trials": ("sav", "application/x-spss-sav"),
}


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    meta: dict
    filename: str
    content_type: str

    @property
    def rows(self) -> int:
        return self.meta["rows"]

    def download(self) -> HttpResponse:
        """The file as a download, with what made it (configuration hash, commit, index versions, who, when)
        in the X-Export-Meta header: the admin's buttons and the API answer with this."""
        response = HttpResponse(self.content, content_type=self.content_type)
        response["Content-Disposition"] = f'attachment; filename="{self.filename}"'
        response["X-Export-Meta"] = json.dumps(self.meta, separators=(",", ":"))
        return response

    def download_with_meta(self) -> HttpResponse:
        """For a browser, which keeps no header: the file and ``FILE.meta.json`` in one zip, named after the file
        (an XLSX carries its metadata in its own meta sheet and is sent as it is)."""
        if self.filename.endswith(".xlsx"):
            return self.download()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
            bundle.writestr(self.filename, self.content)
            bundle.writestr(f"{self.filename}.meta.json", meta_json(self.meta))
        response = HttpResponse(buffer.getvalue(), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{self.filename}.zip"'
        response["X-Export-Meta"] = json.dumps(self.meta, separators=(",", ":"))
        return response


# Reproducibility -----------------------------------------------------------------------------

def configuration_sha256(study: Study) -> str:
    """The hash of everything that defines the study (research.services.configuration): the same study
    imported on another installation has the same hash; its state and its participants do not count."""
    from research.services.configuration import study_to_config

    text = json.dumps(study_to_config(study), sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode()).hexdigest()


@cache
def software_version() -> str:
    """The git commit this code was checked out at, or "unknown" (an installed copy without .git)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown"


def index_versions(study: Study, options: Options) -> list[dict]:
    """The similarity indexes the exported recommendations came from, and the catalog's latest."""
    recommendations = Recommendation.objects.filter(participant__study=study)
    if not options.include_pilot:
        recommendations = recommendations.filter(participant__is_pilot=False)
    used = set(recommendations.values_list("index_id", flat=True).distinct())
    latest = SimilarityIndex.objects.filter(
        catalog=study.catalog_id, feature_set__in=SimilarityIndex.FEATURES
    ).order_by("-version").first()
    indexes = SimilarityIndex.objects.filter(pk__in=used | ({latest.pk} if latest else set())).order_by("version")
    return [
        {"version": i.version, "feature_set": i.feature_set, "source_sha256": i.source_sha256,
         "model_sha256": i.model.sha256 if i.model else None, "used": i.pk in used,
         "latest": latest is not None and i.pk == latest.pk}
        for i in indexes.select_related("model")
    ]


def export_meta(study: Study, *, format: str, options: Options, exported_by: str, rows: int, columns: int) -> dict:
    legacy = format == "csv"
    return {
        "study": study.slug,
        "format": format,
        "rows": rows,
        "columns": columns,
        "exported_at": timezone.now().isoformat(),
        "exported_by": exported_by,
        "configuration_sha256": configuration_sha256(study),
        "software_version": software_version(),
        "index_versions": index_versions(study, options),
        "include_pilot": options.include_pilot,
        "include_prolific_pid": legacy or options.include_prolific_pid,
        "participant_ids": "database id (legacy csv format)" if legacy or not options.pseudonymous
        else "pseudonym: first 16 hex digits of HMAC-SHA256 of the participant id, keyed with SECRET_KEY",
    }


# Cells ---------------------------------------------------------------------------------------

def _datetime(value) -> datetime | None:
    """A naive UTC datetime (what XLSX and SPSS hold), from a datetime or its ISO text."""
    if value in ("", None):
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


#: A text cell that starts with one of these is a formula to Excel, LibreOffice and Google Sheets
#: (OWASP's CSV injection); such a cell gets a leading apostrophe, which shows the text as typed.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value):
    """``value`` safe to open in a spreadsheet: a text cell that would start a formula is kept as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _text(value) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else neutralised(value)


def write_csv(table: Table, out: TextIO) -> int:
    """Write a table as CSV; returns the number of rows."""
    writer = csv.DictWriter(out, fieldnames=table.names, extrasaction="ignore")
    writer.writeheader()
    n = 0
    for row in table.rows:
        writer.writerow({name: _text(value) for name, value in row.items()})
        n += 1
    return n


def write_long_csv(study: Study, out: TextIO, *, include_pilot: bool = False) -> int:
    """The legacy ``csv`` format (one row per answer, raw ids); returns the number of rows."""
    return write_csv(legacy_table(study, include_pilot=include_pilot), out)


def _xlsx(tables: list[Table], meta: dict) -> tuple[bytes, int]:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    counts = {}
    for table in tables:
        sheet = book.create_sheet(table.name)
        sheet.append(table.names)
        dates = {c.name for c in table.columns if c.type == DATETIME}
        n = 0
        for row in table.rows:
            sheet.append([_datetime(row[name]) if name in dates else neutralised(row[name]) for name in table.names])
            n += 1
        counts[table.name] = n
    sheet = book.create_sheet("meta")
    for key, value in {**meta, "rows": counts}.items():
        sheet.append([key, value if isinstance(value, str | int | float | bool) else json.dumps(value)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), sum(counts.values())


def spss_labels(table: Table) -> tuple[dict, dict, dict, dict]:
    """Variable labels, value labels, measurement levels and user-missing values ("I prefer not to say", so
    SPSS never averages it into an age) of the wide table's columns."""
    variable, values, measure, missing = {}, {}, {}, {}
    for column in table.columns:
        item = column.item
        label = column.description
        if item is not None:
            label = item.text if column.rank is None else f"{item.text} (recommendation {column.rank})"
            if item.kind == Item.Kind.CHOICE:
                values[column.name] = {float(v): str(text) for v, text in item.options}
                measure[column.name] = "nominal"
                no_answer = [float(v) for v, text in item.options if text == PREFER_NOT_TO_SAY]
                if no_answer:
                    missing[column.name] = no_answer
            else:
                values[column.name] = {float(item.scale_min): item.label_min, float(item.scale_max): item.label_max}
                measure[column.name] = "ordinal"
        elif column.type == BOOLEAN:
            values[column.name] = {0.0: "False", 1.0: "True"}
            measure[column.name] = "nominal"
        elif column.labels and column.type == INTEGER:
            values[column.name] = {float(value): str(text) for value, text in column.labels.items()}
            measure[column.name] = "ordinal"
        elif column.labels:  # a string variable's values are their own codes; SPSS labels them all the same
            values[column.name] = {str(value): str(text) for value, text in column.labels.items()}
            measure[column.name] = "nominal"
        elif column.type in (INTEGER, NUMBER):
            measure[column.name] = "scale"
        else:
            measure[column.name] = "nominal"
        variable[column.name] = label[:255]
    return variable, values, measure, missing


def _spss(table: Table, meta: dict) -> tuple[bytes, int]:
    import pandas as pd
    import pyreadstat

    rows = list(table.rows)
    data = {}
    for column in table.columns:
        cells = [row[column.name] for row in rows]
        if column.type == BOOLEAN:
            data[column.name] = pd.Series([math.nan if c == "" else float(bool(c)) for c in cells], dtype="float64")
        elif column.type in (INTEGER, NUMBER):
            data[column.name] = pd.Series([math.nan if c in ("", None) else float(c) for c in cells], dtype="float64")
        elif column.type == DATETIME:
            data[column.name] = pd.Series([_datetime(c) for c in cells], dtype="datetime64[us]")
        else:
            data[column.name] = pd.Series(["" if c is None else str(c) for c in cells], dtype="object")
    frame = pd.DataFrame(data, columns=table.names)
    variable, values, measure, missing = spss_labels(table)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.sav"
        pyreadstat.write_sav(
            frame, str(path), column_labels=variable, variable_value_labels=values, variable_measure=measure,
            missing_ranges=missing,
            file_label=f"Resonance {meta['study']} config {meta['configuration_sha256'][:12]}"[:64],
        )
        return path.read_bytes(), len(rows)


def _printable(text: str) -> str:
    """Free text for the log: whitespace runs as one space, control characters (a NUL that PostgreSQL's
    JSON refuses, terminal escapes) and unpaired surrogates dropped."""
    kept = "".join(char for char in text if char.isprintable() or char.isspace())
    return " ".join(kept.encode("utf-8", "ignore").decode("utf-8").split())


class ReasonRequired(ValueError):
    """Raw Prolific ids leave only with a stated reason, which the audit log keeps."""


def identifying(format: str, options: Options) -> bool:
    """Whether an export holds raw Prolific ids (the legacy csv always has)."""
    return options.include_prolific_pid or format == "csv"


def study_export(
    *, study: Study, format: str, options: Options | None = None, exported_by: str, reason: str = ""
) -> ExportFile:
    """Build one export file of ``study`` in ``format`` (see FORMATS), with its metadata; every export is
    written to the audit log (with raw Prolific ids: as an identifying export, with its ``reason``, which
    such an export cannot do without)."""
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; one of {', '.join(FORMATS)}")
    options = options or Options()
    with_ids = identifying(format, options)
    reason = _printable(reason)[:500]
    if with_ids:
        if not reason:
            raise ReasonRequired("An export with raw Prolific ids needs a reason (it is kept in the audit log).")
        logger.warning("%s exported study %r (%s) with raw Prolific ids: %s", exported_by, study.slug, format, reason)
    suffix, content_type = FORMATS[format]
    # A file with pilots is named so: it must never be mistaken for (or overwrite) the real participants' file.
    pilot = "-with-pilot" if options.include_pilot else ""
    export = _build(
        study, format, options, exported_by, filename=f"{study.slug}-{format}{pilot}.{suffix}", content_type=content_type
    )
    AuditEntry.objects.create(
        actor=exported_by[:200], study=study,
        action=AuditEntry.Action.EXPORT_IDENTIFYING if with_ids else AuditEntry.Action.EXPORT,
        detail={"format": format, "rows": export.meta["rows"], "include_pilot": options.include_pilot,
                "configuration_sha256": export.meta["configuration_sha256"], **({"reason": reason} if with_ids else {})},
    )
    return export


def _build(study: Study, format: str, options: Options, exported_by: str, *, filename: str, content_type: str) -> ExportFile:
    from research.codebook import codebook_table

    def meta(rows: int, columns: int) -> dict:
        return export_meta(study, format=format, options=options, exported_by=exported_by, rows=rows, columns=columns)

    if format == "xlsx":
        tables = [long_table(study, options), wide_table(study, options), events_table(study, options),
                  trials_table(study, options), codebook_table(study, options)]
        header = meta(0, sum(len(t.columns) for t in tables))
        content, rows = _xlsx(tables, header)
        return ExportFile(content, {**header, "rows": rows}, filename, content_type)
    if format in ("spss", "spss_trials"):
        table = wide_table(study, options) if format == "spss" else trials_table(study, options)
        header = meta(0, len(table.columns))
        content, rows = _spss(table, header)
        return ExportFile(content, {**header, "rows": rows}, filename, content_type)
    table = {
        "csv": lambda: legacy_table(study, include_pilot=options.include_pilot),
        "long": lambda: long_table(study, options),
        "wide": lambda: wide_table(study, options),
        "events": lambda: events_table(study, options),
        "trials": lambda: trials_table(study, options),
        "codebook": lambda: codebook_table(study, options),
    }[format]()
    text = io.StringIO(newline="")
    rows = write_csv(table, text)
    return ExportFile(text.getvalue().encode("utf-8"), meta(rows, len(table.columns)), filename, content_type)


def meta_json(meta: dict) -> str:
    return json.dumps(meta, indent=2, ensure_ascii=False, cls=DjangoJSONEncoder) + "\n"


def sidecar_path(path: str | Path) -> Path:
    """Where the metadata of a file exported to ``path`` goes: ``path`` + ``.meta.json``."""
    return Path(f"{path}.meta.json")


def study_data_package(*, study: Study, options: Options | None = None, exported_by: str) -> bytes:
    """Every format of one study in a ZIP, each CSV and the .sav with its sidecar metadata."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for format in FORMATS:
            if format == "csv":
                continue  # the legacy raw format carries identifying ids; ask for it on its own
            export = study_export(study=study, format=format, options=options, exported_by=exported_by)
            package.writestr(export.filename, export.content)
            if format != "xlsx":
                package.writestr(f"{export.filename}.meta.json", meta_json(export.meta))
        _analysis_files(package, study, options or Options())
    return buffer.getvalue()


def _analysis_files(package: zipfile.ZipFile, study: Study, options: Options) -> None:
    """The preregistration (as frozen, and as it stands) and the analysis's R scripts with their inputs."""
    from research.analysis_report import study_analysis_files
    from research.preregistration import preregistration_html, preregistration_markdown
    from study.models import Preregistration

    plan = Preregistration.objects.filter(study=study).first()
    if plan is not None:
        package.writestr("preregistration.md", preregistration_markdown(study))
        package.writestr("preregistration.html", preregistration_html(study))
        if plan.frozen_document:
            package.writestr("preregistration-as-frozen.md", plan.frozen_document)
    for name, content in study_analysis_files(study, include_pilot=options.include_pilot).items():
        package.writestr(f"analysis/{name}", content)
