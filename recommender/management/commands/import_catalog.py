import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify
from tqdm import tqdm

from recommender import csv_formats
from recommender.catalog_import import READERS, ImportRefused, catalog_import_file, catalog_parse_file

SHOWN_PROBLEMS = 20
PREVIEW_ROWS = 5


class Command(BaseCommand):
    help = (
        "Import a catalog CSV: the Spotify tracks dataset (--format spotify) or id,title,artist[,genre][,audio]"
        "[,preview_url][,license][,attribution] with clips in --audio-dir (--format generic); other column names "
        "are mapped with --columns, and a column the format does not read is refused unless --ignore-columns. "
        "Bad rows are reported with their line and skipped. --dry-run shows the first rows and writes nothing. "
        "Expected duration: the rows take seconds (114,000 Spotify rows within a minute, bench/import.py); each clip's "
        "analysis then takes about 0.2 s of a worker's core per 30-s clip (Celery jobs; prepare_catalog does it all "
        "with a bar)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=sorted(READERS), required=True)
        parser.add_argument("--catalog", help="Slug of the catalog to import into (default: from the file name).")
        parser.add_argument("--name", help="Display name of a new catalog.")
        parser.add_argument("--audio-dir", type=Path, help="Folder holding the files named in the audio column.")
        parser.add_argument("--problems", type=Path, help="Write every skipped row (line, reason) to this CSV.")
        parser.add_argument("--no-analysis", action="store_true", help="Do not start analysis and index jobs.")
        parser.add_argument(
            "--columns", default="", metavar="THEIRS=OURS[,...]",
            help="Your file's column names for the format's, e.g. track_id=id,artist_or_source=artist,style=genre,"
                 "path=audio (generic reads id, title, artist, genre, audio, preview_url, license, attribution).",
        )
        parser.add_argument("--ignore-columns", action="store_true",
                            help="Leave out columns the format does not read (listed in the summary) instead of refusing.")
        parser.add_argument("--dry-run", action="store_true",
                            help="Read the file and show the first rows as they would be stored; write nothing.")

    def handle(self, file, format, catalog, name, audio_dir, problems, no_analysis, columns, ignore_columns, dry_run,
               **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        if audio_dir is not None and not audio_dir.is_dir():
            raise CommandError(f"No such folder: {audio_dir}")
        try:
            mapping = csv_formats.parse_columns(columns)
        except ValueError as error:
            raise CommandError(f"--columns {error}") from None
        if dry_run:
            return self.preview(file, format, mapping, ignore_columns, audio_dir)
        slug = catalog or slugify(file.stem)
        quiet = options["verbosity"] < 1
        reading = tqdm(total=csv_formats.count_data_lines(file), desc="Reading", unit="row", disable=quiet)
        writing = tqdm(desc="Writing", unit="track", disable=quiet)
        try:
            result = catalog_import_file(
                csv_path=file, format=format, slug=slug, name=name or file.stem, audio_dir=audio_dir,
                analyse=not no_analysis, read_progress=reading.update, write_progress=writing.update,
                columns=mapping, ignore_columns=ignore_columns,
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

    def preview(self, file, format, mapping, ignore_columns, audio_dir):
        """The first rows as they would be stored, and what would be refused; nothing is written."""
        try:
            parsed = catalog_parse_file(csv_path=file, format=format, columns=mapping, ignore_columns=ignore_columns)
        except ImportRefused as error:
            raise CommandError(f"Cannot import {file.name}: {error}") from None
        if audio_dir is not None and "audio" not in parsed.columns:
            raise CommandError("--audio-dir is given, but the file has no audio column (map yours: --columns path=audio).")
        self.stdout.write(f"Dry run of {file.name}: {parsed.rows} rows, {len(parsed.records)} tracks, "
                          f"{len(parsed.problems)} rows with problems; nothing written.")
        self.stdout.write("Columns read: " + ", ".join(c for c in parsed.columns if c not in ("", "Unnamed: 0")
                                                       and c not in parsed.ignored)
                          + (f"; left out: {', '.join(parsed.ignored)}" if parsed.ignored else ""))
        for record in parsed.records[:PREVIEW_ROWS]:
            audio = ""
            if record.audio:
                found = audio_dir is not None and (audio_dir / record.audio).is_file()
                audio = f" audio={record.audio}" + ("" if audio_dir is None else " (found)" if found else " (NOT FOUND)")
            self.stdout.write(
                f"  {record.external_id}: {record.title!r} by {record.artist!r}"
                + (f", genre {record.genres[0]!r}" if record.genres else "") + audio
                + (f", licence {record.license!r}" if record.license else "")
                + (f", credit {record.attribution!r}" if record.attribution else "")
            )
        for problem in parsed.problems[:SHOWN_PROBLEMS]:
            self.stderr.write(f"  would skip {problem}")
