import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from recommender.models import Catalog
from research import services
from study.models import Study

CONSENT = """This is a demonstration of Resonance, a platform for studies on explainable music recommendation.

You will choose a few tracks you like, listen to five recommendations, rate them, and answer a short questionnaire. It takes about ten minutes.

Taking part is voluntary; you can stop at any time by closing this page. We store your answers and your Prolific ID (if you came from Prolific), and nothing else that identifies you. The data is used for research only."""


CONSENT_DE = """Dies ist eine Demonstration von Resonance, einer Plattform für Studien zu erklärbaren Musikempfehlungen.

Sie wählen einige Titel aus, die Ihnen gefallen, hören fünf Empfehlungen, bewerten sie und beantworten einen kurzen Fragebogen. Das dauert etwa zehn Minuten.

Die Teilnahme ist freiwillig; Sie können jederzeit aufhören, indem Sie diese Seite schließen. Wir speichern Ihre Antworten und Ihre Prolific-ID (falls Sie über Prolific gekommen sind), und nichts anderes, das Sie identifiziert. Die Daten werden nur für die Forschung verwendet."""


def _demo_study(catalog: Catalog, slug: str, title: tuple[str, str], description: tuple[str, str], conditions) -> Study:
    """A demo study open to anyone, in English and German."""
    return services.study_create(
        slug=slug, title=title[0], description=description[0], catalog=catalog, consent_text=CONSENT,
        open_to_anyone=True, conditions=conditions,
        translations={"de": {"title": title[1], "description": description[1], "consent_text": CONSENT_DE}},
    )


class Command(BaseCommand):
    help = "Create the demo study (slug 'demo') on the demo catalog, and an admin login to watch it."

    def add_arguments(self, parser):
        parser.add_argument("--catalog", default="demo", help="The catalog's slug (default: %(default)s).")
        parser.add_argument("--host", default="http://127.0.0.1:8000", help="Where the site answers, for the printed links (default: %(default)s).")
        parser.add_argument("--admin-user", default="admin", help="The admin login to create (default: %(default)s).")

    def handle(self, catalog, host, admin_user, **options):
        catalog_row = Catalog.objects.filter(slug=catalog).first()
        if catalog_row is None:
            raise CommandError(f"No catalog {catalog!r}; run make_demo_catalog first.")
        study = Study.objects.filter(slug="demo").first() or _demo_study(
            catalog_row, "demo",
            ("Music recommendations study (demo)", "Studie zu Musikempfehlungen (Demo)"),
            ("Help us understand how people judge music recommendations and their explanations.",
             "Helfen Sie uns zu verstehen, wie Menschen Musikempfehlungen und ihre Erklärungen beurteilen."),
            [("features", "Feature chart", "features"), ("spectrogram", "Spectrograms", "spectrogram")],
        )
        networks = Study.objects.filter(slug="demo-networks").first()
        if networks is None and all(services.recommender_index_exists(catalog_row, r) for r in ("tagger", "cnn")):
            # The networks' explanations side by side, recommender x explanation crossed on purpose.
            networks = _demo_study(
                catalog_row, "demo-networks",
                ("Music recommendations study (demo: the networks)", "Studie zu Musikempfehlungen (Demo: die neuronalen Netze)"),
                ("Recommendations from neural networks that listen to the music, with their explanations.",
                 "Empfehlungen neuronaler Netze, die die Musik anhören, mit ihren Erklärungen."),
                [
                    ("cnn-spectrogram", "CNN: spectrograms (exact regions)", "spectrogram", 1, "cnn"),
                    ("tagger-tags", "Tagger: shared tags", "tags", 1, "tagger"),
                    ("tagger-spectrogram", "Tagger: spectrograms (occlusion)", "spectrogram", 1, "tagger"),
                ],
            )
        # An existing account is never touched: its password and rights stay as its owner set them.
        users = get_user_model().objects
        if users.filter(username=admin_user).exists():
            login = f"user {admin_user!r} (an existing account; its password and rights were left as they are)"
        else:
            password = secrets.token_urlsafe(12)
            users.create_superuser(username=admin_user, password=password, email="")
            login = f"user {admin_user!r}, password {password!r}"
        also = (
            f"  The networks:     {host}/s/{networks.slug}/ ({networks.conditions.count()} conditions: CNN and tagger)\n"
            if networks else ""
        )
        self.stdout.write(
            f"\nDemo study ready ({study.conditions.count()} conditions).\n"
            f"  Participant link: {host}/s/{study.slug}/\n"
            f"{also}"
            f"  With Prolific ids: {host}/s/{study.slug}/?PROLIFIC_PID=5f0c1a2b3c4d5e6f70819203&STUDY_ID=demo&SESSION_ID=demo-session\n"
            f"  Admin:            {host}/admin/  {login}\n"
        )
