import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from research import services
from study.models import Study
from study.services import FlowError


class Command(BaseCommand):
    help = (
        "Compute every explanation a study's participants can be shown, in every language, before the study opens, "
        "with a progress bar and an ETA. With a Celery worker (CELERY_BROKER_URL) the work goes to the workers and "
        "this command follows it; on the embedded default, or with --here, it is done in this process. Expected "
        "duration: about 13 ms an explanation on one core (80 clips, four conditions, two languages: 3,840 in 50 s); "
        "a spectrogram explanation of the tagger (occlusion) about 4 s a pair."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--here", action="store_true", help="Compute in this process, not in Celery jobs.")
        parser.add_argument("--no-wait", action="store_true", help="Send the jobs and return at once.")
        parser.add_argument("--wait-minutes", type=float, default=60.0, help="How long to follow the jobs at most (default: %(default)s).")

    def handle(self, slug, here, no_wait, wait_minutes, **options):
        study = Study.objects.filter(slug=slug).select_related("catalog").first()
        if study is None:
            raise CommandError(f"No study with slug {slug!r}.")
        in_process = here or settings.CELERY_TASK_ALWAYS_EAGER
        quiet = options["verbosity"] == 0
        started = time.monotonic()
        try:
            batches = services.study_prerender_plan(study=study)
        except FlowError as error:
            raise CommandError(str(error)) from None
        wanted = sum(b.explanations for b in batches)
        pairs = sum(len(b.pairs) for b in batches)
        with tqdm(total=wanted, desc="explanations", unit="expl", disable=quiet or not in_process) as bar:
            services.study_prerender_explanations(
                study=study, in_process=in_process, progress=bar.update, batches=batches
            )
        if not in_process and not no_wait:
            self._follow(batches, wanted, wait_minutes, quiet)
        done = services.study_prerender_done(batches=batches)
        self.stdout.write(
            f"Study {slug!r}: {pairs} track pairs sent; {done} of {wanted} explanations ready "
            f"({time.monotonic() - started:.0f} s)."
        )
        if done < wanted and not no_wait:
            raise CommandError(f"{wanted - done} explanations are not ready; are the Celery workers running?")

    def _follow(self, batches, wanted, wait_minutes, quiet):
        """A bar with an ETA over the jobs' work, read from the database every two seconds."""
        deadline = time.monotonic() + 60 * wait_minutes
        with tqdm(total=wanted, desc="explanations (workers)", unit="expl", disable=quiet) as bar:
            while time.monotonic() < deadline:
                done = services.study_prerender_done(batches=batches)
                bar.update(done - bar.n)
                if done >= wanted:
                    return
                time.sleep(2)
