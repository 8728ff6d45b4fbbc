import sys

from django.core.management.base import BaseCommand, CommandError

from study.export import write_long_csv
from study.models import Study


class Command(BaseCommand):
    help = "Export a study's answers, one row per answer (long format)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The study's slug.")
        parser.add_argument("--format", choices=["csv"], default="csv")
        parser.add_argument("--out", default="-", help="File to write; '-' for standard output.")

    def handle(self, slug, format, out, **options):
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            raise CommandError(f"No study with slug {slug!r}.")
        if out == "-":
            n = write_long_csv(study, self.stdout)
        else:
            with open(out, "w", newline="", encoding="utf-8") as handle:
                n = write_long_csv(study, handle)
        print(f"Exported {n} answers from study {slug!r} to {out}.", file=sys.stderr)
