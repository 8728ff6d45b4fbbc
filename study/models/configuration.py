"""What a study is: its settings, texts in other languages, conditions and who works on it (its questions: items.py).
What participants did is in study.models.record; both are study.models' names."""
import secrets
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from explanations.models import Explanation
from recommender.models import Catalog
from study import frozen
from study.pid_patterns import validate_pid_pattern


def new_seed() -> int:
    return secrets.randbits(62)


#: The exclusion rules a study may choose (research.analysis.RULES).
EXCLUSION_RULES = ("attention", "manipulation", "straightlining", "too_fast")


def default_exclusion_rules() -> list[str]:
    return ["attention", "too_fast"]


def default_simulation_bands() -> list[list[float]]:
    """Easy, medium and hard understanding-test trials: the two candidates' scores differ by this much."""
    return [[0.3, 2.0], [0.15, 0.3], [0.05, 0.15]]


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
        max_length=10, choices=State.choices, default=State.DRAFT,
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

    pinned_indexes = models.JSONField(
        default=dict, blank=True, editable=False,
        help_text="The index each recommender read when the study left draft ({feature set: index id}): a model "
        "trained or a catalog analysed later does not change what its participants are recommended.",
    )
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
    simulation_trials = models.PositiveSmallIntegerField(
        "trials per test", default=6, help_text="Understanding tests (forward simulation): trials in each test (0: no tests). A trial "
        "shows one of the participant's liked tracks and two tracks of the pool, without any explanation, and asks "
        "which of the two the system would recommend; the model's own scores say which is right. Accuracy before "
        "and after the recommendations measures what participants understood, not only what they say.",
    )
    simulation_pretest = models.BooleanField(
        "pre-test", default=True, help_text="Understanding tests: also test before the participant has seen any explanation "
        "(right after choosing liked tracks, while the recommendations are prepared), so each condition's "
        "improvement can be measured. Off: only the test after rating.",
    )
    simulation_bands = models.JSONField(
        "difficulty bands", default=default_simulation_bands, blank=True,
        help_text="Understanding tests: difficulty bands, each [lowest, highest) difference between the two "
        "candidates' scores (the recommender's similarity, typically -1 to 1). Trials take the bands in turn, so "
        "every test holds each difficulty equally often; a narrow margin is hard, a wide one easy.",
    )
    simulation_base_accuracy = models.FloatField(
        "expected post-test accuracy", default=0.6, help_text="Power analysis of the understanding tests: the post-test accuracy expected in the "
        "reference condition (guessing is 0.5).",
    )
    simulation_difference = models.FloatField(
        "difference to detect", default=0.15, help_text="Power analysis of the understanding tests: the smallest difference in post-test "
        "accuracy between two conditions worth detecting (0.15: e.g. 60 % vs 75 %).",
    )
    exclusion_rules = models.JSONField(
        default=default_exclusion_rules, blank=True,
        help_text='Who the analysis leaves out, besides pilots and those who did not finish: any of "attention" '
        '(failed the attention check), "manipulation" (named another explanation than their condition showed), '
        '"straightlining" (one answer to every post-questionnaire rating item) and "too_fast" (faster than the '
        'minimum duration). Decide before launch; every change is in the audit log with its date.',
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

    def save(self, *args, **kwargs):
        if self.state == self.State.DRAFT:  # a draft reads the newest indexes; they are pinned again when it leaves
            self.pinned_indexes = {}
        super().save(*args, **kwargs)

    def clean(self):
        bands = self.simulation_bands
        if not (isinstance(bands, list) and bands and all(
            isinstance(b, list) and len(b) == 2 and all(type(v) in (int, float) for v in b) and 0 < b[0] < b[1] <= 2
            for b in bands
        )):
            raise ValidationError({"simulation_bands": (
                "Give at least one band [lowest, highest), e.g. [[0.3, 2.0], [0.15, 0.3], [0.05, 0.15]]: each "
                "a difference of two scores, above 0 and at most 2, the lowest below the highest."
            )})
        if not (0 < self.simulation_base_accuracy < 1 and 0 < self.simulation_difference < 1 - self.simulation_base_accuracy):
            raise ValidationError({"simulation_difference": "The expected accuracy and the difference to detect must "
                                                            "leave the other condition's accuracy below 1."})
        rules = self.exclusion_rules
        if not (isinstance(rules, list) and all(isinstance(r, str) for r in rules) and set(rules) <= set(EXCLUSION_RULES)
                and len(set(rules)) == len(rules)):
            raise ValidationError({"exclusion_rules": f"A list of exclusion rules, each one of: {', '.join(EXCLUSION_RULES)}."})
        if self.simulation_trials > 40:
            raise ValidationError({"simulation_trials": "At most 40 trials per test (each asks for two clips)."})
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
