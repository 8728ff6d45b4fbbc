from django.core.management.base import BaseCommand, CommandError

from recommender import networks
from recommender.models import AudioModel, Catalog


class Command(BaseCommand):
    help = (
        "Embed a catalog's analysed tracks with a network (the musicnn tagger: 50 tag probabilities and a 200-d "
        "embedding per track; or the catalog's trained CNN) in jobs, then build that network's index. Only "
        "missing embeddings are computed."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The catalog's slug.")
        parser.add_argument("--model", choices=[AudioModel.Kind.TAGGER, AudioModel.Kind.CNN], default=AudioModel.Kind.TAGGER)

    def handle(self, slug, model, **options):
        catalog = Catalog.objects.filter(slug=slug).first()
        if catalog is None:
            raise CommandError(f"No catalog with slug {slug!r}.")
        if networks.catalog_latest_model(catalog, model) is None:
            raise CommandError(f"Catalog {slug!r} has no trained CNN yet: python manage.py train_cnn {slug}")
        sent = networks.catalog_embed(catalog=catalog, kind=model)
        self.stdout.write(f"{sent} tracks of {slug!r} sent for {model} embedding; its index is built when they are done.")
