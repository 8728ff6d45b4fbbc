from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from research.bot_tests import parse_accuracy
from research.bots import PATTERNS, bots_run
from study.models import Study


class Command(BaseCommand):
    help = (
        "Pilot bots, like oTree's: simulated participants take the study through its real pages (consent, every "
        "question, the player, the waiting page), answering by --pattern; --dropout of them leave midway. They are "
        "marked pilot and left out of exports and analysis unless asked for (--include-pilot). Expected duration: "
        "about 11 s a bot, one after the other (10 bots through a four-condition study of 30-s clips: 108 s)."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The study's slug (pilot or open).")
        parser.add_argument("--n", type=int, default=10, help="How many bots (default: %(default)s).")
        parser.add_argument("--dropout", type=float, default=0.0, help="Share of bots that leave midway, 0 to 1 (default: %(default)s).")
        parser.add_argument("--pattern", choices=[*PATTERNS, "mixed"], default="careful",
                            help="careful: consistent answers, checks passed; random; straightline: one value "
                                 "everywhere; mixed: each bot draws one (default: %(default)s).")
        parser.add_argument("--seed", type=int, default=None, help="Makes the bots' choices repeatable.")
        parser.add_argument("--listen", type=float, default=None,
                            help="Seconds each bot really listens (default: the study's required listening time).")
        parser.add_argument(
            "--test-accuracy", default="", metavar="CONDITION=POST[,CONDITION=PRE:POST]",
            help="How often each condition's bots answer the understanding tests as the model would, to plant an "
                 "effect, e.g. features=0.8,control=0.55 (the post-test; the pre-test then 0.5) or features=0.5:0.8. "
                 "Default: every bot guesses (0.5).",
        )

    def handle(self, slug, n, dropout, pattern, seed, listen, test_accuracy, **options):
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            raise CommandError(f"No study with slug {slug!r}.")
        if n < 1 or not 0 <= dropout <= 1:
            raise CommandError("--n must be at least 1 and --dropout between 0 and 1.")
        try:
            planted = parse_accuracy(test_accuracy)
        except ValueError as error:
            raise CommandError(f"--test-accuracy {error}") from error
        unknown = set(planted) - set(study.conditions.values_list("slug", flat=True))
        if unknown:
            raise CommandError(f"--test-accuracy names no condition of {slug!r}: {', '.join(sorted(unknown))}.")
        if not study.accepts_new_participants:
            raise CommandError(f"Study {slug!r} is {study.state}: set it to pilot (or open) to run bots.")
        with tqdm(total=n, desc="bots", unit="bot", disable=options["verbosity"] == 0) as bar:
            run = bots_run(study=study, n=n, dropout=dropout, pattern=pattern, seed=seed, listen_s=listen,
                           progress=lambda result: bar.update(1), test_accuracy=planted)
        by_condition = ", ".join(f"{slug} {count}" for slug, count in sorted(run.by_condition.items()))
        self.stdout.write(
            f"{n} bots through {slug!r}: {run.count('completed')} finished, {run.count('left')} left midway, "
            f"{run.count('failed')} failed; by condition: {by_condition or 'none'}."
        )
        if run.missed_conditions:
            self.stdout.write(f"No bot reached: {', '.join(run.missed_conditions)}.")
        failures = [r for r in run.results if r.error]
        if failures:
            for result in failures[:10]:
                self.stderr.write(f"bot {result.number} ({result.pattern}) on {result.page or 'entry'}: {result.error}")
            raise CommandError(f"{len(failures)} of {n} bots could not get through the study (see above).")
