"""Importing a catalog file, written once for the admin's upload and the `import_catalog` command.

All or nothing: a file that cannot be read creates no catalog; a failure part-way (a broken zip, a clip
past the size caps, a full disk) leaves no half-imported tracks, and a catalog made for this import is
removed with any clip files already written for it. Bad rows are not failures: they are skipped and
reported with their line.
"""
from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.core.files.storage import default_storage
from django.db import transaction

from recommender import csv_formats, services
from recommender.importers import ImportSummary, catalog_import_records, extract_clips
from recommender.models import Catalog, SimilarityIndex

READERS = {"spotify": csv_formats.read_spotify, "generic": csv_formats.read_generic}


class ImportRefused(ValueError):
    """The file as a whole cannot be imported; nothing was kept. The message says why."""


@dataclass
class CatalogImport:
    catalog: Catalog
    created: bool  # the catalog was made by this import
    summary: ImportSummary
    sent: int | None  # clips sent for analysis; None when analysis was not asked for


def catalog_discard(*, catalog: Catalog) -> None:
    """Remove a catalog with any clip files written for it (an import that failed after creating it)."""
    prefix = f"catalog/{catalog.slug}"
    try:
        _folders, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        files = []
    for name in files:
        default_storage.delete(f"{prefix}/{name}")
    catalog.delete()


def catalog_parse_file(*, csv_path: Path, format: str, columns: dict[str, str] | None = None,
                       ignore_columns: bool = False, progress: Callable[[], None] | None = None):
    """Read a catalog file as an import would (nothing written): its records, problems and columns."""
    if format not in READERS:
        raise ImportRefused(f"unknown format {format!r}; one of {', '.join(sorted(READERS))}")
    try:
        return READERS[format](csv_path, progress=progress, columns=columns, ignore_columns=ignore_columns)
    except (ValueError, UnicodeDecodeError) as error:
        raise ImportRefused(str(error)) from None


def catalog_import_file(
    *, csv_path: Path, format: str, catalog: Catalog | None = None, slug: str = "", name: str = "",
    audio_dir: Path | None = None, clips_zip: Path | IO[bytes] | None = None, analyse: bool = True,
    read_progress: Callable[[], None] | None = None, write_progress: Callable[[int], None] | None = None,
    columns: dict[str, str] | None = None, ignore_columns: bool = False,
) -> CatalogImport:
    """Import ``csv_path`` (``format``: spotify or generic) into ``catalog``, or into the catalog ``slug``
    (made with ``name`` if there is none), with clips from ``audio_dir`` or from the zip ``clips_zip``;
    then send the clips for analysis and, for Spotify's features, build the catalog's index.

    ``columns`` maps the file's column names to the format's; a column the format does not read is refused
    unless ``ignore_columns`` (then listed in the summary).

    Raises ImportRefused when nothing could be imported (unreadable file, missing or unknown columns, clips
    given for a file that names none, a refused zip, a catalog a running study uses: study/frozen.py).
    """
    parsed = catalog_parse_file(csv_path=csv_path, format=format, columns=columns, ignore_columns=ignore_columns,
                                progress=read_progress)
    if (audio_dir is not None or clips_zip is not None) and "audio" not in parsed.columns:
        raise ImportRefused(
            "clips were given, but the file has no audio column naming each track's file: map yours to it "
            "(--columns path=audio, or the column mapping of the upload form)"
        )
    created = False
    if catalog is None:  # made only once the file reads
        catalog, created = Catalog.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    if not created:
        try:  # new or changed tracks would change what a running study's participants choose from
            services.catalog_require_unlocked(catalog)
        except services.CatalogLocked as error:
            raise ImportRefused(str(error)) from None
    try:
        with transaction.atomic(), tempfile.TemporaryDirectory() as folder:
            if clips_zip is not None:
                audio_dir = Path(folder)
                extract_clips(clips_zip, audio_dir)
            summary = catalog_import_records(catalog=catalog, parsed=parsed, audio_dir=audio_dir,
                                             progress=write_progress)
    except (ValueError, zipfile.BadZipFile, OSError) as error:
        if created:
            catalog_discard(catalog=catalog)
        raise ImportRefused(str(error)) from error
    sent = None
    if analyse:
        sent = services.catalog_analyse(catalog=catalog)
        if format == "spotify":
            services.catalog_build_index(catalog=catalog, feature_set=SimilarityIndex.FeatureSet.CATALOG)
    return CatalogImport(catalog=catalog, created=created, summary=summary, sent=sent)
