import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify
from tqdm import tqdm

from recommender import csv_formats
from recommender.catalog_import import READERS, ImportRefused, catalog_import_file

SHOWN_PROBLEMS = 20


class Command(BaseCommand):
    help = (
        "Import a catalog CSV: the Spotify tracks dataset (--format spotify) or id,title,artist[,genre][,audio] "
        "with clips in --audio-dir (--format generic). Bad rows are reported with their line and skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=sorted(READERS), required=True)
        parser.add_argument("--catalog", help="Slug of the catalog to import into (default: from the file name).")
        parser.add_argument("--name", help="Display name of a new catalog.")
        parser.add_argument("--audio-dir", type=Path, help="Folder holding the files named in the audio column.")
        parser.add_argument("--problems", type=Path, help="Write every skipped row (line, reason) to this CSV.")
        parser.add_argument("--no-analysis", action="store_true", help="Do not start analysis and index jobs.")

    def handle(self, file, format, catalog, name, audio_dir, problems, no_analysis, **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        if audio_dir is not None and not audio_dir.is_dir():
            raise CommandError(f"No such folder: {audio_dir}")
        slug = catalog or slugify(file.stem)
        quiet = options["verbosity"] < 1
        reading = tqdm(total=csv_formats.count_data_lines(file), desc="Reading", unit="row", disable=quiet)
        writing = tqdm(desc="Writing", unit="track", disable=quiet)
        try:
            result = catalog_import_file(
                csv_path=file, format=format, slug=slug, name=name or file.stem, audio_dir=audio_dir,
                analyse=not no_analysis, read_progress=reading.update, write_progress=writing.update,
            )
        except ImportRefused as error:
            raise CommandError(f"Cannot import {file.name}: {error}") from None
        finally:
            reading.close()
            writing.close()
        summary = result.summary

        for problem in summary.problems[:SHOWN_PROBLEMS]:
            self.stderr.write(f"  skipped {problem}")
        if len(summary.problems) > SHOWN_PROBLEMS:
            more = len(summary.problems) - SHOWN_PROBLEMS
            self.stderr.write(f"  … and {more} more" + ("" if problems else " (use --problems FILE to list them all)"))
        if problems:
            with open(problems, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["line", "reason"])
                writer.writerows((p.line or "", p.reason) for p in summary.problems)

        jobs = f"; {result.sent} clips sent for analysis" if result.sent is not None else ""
        self.stdout.write(f"Catalog {slug!r}: {summary}{jobs}.")
        if summary.problems and summary.created + summary.updated + summary.unchanged == 0:
            raise CommandError(f"Nothing imported from {file.name}: every row had a problem (see above).")
