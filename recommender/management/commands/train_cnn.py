from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommender import networks
from recommender.cnn.contrastive import TrainingConfig
from recommender.models import Catalog


class Command(BaseCommand):
    help = (
        "Train the CNN on a catalog's own analysed clips (contrastive, no labels; optionally distilled towards the "
        "musicnn tagger), store it by the hash of its weights with its loss curve, then embed every track with it "
        "and build its index (in jobs). Deterministic from --seed. Expected duration on a quiet 2-core machine: about "
        "0.65 s a step (80 real 30-s clips: 286 steps in 182 s, bench/launch.py), up to 3.5 s on a busy one; the "
        "default three networks of 600 steps 20 to 105 min (--members 1: a third, less steady); --minutes caps it. Ends with a check: same-track crop retrieval "
        "and the spread of the scores, with a warning when they bunch (train longer)."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The catalog's slug.")
        parser.add_argument("--seed", type=int, default=0, help="The same seed, clips and settings give the same weights "
                                                                  "(default: %(default)s).")
        parser.add_argument("--steps", type=int, default=TrainingConfig.steps, help="Optimiser steps (default: %(default)s).")
        parser.add_argument(
            "--minutes", type=float, default=None,
            help="A time budget: as many steps as fit, at most --steps (default: none, exactly --steps).",
        )
        parser.add_argument(
            "--batch-size", type=int, default=TrainingConfig.batch_size, help="Tracks per step (default: %(default)s).",
        )
        parser.add_argument(
            "--distill", type=float, default=TrainingConfig.distill_weight,
            help="Weight of the distillation towards both musicnn taggers, MTT and MSD (0: none; computes missing "
                 "tagger embeddings; "
                 "default: %(default)s).",
        )
        parser.add_argument(
            "--held-aside", type=float, default=0.1,
            help="Share of the clips held aside for early stopping (never trained on; their retrieval is checked "
                 "every --check-every steps, training stops after --patience checks without improving and keeps the "
                 "best check's weights; 0: none; default: %(default)s).",
        )
        parser.add_argument("--check-every", type=int, default=TrainingConfig.check_every,
                            help="Steps between two held-aside checks (default: %(default)s).")
        parser.add_argument("--patience", type=int, default=TrainingConfig.patience,
                            help="Checks without a better score before stopping (default: %(default)s).")
        parser.add_argument(
            "--members", type=int, default=TrainingConfig.members,
            help="Networks trained, each from its own seed (--seed, --seed + 1, ...), and used as one: the mean of "
                 "their cosines, steadier than one training; each takes --steps, and --minutes is shared out "
                 "(default: %(default)s).",
        )
        parser.add_argument("--background", action="store_true", help="Send the training to a Celery worker instead.")

    def handle(self, slug, seed, steps, minutes, batch_size, distill, background, held_aside, check_every, patience,
               members, **options):
        catalog = Catalog.objects.filter(slug=slug).first()
        if catalog is None:
            raise CommandError(f"No catalog with slug {slug!r}.")
        if (steps < 1 or batch_size < 2 or distill < 0 or (minutes is not None and minutes <= 0)
                or not 0 <= held_aside < 0.5 or check_every < 1 or patience < 1 or members < 1):
            raise CommandError(
                "--steps must be at least 1, --batch-size at least 2, --distill not negative, --minutes above 0, "
                "--held-aside from 0 to below 0.5, --check-every, --patience and --members at least 1."
            )
        if background:
            networks.catalog_train_cnn(catalog=catalog, seed=seed, steps=steps, members=members)
            self.stdout.write(f"Training of a CNN on {slug!r} sent to the workers.")
            return
        config = TrainingConfig(
            seed=seed, steps=steps, batch_size=batch_size, distill_weight=distill,
            max_seconds=None if minutes is None else 60 * minutes, held_aside=held_aside, check_every=check_every,
            patience=patience, members=members,
        )
        with tqdm(total=steps * members, desc="training", unit="step", disable=options["verbosity"] == 0) as bar:
            def progress(step, total, loss):
                if bar.total != total:  # the time budget has chosen the number of steps: the ETA follows
                    bar.total = total
                    bar.refresh()
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}")

            try:
                model = networks.cnn_train(catalog=catalog, config=config, progress=progress)
            except ValueError as error:
                raise CommandError(str(error)) from error
        sent = networks.catalog_embed(catalog=catalog, feature_set="cnn")
        training = model.training
        self.stdout.write(
            f"CNN {model.sha256[:12]} trained on {training['tracks']} clips of {slug!r}: {training['steps']} steps in "
            f"{training['seconds']:.0f} s, mean loss of the last epoch {training['losses'][-1]:.3f}; loss curve "
            f"{model.loss_curve.name}; "
            f"{sent} tracks sent for embedding."
        )
        check = training["check"]
        self.stdout.write(
            f"Check: a clip's second half found from its first half {check['crop_retrieval_top1']:.0%} of the time "
            f"(chance {check['chance']:.1%}); cosines between clips from {check['cosine_p5']:.2f} to "
            f"{check['cosine_p95']:.2f} (5th to 95th percentile); the score participants read (centred on the "
            f"catalog) spreads over an inter-quartile range of {check['centred_iqr']:.2f}."
        )
        for k, member in enumerate(training.get("members", [])):
            scores = ", ".join(f"{score:.2f}" for _, score in member["held_aside_checks"]) or "none"
            kept = f"kept the weights of step {member['best_step']}" if member["best_step"] else "kept its last weights"
            self.stdout.write(f"Network {k + 1} of {len(training['members'])} (seed {member['seed']}): "
                              f"{member['steps']} steps; held-aside scores {scores}; {kept}.")
        if training.get("held_aside_checks") and not training.get("members"):
            scores = ", ".join(f"{score:.2f}" for _, score in training["held_aside_checks"])
            stopped = training["steps"] < steps and minutes is None
            self.stdout.write(
                f"Held aside: {len(training['held_aside_track_ids'])} clips never trained on; their retrieval score "
                f"(mean reciprocal rank, 1 = always found) at each check: {scores}. "
                f"{'Stopped early; kept' if stopped else 'Kept'} the weights of step {training['best_step']}."
            )
        if check["bunched"]:
            self.stderr.write(
                f"Warning: the CNN's similarities bunch near 1 (even the least alike 5 % of pairs score "
                f"{check['cosine_p5']:.2f}): it has not learnt to tell these clips apart. Train longer (--steps, "
                "--minutes) before its explanations are shown to participants."
            )
