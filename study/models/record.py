"""What participants did: who entered, their condition, likes, recommendations, answers, visits and player
events, and the audit log of what left the study. The study's configuration is study.models.configuration."""
import secrets

from django.db import models
from django.db.models import Q

from explanations.models import Explanation
from recommender.models import SimilarityIndex, Track
from study.models.configuration import Condition, Study
from study.models.items import Item


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Participant(models.Model):
    class Page(models.TextChoices):
        CONSENT = "consent", "Consent"
        INSTRUCTIONS = "instructions", "Instructions"
        PRE = "pre", "About you (pre-questionnaire)"
        CHOOSE = "choose", "Choosing liked tracks"
        PRETEST = "pretest", "Understanding test before the recommendations"
        WAIT = "wait", "Waiting for recommendations"
        RATE = "rate", "Rating recommendations"
        POSTTEST = "posttest", "Understanding test after the recommendations"
        QUESTIONNAIRE = "questionnaire", "Questionnaire"
        DONE = "done", "Finished"
        DECLINED = "declined", "Declined consent"

    #: The order participants move through; DECLINED is an exit, not a step. study.flow reads
    #: every next page, section and step number from this list alone (leaving out the tests a study has not).
    #: The pre-test comes before any explanation, while the recommendation job runs; the post-test after rating.
    FLOW = [
        Page.CONSENT, Page.INSTRUCTIONS, Page.PRE, Page.CHOOSE, Page.PRETEST, Page.WAIT, Page.RATE, Page.POSTTEST,
        Page.QUESTIONNAIRE, Page.DONE,
    ]

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="participants")
    token = models.CharField(max_length=40, unique=True, default=new_token, editable=False)
    # Long enough for any panel's ids: an id is checked against the study's pattern, never cut short.
    prolific_pid = models.CharField(max_length=200, blank=True, db_index=True)
    prolific_study_id = models.CharField(max_length=200, blank=True)
    prolific_session_id = models.CharField(max_length=200, blank=True)
    page = models.CharField(max_length=20, choices=Page.choices, default=Page.CONSENT)
    language = models.CharField(
        max_length=10, blank=True, help_text="The language the participant's pages were shown in (at consent)."
    )
    consent_version = models.CharField(max_length=20, blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    liked_tracks = models.ManyToManyField(Track, blank=True, related_name="+", through="LikedTrack")
    recommendations_requested_at = models.DateTimeField(null=True, blank=True)
    recommendation_sent_at = models.DateTimeField(null=True, blank=True, help_text="When the job was last sent.")
    recommendation_attempts = models.PositiveSmallIntegerField(
        default=0, help_text="How many times the recommendation job was sent."
    )
    recommendation_progress = models.JSONField(
        default=dict, blank=True, help_text="What the recommendation job has done so far: {done, total, error}."
    )
    completion_code = models.CharField(max_length=40, blank=True)
    item_order = models.JSONField(
        default=dict, blank=True,
        help_text="Randomised item order: section -> the item codes in the order this participant saw them.",
    )
    instructed = models.JSONField(
        default=dict, blank=True,
        help_text="The answer each attention check instructed this participant to give, where the study draws it "
        "per participant (item code -> value), so that answering one end of every scale never passes.",
    )
    is_pilot = models.BooleanField(
        default=False, help_text="A simulated participant (python manage.py run_bots): left out of exports and "
        "analysis unless asked for.",
    )
    left_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="When a pilot bot left midway on purpose; a real participant's leaving shows only as silence.",
    )
    started_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # One participation per Prolific participant and study, whatever the race.
            models.UniqueConstraint(
                fields=["study", "prolific_pid"], condition=~Q(prolific_pid=""), name="one_participation_per_pid"
            ),
        ]

    def __str__(self):
        return f"P{self.pk}"  # never the Prolific id: this name shows wherever a participant is listed

    @property
    def condition(self) -> Condition | None:
        assignment = getattr(self, "assignment", None)
        return assignment.condition if assignment else None


