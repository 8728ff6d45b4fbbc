from django.core.management.base import BaseCommand, CommandError

from explanations.models import Explanation
from research import services
from study.models import Study
from study.services import FlowError


class Command(BaseCommand):
    help = "Render, in Celery jobs, every explanation a study's participants can be shown, before the study opens."

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, slug, **options):
        study = Study.objects.filter(slug=slug).select_related("catalog").first()
        if study is None:
            raise CommandError(f"No study with slug {slug!r}.")
        try:
            sent = services.study_prerender_explanations(study=study)
        except FlowError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Study {slug!r}: {sent} track pairs sent for rendering; {Explanation.objects.count()} explanations rendered so far."
        )
