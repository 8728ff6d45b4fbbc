from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from research.analysis_report import study_analyse, write_report
from study.models import Study


class Command(BaseCommand):
    help = (
        "The by-condition analysis of a study: scale scores (reverse-coded items reversed), descriptives, Cronbach's "
        "alpha, Mann-Whitney U and Welch's t (or Kruskal-Wallis with Holm-corrected pairs), a mixed model for the "
        "ratings, box plots, and who was excluded and why. Writes DIR/index.html, CSV tables and PNG figures. "
        "Expected duration: about 15 s for a small study (10 participants, 4 conditions, R's mixed models included), "
        "growing with the participants."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--out", type=Path, required=True, help="Folder to write the report to.")
        parser.add_argument("--include-pilot", action="store_true", help="Analyse pilot (bot) participants too.")

    def handle(self, slug, out, include_pilot, **options):
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            raise CommandError(f"No study with slug {slug!r}.")
        report = study_analyse(study=study, include_pilot=include_pilot)
        written = write_report(report, out)
        result = report.analysis
        self.stdout.write(
            f"Analysed {len(result.included)} participants of {slug!r} in {len(result.conditions)} conditions "
            f"({len(result.excluded)} excluded); {len(result.scales)} scales. Wrote {len(written)} files to {out}/ "
            f"(open {out / 'index.html'})."
        )