class LikedTrack(models.Model):
    """A track a participant chose as liked. The table Django made for the plain many-to-many, now named so a
    liked track is protected: deleting it from the catalog is refused instead of silently erasing the choice."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE)
    track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="+")

    class Meta:
        db_table = "study_participant_liked_tracks"
        unique_together = [("participant", "track")]

    def __str__(self):
        return f"{self.participant} liked {self.track_id}"


class Assignment(models.Model):
    """The condition a participant was randomised to: written once, never changed."""

    participant = models.OneToOneField(Participant, on_delete=models.CASCADE, related_name="assignment")
    condition = models.ForeignKey(Condition, on_delete=models.PROTECT, related_name="assignments")
    method = models.CharField(max_length=40, help_text="How the condition was chosen.")
    position = models.PositiveIntegerField(null=True, blank=True, help_text="This was the study's n-th assignment.")
    assigned_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.participant} → {self.condition.slug}"


class Recommendation(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="recommendations")
    rank = models.PositiveSmallIntegerField()
    track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="+")
    seed_track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="+")
    score = models.FloatField()
    index = models.ForeignKey(SimilarityIndex, on_delete=models.PROTECT, related_name="+")
    feature_explanation = models.ForeignKey(
        Explanation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    spectrogram_explanation = models.ForeignKey(
        Explanation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    tags_explanation = models.ForeignKey(Explanation, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    explanation_fallback = models.TextField(
        blank=True,
        help_text="Why this recommendation was shown without (part of) its condition's explanation figure; "
        "empty when everything was shown.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["participant", "rank"]
        constraints = [models.UniqueConstraint(fields=["participant", "rank"], name="unique_recommendation_rank")]

    def __str__(self):
        return f"{self.participant} #{self.rank}: {self.track}"


class Response(models.Model):
    """One answer; saving the same question again overwrites it, so reloads never duplicate.

    ``client_seq`` orders the saves of one question: the page numbers each choice, and a
    save is kept only when its number is higher than the stored one, so a request that
    arrives late never puts back an answer the participant had already changed.
    """

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="responses")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="responses")
    recommendation = models.ForeignKey(
        Recommendation, on_delete=models.CASCADE, null=True, blank=True, related_name="responses"
    )
    value = models.SmallIntegerField()
    client_seq = models.BigIntegerField(default=0, help_text="Order of this save among the question's saves.")
    first_answered_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["participant", "item", "recommendation"]
        constraints = [
            # NULL recommendations never collide in a plain unique index, so each case gets its own.
            models.UniqueConstraint(
                fields=["participant", "item"], condition=Q(recommendation=None), name="one_answer_per_item"
            ),
            models.UniqueConstraint(
                fields=["participant", "item", "recommendation"],
                condition=~Q(recommendation=None),
                name="one_answer_per_item_and_recommendation",
            ),
        ]

    def __str__(self):
        return f"{self.participant} {self.item.code}={self.value}"


def model_side(left_score: float, right_score: float) -> str:
    """The understanding-test answer the model gives: the candidate it scores higher ("left" or "right")."""
    return "left" if left_score > right_score else "right"


class SimulationTrial(models.Model):
    """One understanding-test trial (forward simulation): a liked track, two candidates from the pool, and which
    of them the participant thinks the system would recommend. The model's answer is the candidate its index
    scores higher (the recommender's ranking quantity); drawn by study.services.simulating, answered once."""

    class Phase(models.TextChoices):
        PRE = "pre", "Before the recommendations (pre-test)"
        POST = "post", "After the recommendations (post-test)"

    class Side(models.TextChoices):
        LEFT = "left", "Left (first, A)"
        RIGHT = "right", "Right (second, B)"

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="trials")
    phase = models.CharField(max_length=4, choices=Phase.choices)
    position = models.PositiveSmallIntegerField(help_text="Order of the trial in its test (1 = first shown).")
    seed_track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="+")
    left_track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="+")
    right_track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="+")
    left_score = models.FloatField(help_text="The recommender's score of the left candidate for the liked track.")
    right_score = models.FloatField()
    index = models.ForeignKey(SimilarityIndex, on_delete=models.PROTECT, related_name="+")
    band = models.PositiveSmallIntegerField(help_text="Difficulty band (0 = the study's first, easiest by default).")
    item = models.CharField(
        max_length=80, help_text="The trial's identity across participants (recommender, liked track, candidates): "
        "the random effect of the trial item in the analysis.",
    )
    choice = models.CharField(max_length=5, choices=Side.choices, blank=True)
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    shown_at = models.DateTimeField(null=True, blank=True, help_text="Server time the trial was first shown.")
    answered_at = models.DateTimeField(null=True, blank=True)
    client_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="The page's own measure: milliseconds from showing the trial to the answer."
    )

    class Meta:
        ordering = ["participant", "-phase", "position"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "phase", "position"], name="one_trial_per_position"),
        ]

    def __str__(self):
        return f"{self.participant} {self.phase}-{self.position}"

    @property
    def model_choice(self) -> str:
        return model_side(self.left_score, self.right_score)

    @property
    def margin(self) -> float:
        return abs(self.left_score - self.right_score)

    @property
    def correct(self) -> bool | None:
        return self.choice == self.model_choice if self.choice else None

    @property
    def response_ms(self) -> int | None:
        """Server time from first showing the trial to the answer."""
        if not (self.shown_at and self.answered_at):
            return None
        return round((self.answered_at - self.shown_at).total_seconds() * 1000)


