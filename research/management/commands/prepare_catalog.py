import os
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommender.cnn.contrastive import TrainingConfig
from recommender.cnn.tagger import VOCABULARIES
from recommender.models import Catalog
from research import services
from research.services import preparing
from study.models import Preparation, Study
from study.services import FlowError


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


class Command(BaseCommand):
    help = (
        "Make a catalog ready for a study in one go: analyse its clips, run the musicnn taggers, train the CNN within "
        "a time budget, build every recommender's index, evaluate them (quality against the catalog's styles, the "
        "spread of the scores, the tags each vocabulary hears) and, with --study, compute every explanation its "
        "participants can be shown. Each stage does only what is missing: run it again after an interruption and it "
        "resumes. A bar with an ETA per stage; the plan with its estimate first. Expected duration on a 2-core "
        "machine: about 9 min for 80 30-s clips with the default 5-min CNN budget (../shared/realmusic, measured by "
        "bench/launch.py); the taggers (about 1 s a clip per vocabulary) and the analysis (about 0.6 s a clip, "
        "shared among --workers) grow with the catalog, the CNN stays within its budget."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The catalog's slug.")
        parser.add_argument("--study", help="A study on this catalog: its explanations are prerendered at the end.")
        parser.add_argument("--cnn-minutes", type=float, default=preparing.DEFAULT_CNN_MINUTES,
                            help="The CNN's training budget in minutes (default: %(default)s).")
        parser.add_argument("--cnn-steps", type=int, default=TrainingConfig.steps,
                            help="At most this many training steps within the budget (default: %(default)s).")
        parser.add_argument("--no-cnn", action="store_true", help="Train no CNN (a study without a CNN condition).")
        parser.add_argument(
            "--vocabularies", default=",".join(preparing.DEFAULT_VOCABULARIES),
            help="Tagger vocabularies to compute, comma-separated (default: %(default)s; a study's own is added).",
        )
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                            help="Processes analysing clips (default: this machine's cores, %(default)s).")
        parser.add_argument("--seed", type=int, default=0, help="The CNN's seed (default: %(default)s).")
        parser.add_argument("--background", action="store_true",
                            help="Send it to a batch worker and follow its progress (Ctrl-C leaves it running).")
        parser.add_argument("--plan", action="store_true", help="Show what is left to do and its estimate; do nothing.")

    def handle(self, slug, study, cnn_minutes, cnn_steps, no_cnn, vocabularies, workers, seed, background, plan, **options):
        catalog = Catalog.objects.filter(slug=slug).first()
        if catalog is None:
            raise CommandError(f"No catalog with slug {slug!r}.")
        chosen = None
        if study:
            chosen = Study.objects.filter(slug=study).first()
            if chosen is None:
                raise CommandError(f"No study with slug {study!r}.")
        asked = [v.strip() for v in vocabularies.split(",") if v.strip()]
        if any(v not in VOCABULARIES for v in asked) or cnn_minutes <= 0 or workers < 1 or cnn_steps < 1:
            raise CommandError(f"--vocabularies takes {', '.join(VOCABULARIES)}; --cnn-minutes above 0; --workers and "
                               "--cnn-steps at least 1.")
        job_options = {"cnn": not no_cnn, "cnn_minutes": cnn_minutes, "vocabularies": asked, "workers": workers,
                       "seed": seed, "cnn_training": {"steps": cnn_steps}}
        stages = services.preparation_plan(catalog=catalog, study=chosen, options=job_options)
        self.stdout.write(f"Preparing {slug!r}" + (f" for study {chosen.slug!r}" if chosen else "") + ":")
        for stage in stages:
            left = f"{stage['total']} to do, about {_minutes(stage['estimate_s'])}" if stage["total"] else "nothing to do"
            self.stdout.write(f"  {stage['name']:<11} {left}" + (f" ({stage['note']})" if stage["note"] else ""))
        self.stdout.write(f"  in all about {_minutes(sum(s['estimate_s'] for s in stages))}.")
        if plan:
            return
        actor = f"command:{os.environ.get('USER', 'unknown')}"
        try:
            if background:
                preparation = services.preparation_start(catalog=catalog, study=chosen, actor=actor, options=job_options)
            else:
                preparation = services.preparation_create(catalog=catalog, study=chosen, actor=actor, options=job_options)
        except FlowError as error:
            raise CommandError(str(error)) from None
        bars = _Bars(quiet=options["verbosity"] == 0)
        try:
            if background:
                self._follow(preparation, bars)
            else:
                services.preparation_run(preparation=preparation, listener=bars.show)
        except KeyboardInterrupt:
            raise CommandError("Interrupted; run the command again to resume where it stopped.") from None
        except Exception as error:
            raise CommandError(f"The preparation stopped: {error}. Run the command again to resume.") from error
        finally:
            bars.close()
        preparation.refresh_from_db()
        self._report(preparation, chosen)

    def _follow(self, preparation: Preparation, bars):
        while True:
            preparation.refresh_from_db()
            for stage in preparation.stages:
                if stage["state"] != "pending":
                    bars.show(stage)
            if preparation.state == Preparation.State.FAILED:
                raise CommandError(f"The preparation failed: {preparation.error}")
            if preparation.state == Preparation.State.DONE:
                return
            if preparation.stalled:
                raise CommandError("No word from the batch worker for minutes: is one running (-Q batch)?")
            time.sleep(2)

    def _report(self, preparation: Preparation, study):
        self.stdout.write("Stages: " + "; ".join(
            f"{s['name']} {s['seconds']:.0f} s" + (f" ({s['note']})" if s["note"] else "") for s in preparation.stages
        ))
        summary = preparation.summary
        if summary.get("quality"):
            self.stdout.write(f"Recommenders, share of the 5 nearest tracks sharing the query's style or genre "
                              f"(chance {summary['chance']:.2f}):")
            for row in sorted(summary["quality"], key=lambda r: -r["precision"]):
                self.stdout.write(f"  {row['precision']:.2f}  {row['recommender']}")
        for feature_set, (low, high) in summary.get("spread", {}).items():
            self.stdout.write(f"Scores of the {feature_set} index: half of the pairs between {low:.2f} and {high:.2f}")
        for feature_set, usage in summary.get("tags", {}).items():
            self.stdout.write(f"Tags the {feature_set} index puts first: " + ", ".join(
                f"{u['tag']} ({u['top_share']:.0%} of tracks)" for u in usage))
        if study is not None:
            warnings = services.study_warnings(study)
            self.stdout.write("Launch checklist: " + ("nothing missing." if not warnings else ""))
            for warning in warnings:
                self.stdout.write(f"  - {warning}")


class _Bars:
    """One tqdm bar per stage, opened when the stage starts and closed when it ends."""

    def __init__(self, quiet: bool):
        self.quiet, self.bars, self.ended = quiet, {}, set()

    def show(self, stage: dict) -> None:
        name, ended = stage["name"], stage["state"] in ("done", "skipped", "failed")
        if ended and name in self.ended:
            return
        if not ended:
            self.ended.discard(name)
        bar = self.bars.get(name)
        if bar is None:
            bar = self.bars[name] = tqdm(total=stage["total"], desc=name, unit="", disable=self.quiet)
        if bar.total != stage["total"]:
            bar.total = stage["total"]
            bar.refresh()
        bar.update(stage["done"] - bar.n)
        if ended:
            bar.set_postfix_str(stage.get("note", "")[:60])
            bar.close()
            del self.bars[name]
            self.ended.add(name)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
