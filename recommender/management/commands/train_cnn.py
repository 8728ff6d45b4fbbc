from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommender import networks
from recommender.cnn.contrastive import TrainingConfig
from recommender.models import Catalog


class Command(BaseCommand):
    help = (
        "Train the CNN on a catalog's own analysed clips (contrastive, no labels; optionally distilled towards the "
        "musicnn tagger), store it by the hash of its weights with its loss curve, then embed every track with it "
        "and build its index (in jobs). Deterministic from --seed."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The catalog's slug.")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--steps", type=int, default=TrainingConfig.steps, help="Optimiser steps.")
        parser.add_argument("--batch-size", type=int, default=TrainingConfig.batch_size, help="Tracks per step.")
        parser.add_argument(
            "--distill", type=float, default=TrainingConfig.distill_weight,
            help="Weight of the distillation towards the tagger (0: none; computes missing tagger embeddings).",
        )
        parser.add_argument("--background", action="store_true", help="Send the training to a Celery worker instead.")

    def handle(self, slug, seed, steps, batch_size, distill, background, **options):
        catalog = Catalog.objects.filter(slug=slug).first()
        if catalog is None:
            raise CommandError(f"No catalog with slug {slug!r}.")
        if steps < 1 or batch_size < 2 or distill < 0:
            raise CommandError("--steps must be at least 1, --batch-size at least 2, --distill not negative.")
        if background:
            networks.catalog_train_cnn(catalog=catalog, seed=seed, steps=steps)
            self.stdout.write(f"Training of a CNN on {slug!r} sent to the workers.")
            return
        config = TrainingConfig(seed=seed, steps=steps, batch_size=batch_size, distill_weight=distill)
        with tqdm(total=steps, desc="training", unit="step", disable=options["verbosity"] == 0) as bar:
            def progress(step, total, loss):
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}")

            try:
                model = networks.cnn_train(catalog=catalog, config=config, progress=progress)
            except ValueError as error:
                raise CommandError(str(error)) from error
        sent = networks.catalog_embed(catalog=catalog, kind="cnn")
        training = model.training
        self.stdout.write(
            f"CNN {model.sha256[:12]} trained on {training['tracks']} clips of {slug!r}: {training['steps']} steps in "
            f"{training['seconds']:.0f} s, mean loss of the last epoch {training['losses'][-1]:.3f}; loss curve "
            f"{model.loss_curve.name}; "
            f"{sent} tracks sent for embedding."
        )