class PageVisit(models.Model):
    """When a participant entered and left a page, by the server's clock."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="visits")
    page = models.CharField(max_length=20, choices=Participant.Page.choices)
    entered_at = models.DateTimeField(auto_now_add=True)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["participant", "entered_at"]

    def __str__(self):
        return f"{self.participant} on {self.page}"

    @property
    def seconds(self) -> float | None:
        return (self.left_at - self.entered_at).total_seconds() if self.left_at else None


class ListeningEvent(models.Model):
    """One play, pause, seek or end of a clip, with where in the clip it happened."""

    class Kind(models.TextChoices):
        PLAY = "play", "Play"
        PAUSE = "pause", "Pause"
        SEEK = "seeked", "Seek"
        ENDED = "ended", "Ended"
        PROGRESS = "progress", "Still playing"

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="listening")
    # A track a participant heard cannot be deleted: the record would lose what was played.
    track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="+")
    recommendation = models.ForeignKey(
        "Recommendation", on_delete=models.CASCADE, null=True, blank=True, related_name="listening"
    )
    trial = models.ForeignKey(
        SimulationTrial, on_delete=models.CASCADE, null=True, blank=True, related_name="listening",
        help_text="The understanding-test trial whose clip this was; empty elsewhere.",
    )
    page = models.CharField(max_length=20, choices=Participant.Page.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    position_s = models.FloatField(help_text="Where in the clip, in seconds.")
    listened_s = models.FloatField(
        default=0, help_text="The browser's own count, kept for audit only: listening time is computed from the "
        "events' server times and positions (study.listening)."
    )
    created_at = models.DateTimeField(auto_now_add=True, help_text="Server time the event arrived.")

    class Meta:
        ordering = ["participant", "created_at"]

    def __str__(self):
        return f"{self.participant} {self.kind} {self.track_id} at {self.position_s:.1f} s"


class AuditEntry(models.Model):
    """Who exported or deleted participants' data, and when: written by the services that do it, never edited."""

    class Action(models.TextChoices):
        EXPORT = "export", "Export"
        EXPORT_IDENTIFYING = "export_identifying", "Export with raw Prolific ids"
        DELETE_PARTICIPANT = "delete_participant", "Participant's data deleted on request"
        PURGE_IDENTIFIERS = "purge_identifiers", "Identifiers purged after the retention period"
        CHANGE_STUDY = "change_study", "Study configuration changed (old and new values)"
        PREVIEW = "preview_condition", "A researcher previewed a condition (a pilot participant)"
        DISCARD_TEST_DATA = "discard_test_data", "Test data (pilot participants) discarded before opening"
        PREPARE = "prepare_catalog", "The study's catalog prepared (analysis, models, indexes, explanations)"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=200, help_text="Who: admin:<user>, api:<user>, or the OS user of a command.")
    action = models.CharField(max_length=30, choices=Action.choices)
    study = models.ForeignKey(Study, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_entries")
    detail = models.JSONField(default=dict, blank=True, help_text="What exactly: format, rows, pseudonym, counts.")

    class Meta:
        ordering = ["-at"]
        verbose_name_plural = "audit log"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.get_action_display()}"
