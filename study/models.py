import secrets
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from explanations.models import Explanation
from recommender.models import Catalog, SimilarityIndex, Track
from study import frozen
from study.pid_patterns import validate_pid_pattern


def new_seed() -> int:
    return secrets.randbits(62)


class Study(models.Model):
    slug = models.SlugField(unique=True, help_text="Participants enter at /s/SLUG/ (this slug).")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Shown to participants above the consent form.")
    catalog = models.ForeignKey(Catalog, on_delete=models.PROTECT, related_name="studies")
    class State(models.TextChoices):
        DRAFT = "draft", "Draft: nobody may enter yet"
        PILOT = "pilot", "Pilot: anyone may enter; their data is pilot data, left out of analysis by default"
        OPEN = "open", "Open: participants enter; their data counts"
        CLOSED = "closed", "Closed: no new participants; those who started may finish"

    state = models.CharField(
        max_length=10, choices=State.choices, default=State.OPEN,
        help_text="Who may enter, and whether their data counts as pilot data.",
    )
    pid_pattern = models.CharField(
        max_length=200, default=r"[0-9a-f]{24}", validators=[validate_pid_pattern],
        help_text="A regular expression every PROLIFIC_PID must match in full: Prolific's 24 hexadecimal "
        "characters by default ([0-9a-f]{24}); for another panel e.g. [A-Za-z0-9_-]{1,64}. Run by RE2 (linear "
        "time): no back-references or look-arounds.",
    )
    open_to_anyone = models.BooleanField(
        default=True,
        help_text="Off for a Prolific study: only visitors whose link carries a PROLIFIC_PID may take part; "
        "anyone else gets a page saying so, and no participant row.",
    )
    consent_text = models.TextField()
    consent_version = models.CharField(max_length=20, default="1")
    pool_styles = models.JSONField(
        default=list, blank=True,
        help_text='The catalog pool: only tracks of these main genres or styles, e.g. ["jazz", "rock"] (empty: all).',
    )
    pool_track_ids = models.JSONField(
        default=list, blank=True,
        help_text="The catalog pool: only these tracks, by their catalog ids (empty: all). Both filters apply "
        "when both are set. Participants search, like and are recommended tracks of the pool only.",
    )

    class ItemOrder(models.TextChoices):
        FIXED = "fixed", "Fixed: every participant sees the items in the study's order"
        RANDOMISED = "randomised", "Randomised per participant (the order each saw is recorded and exported)"

    item_order = models.CharField(max_length=12, choices=ItemOrder.choices, default=ItemOrder.FIXED)

    class TagVocabulary(models.TextChoices):  # recommender.cnn.tagger.VOCABULARIES
        MTT = "mtt", "MagnaTagATune: instruments, voices, tempo, moods (guitar, strings, synth, female vocal, slow)"
        MSD = "msd", "Million Song Dataset: genres, moods, decades (electronic, ambient, chillout, jazz, 80s)"
        BOTH = "both", "Both taggers, side by side"

    tag_vocabulary = models.CharField(
        max_length=4, choices=TagVocabulary.choices, default=TagVocabulary.MTT,
        help_text="Which musicnn tagger the tagger recommender listens with, and so the words its tags explanation "
        "may use. The gallery lists the tags it uses most on this catalog: check they describe this music before "
        "launch. Each vocabulary needs its own index (python manage.py embed_catalog CATALOG --vocabulary ...).",
    )
    target_per_condition = models.PositiveIntegerField(
        default=0, help_text="Participants to analyse in each condition (0: none set). The admin shows the sample "
        "size a power analysis gives for the effect size, alpha and power below.",
    )
    effect_size_d = models.FloatField(default=0.5, help_text="Power analysis: the smallest effect of interest (Cohen's d).")
    alpha = models.FloatField(default=0.05, help_text="Power analysis: significance level (two-sided).")
    power = models.FloatField(default=0.8, help_text="Power analysis: the chance of detecting that effect.")
    min_liked = models.PositiveSmallIntegerField(default=1)
    max_liked = models.PositiveSmallIntegerField(default=3)
    n_recommendations = models.PositiveSmallIntegerField(default=5)
    prolific_completion_code = models.CharField(
        max_length=40, blank=True, help_text="When set, finishing redirects to Prolific with this code."
    )
    prolific_no_consent_code = models.CharField(
        max_length=40, blank=True, help_text="When set, declining consent returns to Prolific with this code."
    )
    instructions_text = models.TextField(blank=True, help_text="Shown after consent; a default text when empty.")
    debrief_text = models.TextField(blank=True, help_text="Shown at the end, beside the completion code.")

    class Randomisation(models.TextChoices):
        LEAST_FILLED = "least_filled", "Least-filled condition (ties at random)"
        PERMUTED_BLOCK = "permuted_block", "Permuted blocks"

    class BalanceOn(models.TextChoices):
        STARTED = "started", "Participants who started (consented)"
        FINISHED = "finished", "Participants who finished"

    randomisation = models.CharField(max_length=20, choices=Randomisation.choices, default=Randomisation.LEAST_FILLED)
    balance_on = models.CharField(
        max_length=10, choices=BalanceOn.choices, default=BalanceOn.STARTED,
        help_text="Least-filled only: whom to count when looking for the least-filled condition.",
    )
    block_repeats = models.PositiveSmallIntegerField(
        default=2, help_text="Permuted blocks only: each block holds every condition weight x this many times."
    )
    randomisation_seed = models.BigIntegerField(default=new_seed, editable=False)
    assignments_made = models.PositiveIntegerField(
        default=0, editable=False,
        help_text="Real (not pilot) assignments ever made, deleted participants' included: the next one is this + 1, "
        "so a deletion never makes a block position be dealt twice.",
    )
    required_listening_s = models.PositiveSmallIntegerField(
        default=0, help_text="Seconds of a recommendation a participant must hear before rating it (0: none)."
    )
    min_duration_s = models.PositiveIntegerField(
        default=180, help_text="Completions faster than this are flagged as too fast in the export."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "studies"
        permissions = [("view_prolific_id", "Can see participants' raw Prolific ids (every time logged, with why)")]

    def __str__(self):
        return self.title

    def clean(self):
        frozen.study_check(self)

    @property
    def is_frozen(self) -> bool:
        """What participants are asked can no longer change (study/frozen.py)."""
        return frozen.is_frozen(self)

    @property
    def accepts_new_participants(self) -> bool:
        return self.state in (self.State.PILOT, self.State.OPEN)

    def liked_enough(self, n: int) -> bool:
        """Whether a choice of ``n`` liked tracks may go on to recommendations (the study's one rule for it)."""
        return self.min_liked <= n <= self.max_liked

    def liked_full(self, n: int) -> bool:
        """Whether a choice of ``n`` liked tracks leaves no room for another."""
        return n >= self.max_liked

    def texts(self, language: str) -> "StudyTexts":
        """Title, description, consent, instructions and debrief in ``language``, falling back to the study's own."""
        own = StudyTexts(self.title, self.description, self.consent_text, self.instructions_text, self.debrief_text)
        translation = next((t for t in self.translations.all() if t.language == language), None)
        if translation is None:
            return own
        return StudyTexts(*(getattr(translation, field) or getattr(own, field) for field in StudyTexts._fields))

    @property
    def prolific_completion_url(self) -> str:
        return _prolific_url(self.prolific_completion_code)

    @property
    def prolific_no_consent_url(self) -> str:
        return _prolific_url(self.prolific_no_consent_code)


class StudyTexts(NamedTuple):
    title: str
    description: str
    consent_text: str
    instructions_text: str
    debrief_text: str


class StudyTranslation(models.Model):
    """The study's own texts in one more participant language; an empty field shows the study's own text."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    consent_text = models.TextField()
    instructions_text = models.TextField(blank=True)
    debrief_text = models.TextField(blank=True)

    class Meta:
        ordering = ["study", "language"]
        constraints = [models.UniqueConstraint(fields=["study", "language"], name="one_translation_per_language")]

    def __str__(self):
        return f"{self.study.slug} ({self.language})"


def _prolific_url(code: str) -> str:
    return f"https://app.prolific.com/submissions/complete?cc={code}" if code else ""


class Condition(models.Model):
    #: What a condition shows beside each recommendation (named so as not to hide explanations.models.Explanation).
    class Shows(models.TextChoices):
        NONE = "none", "No explanation (control)"
        FEATURES = "features", "Feature contributions"
        SPECTROGRAM = "spectrogram", "Spectrograms"
        BOTH = "both", "Features and spectrograms"
        TAGS = "tags", "Shared tags"

    class Recommender(models.TextChoices):
        FEATURES = "features", "Audio features (standardised cosine)"
        TAGGER = "tagger", "musicnn tagger embeddings"
        CNN = "cnn", "CNN trained on the catalog"

    #: The explanations each recommender can give truthfully: an explanation must be true of the
    #: model that made the recommendation. Spectrograms come from every one (segment features,
    #: occlusion of the tagger, the CNN's exact region pairs); the bar chart only decomposes the
    #: feature cosine; the shared tags are the tagger's own outputs.
    TRUTHFUL = {
        Recommender.FEATURES: {Shows.NONE, Shows.FEATURES, Shows.SPECTROGRAM, Shows.BOTH},
        Recommender.TAGGER: {Shows.NONE, Shows.SPECTROGRAM, Shows.TAGS},
        Recommender.CNN: {Shows.NONE, Shows.SPECTROGRAM},
    }

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="conditions")
    slug = models.SlugField()
    name = models.CharField(max_length=100)
    explanation = models.CharField(
        max_length=20, choices=Shows.choices,
        help_text="What participants see beside each recommendation. Preparing it takes milliseconds per pair, "
        "except spectrograms of the tagger's recommendations: occlusion, a tagger pass per covered passage, about "
        "4 s per pair (about 45 min for 80 tracks; the launch checklist gives this catalog's figure).",
    )
    recommender = models.CharField(
        max_length=20, choices=Recommender.choices, default=Recommender.FEATURES,
        help_text="Which model recommends. Conditions of one study normally share it, so they differ only in "
        "the explanation; give them different ones to cross recommender x explanation on purpose.",
    )
    weight = models.PositiveSmallIntegerField(default=1, help_text="Relative share of participants (1 = equal).")
    is_active = models.BooleanField(default=True, help_text="Inactive conditions receive no new participants.")

    class Meta:
        ordering = ["study", "pk"]
        constraints = [models.UniqueConstraint(fields=["study", "slug"], name="unique_condition_slug")]

    def __str__(self):
        return f"{self.study.slug}/{self.slug}"

    def clean(self):
        frozen.row_check(self, open_fields=frozen.CONDITION_OPEN_FIELDS)
        if self.explanation not in self.TRUTHFUL.get(self.recommender, ()):
            allowed = ", ".join(sorted(self.TRUTHFUL[self.recommender]))
            raise ValidationError({"explanation": (
                f"The {self.get_recommender_display()} recommender cannot give a truthful "
                f"“{self.get_explanation_display()}” explanation; choose one of: {allowed}."
            )})

    @property
    def explanation_kinds(self) -> list[str]:
        return {
            self.Shows.NONE: [],
            self.Shows.FEATURES: [Explanation.Kind.FEATURES],
            self.Shows.SPECTROGRAM: [Explanation.Kind.SPECTROGRAM],
            self.Shows.BOTH: [Explanation.Kind.FEATURES, Explanation.Kind.SPECTROGRAM],
            self.Shows.TAGS: [Explanation.Kind.TAGS],
        }[self.explanation]


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Participant(models.Model):
    class Page(models.TextChoices):
        CONSENT = "consent", "Consent"
        INSTRUCTIONS = "instructions", "Instructions"
        PRE = "pre", "About you (pre-questionnaire)"
        CHOOSE = "choose", "Choosing liked tracks"
        WAIT = "wait", "Waiting for recommendations"
        RATE = "rate", "Rating recommendations"
        QUESTIONNAIRE = "questionnaire", "Questionnaire"
        DONE = "done", "Finished"
        DECLINED = "declined", "Declined consent"

    #: The order participants move through; DECLINED is an exit, not a step. study.flow reads
    #: every next page, section and step number from this list alone.
    FLOW = [
        Page.CONSENT, Page.INSTRUCTIONS, Page.PRE, Page.CHOOSE, Page.WAIT, Page.RATE, Page.QUESTIONNAIRE, Page.DONE,
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


#: The most points a rating scale may have (a 0-100 slider's 101).
MAX_SCALE_POINTS = 101


class Item(models.Model):
    """One question with a numeric scale, asked once per recommendation or once per participant."""

    class Section(models.TextChoices):
        PRE = "pre", "Pre-questionnaire"
        RATING = "rating", "Per recommendation"
        QUESTIONNAIRE = "questionnaire", "Post-questionnaire"

    class Kind(models.TextChoices):
        LIKERT = "likert", "Rating scale"
        CHOICE = "choice", "One of several options"

    class Check(models.TextChoices):
        NONE = "", "Not a check"
        ATTENTION = "attention", "Attention check"
        MANIPULATION = "manipulation", "Manipulation check"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="items")
    code = models.SlugField(max_length=40, help_text="Column name in exports.")
    section = models.CharField(max_length=20, choices=Section.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LIKERT)
    construct = models.CharField(max_length=60, blank=True, help_text="Scale this item belongs to, e.g. trust.")
    text = models.TextField(help_text="The wording participants read (translated where the catalogue has it).")
    published_text = models.TextField(
        blank=True, help_text="The item's wording as its source published it (bank items); empty for the study's own items."
    )
    adapted = models.BooleanField(default=False, help_text="The wording shown is adapted from the published one.")
    bank_scale = models.CharField(
        max_length=40, blank=True, help_text="The bank scale this item comes from (study.questionnaires.SCALES)."
    )
    source = models.CharField(max_length=400, blank=True)
    options = models.JSONField(default=list, blank=True, help_text="Choice items: [[value, label], ...].")
    reverse_coded = models.BooleanField(default=False, help_text="Higher answers mean less of the construct.")
    check_kind = models.CharField(max_length=20, choices=Check.choices, default=Check.NONE, blank=True)
    correct_value = models.SmallIntegerField(
        null=True, blank=True, help_text="Attention check: the instructed answer."
    )
    scale_min = models.SmallIntegerField(default=1)
    scale_max = models.SmallIntegerField(default=7)
    label_min = models.CharField(max_length=60, default="Strongly disagree")
    label_max = models.CharField(max_length=60, default="Strongly agree")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["study", "section", "order", "pk"]
        constraints = [models.UniqueConstraint(fields=["study", "code"], name="unique_item_code")]

    def __str__(self):
        return self.code

    def clean(self):
        if self.kind == self.Kind.LIKERT and not (self.scale_min < self.scale_max <= self.scale_min + MAX_SCALE_POINTS - 1):
            raise ValidationError({"scale_max": (
                f"A rating scale runs from its minimum up to a larger maximum, at most {MAX_SCALE_POINTS} points "
                f"({self.scale_min} to {self.scale_max} is not one)."
            )})
        if self.kind == self.Kind.CHOICE:
            values = [o[0] if isinstance(o, list | tuple) and len(o) == 2 else None for o in self.options or []]
            if (len(values) < 2 or any(type(v) is not int for v in values) or len(set(values)) != len(values)
                    or any(not isinstance(o[1], str) or not o[1].strip() for o in self.options)):
                raise ValidationError({"options": "A choice item needs at least two options [[value, label], ...], "
                                                  "each value a distinct whole number and each label a text."})
        if self.check_kind == self.Check.ATTENTION and self.correct_value not in self.scale:
            raise ValidationError({"correct_value": "An attention check's instructed answer must be one of its scale's values."})
        frozen.row_check(self)

    @property
    def scale(self):
        """The values an answer may take."""
        if self.kind == self.Kind.CHOICE:
            return [value for value, _ in self.options]
        return range(self.scale_min, self.scale_max + 1)


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


class StudyMember(models.Model):
    """Who works on a study, and as what. A researcher sees and does only what their role in a study allows
    (study.access: one place for the rules), on top of the matching Django permission; superusers see all."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner: everything, including the members and deleting a participant's data on request"
        COLLABORATOR = "collaborator", "Collaborator: configure, pilot, watch, export pseudonymous data"
        VIEWER = "viewer", "Viewer: monitor, gallery, analysis and pseudonymous exports"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_memberships")
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.VIEWER)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study", "role", "user"]
        constraints = [models.UniqueConstraint(fields=["study", "user"], name="one_role_per_study_and_user")]

    def __str__(self):
        return f"{self.user} ({self.role}) on {self.study}"
