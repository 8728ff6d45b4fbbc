import getpass

from django.core.management.base import BaseCommand, CommandError

from research.export import Options
from research.export_files import FORMATS, ReasonRequired, meta_json, sidecar_path, study_export
from study.models import Study


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Command(BaseCommand):
    help = (
        "Export a study's data: csv (legacy: one row per answer with raw participant and Prolific ids), long (one "
        "row per answer, pseudonymous), wide (one row per participant), events, trials (one row per understanding-"
        "test trial), codebook, xlsx (all sheets), spss (.sav, wide) or spss_trials (.sav, trials). A file gets a sidecar FILE.meta.json (XLSX: a meta sheet) with the study "
        "configuration's hash, the software version, the index versions, when and by whom."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The study's slug.")
        parser.add_argument("--format", choices=list(FORMATS), default="csv", help="(default: %(default)s)")
        parser.add_argument("--out", default="-", help="File to write; '-' for standard output (CSV formats only; default: %(default)s).")
        parser.add_argument("--include-pilot", action="store_true", help="Include pilot (bot) participants.")
        parser.add_argument(
            "--include-prolific-pid", action="store_true",
            help="Add the raw PROLIFIC_PID column to long, wide, events, xlsx and spss (logged).",
        )
        parser.add_argument("--by", default="", help="Who exports, for the metadata (default: the OS user).")
        parser.add_argument(
            "--reason", default="",
            help="Why raw Prolific ids must leave (csv, or --include-prolific-pid): required there, kept in the audit log.",
        )

    def handle(self, slug, format, out, include_pilot, include_prolific_pid, by, reason, **options):
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            raise CommandError(f"No study with slug {slug!r}.")
        if out == "-" and format in ("xlsx", "spss", "spss_trials"):
            raise CommandError(f"--format {format} writes a binary file: name it with --out.")
        try:
            export = study_export(
                study=study, format=format, exported_by=by or _os_user(), reason=reason,
                options=Options(include_pilot=include_pilot, include_prolific_pid=include_prolific_pid),
            )
        except ReasonRequired as error:
            raise CommandError(f"{error} Pass --reason, or choose a pseudonymous --format (long, wide, ...).") from error
        if out == "-":
            self.stdout.write(export.content.decode("utf-8"), ending="")
        else:
            with open(out, "wb") as handle:
                handle.write(export.content)
            if format != "xlsx":
                sidecar_path(out).write_text(meta_json(export.meta), encoding="utf-8")
        # On stderr: with --out - the export itself is stdout. A summary, not an error: no error colour.
        self.stderr.write(f"Exported {export.rows} rows ({format}) from study {slug!r} to {out}.", style_func=str)
