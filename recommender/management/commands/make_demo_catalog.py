from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommender import demo, services
from recommender.models import Track


class Command(BaseCommand):
    help = ("Synthesise the demo catalog (six styles, no download), analyse it and build its index. Expected duration: "
            "about half a minute for the default 48 clips of 30 s.")

    def add_arguments(self, parser):
        parser.add_argument("--slug", default="demo", help="The catalog's slug (default: %(default)s).")
        parser.add_argument("--per-style", type=int, default=8, help="Clips per style, 6 styles (default: %(default)s).")
        parser.add_argument("--seconds", type=float, default=30.0, help="Length of each clip in seconds (default: %(default)s).")
        parser.add_argument("--seed", type=int, default=2026, help="(default: %(default)s)")
        parser.add_argument("--no-analysis", action="store_true", help="Only write the clips and tracks.")

    def handle(self, slug, per_style, seconds, seed, no_analysis, **options):
        if per_style < 1 or not 1 <= seconds <= 30:
            raise CommandError("--per-style must be at least 1 and --seconds between 1 and 30.")
        total = per_style * len(demo.STYLES)
        with tqdm(total=total, desc="Synthesising clips", unit="clip", disable=options["verbosity"] < 1) as bar:
            catalog, created = services.catalog_create_demo(
                slug=slug, per_style=per_style, seconds=seconds, seed=seed, progress=lambda: bar.update()
            )
        sent = 0 if no_analysis else services.catalog_analyse(catalog=catalog)
        tracks = catalog.tracks.all()
        self.stdout.write(
            f"Demo catalog {slug!r}: {created} clips created, {total - created} kept; "
            f"{sent} sent for analysis; {tracks.filter(status=Track.Status.ANALYSED).count()} analysed, "
            f"{tracks.filter(status=Track.Status.FAILED).count()} failed; "
            f"index: {getattr(services.catalog_latest_index(catalog), 'version', 'pending')}."
        )
