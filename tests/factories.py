"""Factories for test data; tracks come with analyses whose features are drawn at random."""
import io

import factory
import numpy as np
import soundfile

from recommender.audio import FEATURE_NAMES
from recommender.models import AudioAnalysis, Catalog, Track
from research import services
from study.models import Study


class CatalogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Catalog
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"catalog-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())


class TrackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Track

    catalog = factory.SubFactory(CatalogFactory)
    external_id = factory.Sequence(lambda n: f"t{n:05d}")
    title = factory.Sequence(lambda n: f"Song {n}")
    artist = factory.Sequence(lambda n: f"Artist {n % 7}")
    style = "pop"


def random_features(rng: np.random.Generator) -> dict[str, float]:
    values = rng.normal(size=len(FEATURE_NAMES))
    values[0] = rng.uniform(60, 200)  # tempo in BPM, on a far larger scale than the rest
    return dict(zip(FEATURE_NAMES, map(float, values)))


class AnalysedTrackFactory(TrackFactory):
    class Meta:
        skip_postgeneration_save = True

    status = Track.Status.ANALYSED

    @factory.post_generation
    def analysis(track, create, extracted, **kwargs):
        rng = np.random.default_rng(track.pk)
        AudioAnalysis.objects.create(
            track=track, audio_sha256=f"{track.pk:064d}", features=extracted or random_features(rng), mel="mel/none.npz"
        )


def make_study(catalog: Catalog, conditions=(("features", "features"), ("spectrogram", "spectrogram")), **options) -> Study:
    # Tests name participants "pid-1" and the like; tests of the id check use the default pattern.
    options.setdefault("pid_pattern", r"[A-Za-z0-9_-]{1,200}")
    # The journey most tests walk: without the understanding tests (a new study's default holds six trials in
    # each; tests/study/test_understanding_tests.py walks them, and the browser tests take them in Chromium).
    options.setdefault("simulation_trials", 0)
    return services.study_create(
        slug=options.pop("slug", "pilot"),
        title="Pilot study",
        catalog=catalog,
        consent_text="You agree to take part.",
        conditions=[(slug, slug.title(), explanation, *weight) for slug, explanation, *weight in conditions],
        **options,
    )


def tone_bytes(seconds: float = 2.0, freq: float = 440.0, fmt: str = "WAV") -> bytes:
    """An encoded sine tone at 22.05 kHz: real audio in any format libsndfile writes."""
    t = np.arange(int(seconds * 22050)) / 22050
    buffer = io.BytesIO()
    soundfile.write(buffer, 0.4 * np.sin(2 * np.pi * freq * t), 22050, format=fmt)
    return buffer.getvalue()
