from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recommender import evaluation, quality
from recommender.models import Catalog


class Command(BaseCommand):
    help = (
        "Offline quality of every recommender a catalog has (standardised features, the musicnn tagger, the CNN "
        "trained on it) beside the unscaled-cosine and mean-MFCC baselines and chance: genre (or style) "
        "precision@k, catalog coverage, the mean and spread of similarity scores, and the CNN's same-track crop "
        "retrieval, as a table and a PNG plot. Expected duration: a few seconds for thousands of tracks (80: 1.4 s)."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--k", type=int, default=10, help="Nearest tracks per query (default: %(default)s).")
        parser.add_argument("--queries", type=int, default=2000, help="Tracks sampled as queries (default: %(default)s).")
        parser.add_argument("--plot", type=Path, help="PNG to write (default: evaluation-SLUG.png).")

    def handle(self, slug, k, queries, plot, **options):
        catalog = Catalog.objects.filter(slug=slug).first()
        if catalog is None:
            raise CommandError(f"No catalog with slug {slug!r}.")
        if k < 1 or queries < 1:
            raise CommandError("--k and --queries must be at least 1.")
        measured = quality.catalog_evaluate(catalog=catalog, k=k, n_queries=queries)
        if not measured.results:
            raise CommandError(f"Catalog {slug!r} has no features to evaluate yet (import or analyse it first).")
        plot = plot or Path(f"evaluation-{slug}.png")
        plot.write_bytes(
            evaluation.quality_plot(
                measured.results, k=k, chance=measured.chance, title=f"Recommenders on {catalog.name} ({slug})"
            )
        )
        self.stdout.write(evaluation.format_table(measured.results, k=k, chance=measured.chance))
        if measured.crop_retrieval_top1 is not None:
            self.stdout.write(
                f"\nCNN same-track crop retrieval (first half finds second half), top-1: "
                f"{measured.crop_retrieval_top1:.3f} (chance {measured.crop_retrieval_chance:.3f})"
            )
        self.stdout.write(f"\nPlot: {plot}")
