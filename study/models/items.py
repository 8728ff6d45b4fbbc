"""A study's questions: each item, its scale or options, and the checks among them (part of a study's
configuration; study.models' names)."""
from django.core.exceptions import ValidationError
from django.db import models

from study import frozen
from study.models.configuration import Study

#: The most points a rating scale may have (a 0-100 slider's 101).
MAX_SCALE_POINTS = 101
#: Where an attention check's text names the answer drawn for each participant (Item.correct_value empty).
INSTRUCTED = "{value}"


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
        null=True, blank=True, help_text="Attention check: the instructed answer. Empty: each participant is "
        "instructed to give a value drawn for them from the scale's inner points (the text says {value} where it "
        "goes), recorded and exported, so that answering one end of every scale never passes.",
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
        if self.check_kind == self.Check.ATTENTION and self.correct_value is None:
            if INSTRUCTED not in self.text or len(self.scale) < 3:
                raise ValidationError({"correct_value": (
                    f"Give the instructed answer, or leave it empty and write {INSTRUCTED} in the text (on a scale of "
                    "three or more points): each participant is then asked for a value of their own, never an end."
                )})
        elif self.check_kind == self.Check.ATTENTION and self.correct_value not in self.scale:
            raise ValidationError({"correct_value": "An attention check's instructed answer must be one of its scale's values."})
        frozen.row_check(self)

    @property
    def scale(self):
        """The values an answer may take."""
        if self.kind == self.Kind.CHOICE:
            return [value for value, _ in self.options]
        return range(self.scale_min, self.scale_max + 1)
