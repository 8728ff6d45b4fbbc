from django.core.management.base import BaseCommand, CommandError

from recommender import services
from recommender.models import Catalog, Track


class Command(BaseCommand):
    help = ("Download and analyse the missing clips of a catalog's tracks that have a preview URL (Celery jobs). "
            "Expected duration: each download as fast as its server answers (at most CLIP_FETCH_TIMEOUT, retried 2, 4 "
            "and 8 s later), then about 0.2 s of a worker's core per 30-s clip for its analysis.")

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, slug, **options):
        catalog = Catalog.objects.filter(slug=slug).first()
        if catalog is None:
            raise CommandError(f"No catalog with slug {slug!r}.")
        sent = services.catalog_fetch_clips(catalog=catalog)
        tracks = catalog.tracks.all()
        self.stdout.write(
            f"Catalog {slug!r}: {sent} clips sent for download; now {tracks.filter(status=Track.Status.ANALYSED).count()} "
            f"analysed, {tracks.filter(status=Track.Status.FAILED).count()} failed."
        )
