import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from research.services import study_to_config
from study.models import Study


class Command(BaseCommand):
    help = "Write a study's whole configuration (settings, conditions, items, texts; no participants) as JSON."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--out", type=Path, required=True)

    def handle(self, slug, out, **options):
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            raise CommandError(f"No study with slug {slug!r}.")
        out.write_text(json.dumps(study_to_config(study), indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
        self.stdout.write(f"Wrote the configuration of {slug!r} to {out}.")
