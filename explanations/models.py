from django.db import models

from recommender.models import SimilarityIndex, Track


class Spectrogram(models.Model):
    """A track's mel spectrogram as a picture, drawn once per clip and shared by every explanation showing it.

    It holds no text: titles, axes, outlines and their numbers are drawn by the page, in the participant's
    language, over this picture.
    """

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="+")
    content_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the clip's audio and the drawing's version.")
    image = models.FileField(upload_to="spectrograms/", max_length=200)
    pixels = models.JSONField(default=list, help_text="[width, height] of the image.")
    seconds = models.FloatField(help_text="The clip's length: the picture's time axis runs from 0 to this.")
    top_hz = models.FloatField(help_text="The highest frequency the picture shows (its top edge).")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Spectrogram of {self.track}"


class Explanation(models.Model):
    """Why ``track`` follows from ``seed_track``, as the numbers and words a template draws; shared by everyone
    who sees it.

    ``data["drawing"]`` is what the page draws (bars, outlines, tags, their printed numbers) in ``language``;
    the rest of ``data`` is every number it was computed from, for audit and export. ``content_hash`` names
    the inputs and the template's version, so the record says exactly what a participant saw.
    """

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
        max_length=64, unique=True, help_text="SHA-256 of the template's version and every input."
    )
    # Figures drawn as PNG files by earlier versions; kept so the record of what was shown stays readable.
    image = models.FileField(upload_to="explanations/", max_length=200, blank=True)
    image_narrow = models.FileField(
        upload_to="explanations/", max_length=200, blank=True, help_text="The same figure laid out for phones, if it differs."
    )
    liked_spectrogram = models.ForeignKey(
        Spectrogram, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recommended_spectrogram = models.ForeignKey(
        Spectrogram, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    text = models.TextField(blank=True)
    alt_text = models.TextField(blank=True, help_text="The whole explanation in words, for exports and the gallery.")
    data = models.JSONField(default=dict, blank=True, help_text="The numbers drawn, for audit and export.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.language}): {self.seed_track} → {self.track}"

    @property
    def drawing(self) -> dict:
        return self.data.get("drawing") or {}

    @property
    def panels(self) -> list[dict]:
        """The spectrogram drawing's panels, each with its track's picture (liked first)."""
        pictures = (self.liked_spectrogram, self.recommended_spectrogram)
        return [{**panel, "picture": picture} for panel, picture in zip(self.drawing.get("panels", []), pictures)]
