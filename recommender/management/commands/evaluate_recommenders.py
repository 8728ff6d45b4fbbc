from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recommender import evaluation, services
from recommender.models import Catalog


class Command(BaseCommand):
    help = (
        "Offline quality of a catalog's recommenders and of the unscaled-cosine baseline: genre precision@k, "
        "catalog coverage, and the mean and spread of similarity scores, as a table and a PNG plot."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--queries", type=int, default=2000, help="Tracks sampled as queries.")
        parser.add_argument("--plot", type=Path, help="PNG to write (default: evaluation-SLUG.png).")

    def handle(self, slug, k, queries, plot, **options):
        catalog = Catalog.objects.filter(slug=slug).first()
        if catalog is None:
            raise CommandError(f"No catalog with slug {slug!r}.")
        if k < 1 or queries < 1:
            raise CommandError("--k and --queries must be at least 1.")
        results, chance = services.catalog_evaluate(catalog=catalog, k=k, n_queries=queries)
        if not results:
            raise CommandError(f"Catalog {slug!r} has no features to evaluate yet (import or analyse it first).")
        plot = plot or Path(f"evaluation-{slug}.png")
        plot.write_bytes(
            evaluation.quality_plot(results, k=k, chance=chance, title=f"Recommenders on {catalog.name} ({slug})")
        )
        self.stdout.write(evaluation.format_table(results, k=k, chance=chance))
        self.stdout.write(f"\nPlot: {plot}")
