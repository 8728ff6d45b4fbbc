from django.db import models

from recommender.models import SimilarityIndex, Track


class Explanation(models.Model):
    """A rendered explanation of why ``track`` follows from ``seed_track``; shared by everyone who sees it."""

    class Kind(models.TextChoices):
        FEATURES = "features", "Feature contributions"
        SPECTROGRAM = "spectrogram", "Spectrograms"
        TAGS = "tags", "Shared tags (musicnn tagger)"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    seed_track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="+")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="+")
    index = models.ForeignKey(SimilarityIndex, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    language = models.CharField(
        max_length=10, default="en", help_text="Language of every text in the figure, caption and alt text."
    )
    content_hash = models.CharField(
        max_length=64, unique=True, help_text="SHA-256 of the renderer version and every input."
    )
    image = models.FileField(upload_to="explanations/", max_length=200)
    image_narrow = models.FileField(
        upload_to="explanations/", max_length=200, blank=True, help_text="The same figure laid out for phones, if it differs."
    )
    text = models.TextField(blank=True)
    alt_text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True, help_text="The numbers drawn, for audit and export.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.language}): {self.seed_track} → {self.track}"
