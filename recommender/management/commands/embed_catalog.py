from django.core.management.base import BaseCommand, CommandError

from recommender import networks
from recommender.cnn.tagger import VOCABULARIES
from recommender.models import AudioModel, Catalog, SimilarityIndex


class Command(BaseCommand):
    help = (
        "Embed a catalog's analysed tracks with a network (a musicnn tagger: tag probabilities and a 200-d embedding "
        "per track; or the catalog's trained CNN) in jobs, then build that network's index. Only missing embeddings "
        "are computed. A study's tagger conditions read the index of the study's tag vocabulary: MagnaTagATune "
        "(mtt, the default), the Million Song Dataset (msd), or both side by side (both: the two taggers' embeddings "
        "joined, each computed once). Expected duration on a 2-core machine: about 0.35 s a 30-s clip per tagger "
        "vocabulary, 0.05 s with the CNN (80 clips: 28 s per vocabulary; measured by bench/launch.py)."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The catalog's slug.")
        parser.add_argument("--model", choices=[AudioModel.Kind.TAGGER, AudioModel.Kind.CNN], default=AudioModel.Kind.TAGGER,
                            help="A musicnn tagger, or the catalog's trained CNN (default: %(default)s).")
        parser.add_argument(
            "--vocabulary", choices=VOCABULARIES, default="mtt",
            help="The tagger's vocabulary (with --model tagger; default: mtt).",
        )

    def handle(self, slug, model, vocabulary, **options):
        catalog = Catalog.objects.filter(slug=slug).first()
        if catalog is None:
            raise CommandError(f"No catalog with slug {slug!r}.")
        feature_set = SimilarityIndex.TAGGERS[vocabulary] if model == AudioModel.Kind.TAGGER else SimilarityIndex.FeatureSet.CNN
        if networks.feature_set_model(catalog, feature_set) is None:
            raise CommandError(f"Catalog {slug!r} has no trained CNN yet: python manage.py train_cnn {slug}")
        sent = networks.catalog_embed(catalog=catalog, feature_set=feature_set)
        self.stdout.write(
            f"{sent} tracks of {slug!r} sent for {feature_set} embedding; its index is built when they are done."
        )
