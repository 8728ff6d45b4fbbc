"""A participant's browser for tests: the study's own pages through Django's test client."""
from django.test import Client

from study.models import Item, Participant


class ParticipantBrowser:
    """One participant's browser: a test client that follows the study's own redirects."""

    def __init__(self, study, client=None):
        self.study = study
        self.client = client or Client()

    def n_answers(self):
        """Answers a finished participant has given: pre, per recommendation, post."""
        items = Item.objects.filter(study=self.study)
        n_recommendations = self.participant.recommendations.count()
        return items.exclude(section="rating").count() + n_recommendations * items.filter(section="rating").count()

    def url(self, page):
        return f"/s/{self.study.slug}/{page}/" if page else f"/s/{self.study.slug}/"

    def get(self, page="", **params):
        return self.client.get(self.url(page), params, follow=True)

    def post(self, page, data):
        return self.client.post(self.url(page), data, follow=True)

    @property
    def participant(self) -> Participant:
        token = self.client.session[f"participant:{self.study.pk}"]
        return Participant.objects.get(token=token)

    def page(self):
        return self.participant.page

    def consent_only(self):
        return self.post("consent", {"consent": "yes"})

    def consent(self):
        """Consent, read the instructions and answer the pre-questionnaire: the participant is then choosing."""
        self.consent_only()
        self.post("instructions", {})
        return self.post("about-you", self.pre_answers())

    def pre_answers(self):
        return {item.code: item.options[0][0] for item in Item.objects.filter(study=self.study, section="pre")}

    def like(self, *tracks):
        for track in tracks:
            self.post("choose", {"action": "like", "track": track.pk})

    def get_recommendations(self, *tracks):
        self.like(*tracks)
        return self.post("choose", {"action": "continue"})

    def rating_answers(self, value=5):
        participant = self.participant
        items = Item.objects.filter(study=self.study, section="rating")
        return {
            f"{item.code}__{rec.pk}": value for rec in participant.recommendations.all() for item in items
        }

    def questionnaire_answers(self, value=6):
        """Likert items get ``value`` (or their scale's top, where it is lower); choice items (the manipulation
        check) their first option."""
        return {
            item.code: item.options[0][0] if item.kind == "choice" else min(value, item.scale_max)
            for item in Item.objects.filter(study=self.study, section="questionnaire")
        }

    def complete(self, liked):
        self.get()
        self.consent()
        self.get_recommendations(*liked)
        self.post("rate", self.rating_answers())
        return self.post("questionnaire", self.questionnaire_answers())
