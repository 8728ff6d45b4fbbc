import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from recommender.models import Catalog
from study import services
from study.models import Study

CONSENT = """This is a demonstration of Resonance, a platform for studies on explainable music recommendation.

You will choose a few tracks you like, listen to five recommendations, rate them, and answer a short questionnaire. It takes about ten minutes.

Taking part is voluntary; you can stop at any time by closing this page. We store your answers and your Prolific ID (if you came from Prolific), and nothing else that identifies you. The data is used for research only."""


class Command(BaseCommand):
    help = "Create the demo study (slug 'demo') on the demo catalog, and an admin login to watch it."

    def add_arguments(self, parser):
        parser.add_argument("--catalog", default="demo")
        parser.add_argument("--host", default="http://127.0.0.1:8000")
        parser.add_argument("--admin-user", default="admin")

    def handle(self, catalog, host, admin_user, **options):
        catalog_row = Catalog.objects.filter(slug=catalog).first()
        if catalog_row is None:
            raise CommandError(f"No catalog {catalog!r}; run make_demo_catalog first.")
        study = Study.objects.filter(slug="demo").first()
        if study is None:
            study = services.study_create(
                slug="demo",
                title="Music recommendations study (demo)",
                description="Help us understand how people judge music recommendations and their explanations.",
                catalog=catalog_row,
                consent_text=CONSENT,
                conditions=[
                    ("features", "Feature chart", "features"),
                    ("spectrogram", "Spectrograms", "spectrogram"),
                ],
            )
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=admin_user, defaults={"is_staff": True})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            f"\nDemo study ready ({study.conditions.count()} conditions).\n"
            f"  Participant link: {host}/s/{study.slug}/\n"
            f"  With Prolific ids: {host}/s/{study.slug}/?PROLIFIC_PID=demo-participant&STUDY_ID=demo&SESSION_ID=1\n"
            f"  Admin:            {host}/admin/  user {admin_user!r}, password {password!r}\n"
        )
