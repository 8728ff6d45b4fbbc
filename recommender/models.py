import io

import numpy as np
from django.db import models
from django.utils.text import slugify


class Catalog(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


def audio_upload_path(track, filename):
    return f"catalog/{track.catalog.slug}/{slugify(track.external_id)}-{filename}"


class Track(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending analysis"
        ANALYSED = "analysed", "Analysed"
        FAILED = "failed", "Analysis failed"

    catalog = models.ForeignKey(Catalog, on_delete=models.CASCADE, related_name="tracks")
    external_id = models.CharField(max_length=100, help_text="The catalog's own id for this track.")
    title = models.CharField(max_length=300)
    artist = models.CharField(max_length=300, blank=True)
    artists = models.JSONField(default=list, blank=True, help_text="Every credited artist, in the catalog's order.")
    album = models.CharField(max_length=300, blank=True)
    style = models.CharField(max_length=100, blank=True, help_text="Main genre or style label.")
    genres = models.JSONField(default=list, blank=True, help_text="Every genre the catalog lists the track under.")
    popularity = models.PositiveSmallIntegerField(null=True, blank=True)
    explicit = models.BooleanField(null=True, blank=True)
    features = models.JSONField(
        default=dict, blank=True, help_text="Features the catalog itself provides (e.g. Spotify's energy, tempo)."
    )
    preview_url = models.URLField(max_length=500, blank=True, help_text="Where a 30-second clip can be fetched.")
    license = models.CharField(
        max_length=100, blank=True, help_text="The clip's licence (e.g. CC BY 4.0): participants see it beside the "
        "player, with the attribution, and the export carries it.",
    )
    attribution = models.CharField(max_length=300, blank=True, help_text="How the clip's author asks to be credited.")
    audio = models.FileField(upload_to=audio_upload_path, max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    error = models.TextField(blank=True, help_text="Why analysis failed, for a person.")
    duration_s = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["catalog", "artist", "title"]
        constraints = [
            models.UniqueConstraint(fields=["catalog", "external_id"], name="unique_track_per_catalog"),
        ]

    def __str__(self):
        return f"{self.title} – {self.artist}" if self.artist else self.title


class AudioAnalysis(models.Model):
    """What librosa found in one track's audio, keyed by the audio's hash so re-runs are free."""

    track = models.OneToOneField(Track, on_delete=models.CASCADE, related_name="analysis")
    audio_sha256 = models.CharField(max_length=64)
    features = models.JSONField(help_text="Feature name → value, in recommender.audio.FEATURE_NAMES order.")
    mel = models.FileField(upload_to="mel/", max_length=200, help_text="float16 dB mel spectrogram (.npz).")
    segments = models.JSONField(
        null=True, blank=True,
        help_text="The same features per 3-second passage: {seconds, names, values}; empty for older analyses.",
    )
    log_mel = models.FileField(
        upload_to="logmel/", max_length=200, blank=True,
        help_text="What the networks read: 16 kHz, 96-band log-mel (recommender.cnn.frontend), float16 .npy, "
        "computed once on first use.",
    )
    analysed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "audio analyses"

    def __str__(self):
        return f"Analysis of {self.track}"


class AudioModel(models.Model):
    """A network that turns clips into embeddings: the shipped musicnn tagger, or a CNN trained on one catalog.

    Named by the SHA-256 of its weights file; every index built from its embeddings, and so every
    recommendation, records which one it was.
    """

    class Kind(models.TextChoices):
        TAGGER = "tagger", "musicnn tagger (pretrained on MagnaTagATune, the Million Song Dataset, or both)"
        CNN = "cnn", "CNN trained on the catalog's audio (contrastive)"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    catalog = models.ForeignKey(
        Catalog, on_delete=models.CASCADE, null=True, blank=True, related_name="audio_models",
        help_text="The catalog a CNN was trained on; empty for the tagger, which every catalog shares.",
    )
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the weights file.")
    file = models.FileField(upload_to="models/", max_length=200, blank=True, help_text="A trained CNN's weights.")
    loss_curve = models.FileField(upload_to="models/", max_length=200, blank=True, help_text="Training loss (PNG).")
    training = models.JSONField(
        default=dict, blank=True, help_text="How a CNN was trained: settings, seed, tracks, steps, seconds, losses."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["catalog", "sha256"], condition=models.Q(catalog__isnull=False), name="one_model_per_catalog_and_hash"
            ),
            models.UniqueConstraint(
                fields=["kind", "sha256"], condition=models.Q(catalog__isnull=True), name="one_shared_model_per_hash"
            ),
        ]

    def __str__(self):
        where = f" ({self.catalog})" if self.catalog_id else ""
        return f"{self.get_kind_display()}{where} {self.sha256[:12]}"


class TrackEmbedding(models.Model):
    """One network's view of one track: its embedding and, for the tagger, its 50 tag probabilities."""

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="embeddings")
    model = models.ForeignKey(AudioModel, on_delete=models.CASCADE, related_name="embeddings")
    vector = models.BinaryField(help_text="float32 .npy: the clip's embedding.")
    tags = models.JSONField(null=True, blank=True, help_text="Tagger only: tag probabilities, in the model's tag order.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["track", "model"], name="one_embedding_per_track_and_model")]

    def __str__(self):
        return f"{self.model.kind} embedding of {self.track}"

    def array(self) -> np.ndarray:
        return np.load(io.BytesIO(bytes(self.vector)), allow_pickle=False)


class SimilarityIndex(models.Model):
    """One immutable build of a catalog's index; recommendations point at the build they came from."""

    class FeatureSet(models.TextChoices):
        AUDIO = "audio", "Audio analysis (librosa)"
        CATALOG = "catalog", "Catalog-provided features (e.g. Spotify)"
        TAGGER = "tagger", "musicnn tagger embeddings (MagnaTagATune)"
        TAGGER_MSD = "tagger_msd", "musicnn tagger embeddings (Million Song Dataset)"
        TAGGER_BOTH = "tagger_both", "musicnn tagger embeddings (both taggers, side by side)"
        CNN = "cnn", "Embeddings of the CNN trained on the catalog"

    #: Indexes of hand-made features (the feature recommender); the others hold a network's embeddings.
    FEATURES = (FeatureSet.AUDIO, FeatureSet.CATALOG)
    #: The tagger index of each tag vocabulary a study may choose (recommender.cnn.tagger.VOCABULARIES).
    TAGGERS = {"mtt": FeatureSet.TAGGER, "msd": FeatureSet.TAGGER_MSD, "both": FeatureSet.TAGGER_BOTH}

    catalog = models.ForeignKey(Catalog, on_delete=models.CASCADE, related_name="indexes")
    feature_set = models.CharField(max_length=16, choices=FeatureSet.choices, default=FeatureSet.AUDIO)
    model = models.ForeignKey(
        AudioModel, on_delete=models.PROTECT, null=True, blank=True, related_name="indexes",
        help_text="The network whose embeddings this index holds (tagger and CNN indexes).",
    )
    version = models.PositiveIntegerField()
    feature_names = models.JSONField()
    track_ids = models.JSONField(help_text="Track primary keys, in the row order of the matrix.")
    mean = models.JSONField()
    std = models.JSONField()
    vectors = models.BinaryField(help_text="Unit-length standardised rows, float32 .npy.")
    source_sha256 = models.CharField(
        max_length=64, help_text="Hash of the track ids and raw features it was built from."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["catalog", "-version"]
        get_latest_by = "version"
        verbose_name_plural = "similarity indexes"
        constraints = [
            models.UniqueConstraint(fields=["catalog", "version"], name="unique_index_version"),
        ]

    def __str__(self):
        return f"{self.catalog} {self.feature_set} index v{self.version} ({len(self.track_ids)} tracks)"

    def matrix(self) -> np.ndarray:
        return np.load(io.BytesIO(bytes(self.vectors)), allow_pickle=False)
