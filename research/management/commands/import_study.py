import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recommender.models import Catalog
from research.services import study_from_config
from study.services import FlowError


class Command(BaseCommand):
    help = "Create a study (as a draft) from a configuration written by export_study or the admin."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--slug", default=None, help="Another slug for it (default: its own).")
        parser.add_argument("--catalog", default=None, help="Another catalog for it (default: the one it names).")

    def handle(self, file, slug, catalog, **options):
        try:
            text = file.read_text(encoding="utf-8")
            config = json.loads(text)
        except (OSError, ValueError) as error:
            raise CommandError(f"{file}: not a readable JSON file ({error}).") from error
        catalog_row = None
        if catalog:
            catalog_row = Catalog.objects.filter(slug=catalog).first()
            if catalog_row is None:
                raise CommandError(f"No catalog {catalog!r}.")
        try:
            study = study_from_config(config, slug=slug, catalog=catalog_row, text=text)
        except FlowError as error:
            raise CommandError(f"{file}: {error}") from error
        self.stdout.write(
            f"Created study {study.slug!r} (a draft) with {study.conditions.count()} conditions and "
            f"{study.items.count()} items on catalog {study.catalog.slug!r}."
        )
