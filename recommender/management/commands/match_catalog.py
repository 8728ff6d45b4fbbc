from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommender.csv_formats import count_data_lines
from recommender.importers import catalog_match_file
from recommender.models import Catalog


class Command(BaseCommand):
    help = (
        "Match another service's track metadata (item_id, track_name, artists[, preview_url]) to a catalog "
        "and write a review CSV of matches, near misses and non-matches."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--against", required=True, help="Slug of the catalog to match against.")
        parser.add_argument("--out", type=Path, help="Review CSV to write (default: FILE-review.csv beside FILE).")
        parser.add_argument("--min-score", type=float, default=90.0, help="Score (0-100) at which a row matches (default: %(default)s).")
        parser.add_argument("--review-score", type=float, default=75.0, help="Score from which a row is a near miss (default: %(default)s).")
        parser.add_argument("--apply", action="store_true", help="Copy matched rows' preview URLs onto the tracks.")

    def handle(self, file, against, out, min_score, review_score, apply, **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        if not 0 <= review_score <= min_score <= 100:
            raise CommandError("Scores must satisfy 0 <= --review-score <= --min-score <= 100.")
        catalog = Catalog.objects.filter(slug=against).first()
        if catalog is None:
            raise CommandError(f"No catalog with slug {against!r}.")
        out = out or file.with_name(f"{file.stem}-review.csv")
        bar = tqdm(total=count_data_lines(file), desc="Matching", unit="row", disable=options["verbosity"] < 1)
        with open(out, "w", newline="", encoding="utf-8") as review, bar:
            try:
                summary = catalog_match_file(
                    catalog=catalog, path=file, review=review, min_score=min_score, review_score=review_score,
                    apply_previews=apply, progress=bar.update,
                )
            except (ValueError, UnicodeDecodeError) as error:
                raise CommandError(f"Cannot match {file.name}: {error}") from None
        self.stdout.write(f"Matched against {against!r}: {summary}. Review: {out}")
