"""A study's preregistration: what it tests, how, on whom, decided before the first participant. Opening the
study freezes it with the configuration's hash; a later change is an amendment, logged with its date
(research.preregistration writes the document, the nine questions of AsPredicted)."""
from django.db import models

from study.models.configuration import Study


def default_stopping_rule() -> str:
    return ("Data collection stops when every condition has its target number of analysed participants (the "
            "study's target per condition); nobody's data is looked at for the confirmatory test before then.")


class Preregistration(models.Model):
    class Direction(models.TextChoices):
        GREATER = "greater", "Each condition scores higher than the reference (one-sided)"
        LESS = "less", "Each condition scores lower than the reference (one-sided)"
        TWO_SIDED = "two-sided", "The conditions differ from the reference (two-sided)"

    class Test(models.TextChoices):
        WELCH = "welch", "Welch's t test on participants' scale scores"
        MANN_WHITNEY = "mann_whitney", "Mann–Whitney U test on participants' scale scores"

    study = models.OneToOneField(Study, on_delete=models.CASCADE, related_name="preregistration")
    hypothesis = models.TextField(
        help_text="The main question and the hypotheses, with their direction (AsPredicted question 2).",
    )
    primary_outcomes = models.JSONField(
        default=list, help_text='The primary outcome(s), by the analysis\'s scale names, e.g. ["perceived_transparency"] '
        'or a rating\'s mean, "understand_why_mean_rating", or "understanding" (post-test accuracy of the '
        "understanding tests). Holm's correction runs across them and the conditions compared with the reference.",
    )
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.TWO_SIDED)
    test = models.CharField(max_length=14, choices=Test.choices, default=Test.WELCH)
    stopping_rule = models.TextField(default=default_stopping_rule)
    other = models.TextField(blank=True, help_text="Anything else to preregister (AsPredicted question 8).")
    frozen_at = models.DateTimeField(null=True, blank=True, editable=False,
                                     help_text="When the study opened: the plan as it stood then is the preregistration.")
    frozen_configuration_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    frozen_document = models.TextField(blank=True, editable=False, help_text="The document as frozen (Markdown).")
    data_before_freeze = models.BooleanField(
        default=False, editable=False, help_text="Non-pilot participants had entered before the plan was frozen.",
    )

    def __str__(self):
        return f"Preregistration of {self.study}"
