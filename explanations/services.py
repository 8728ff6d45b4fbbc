"""Rendering explanations once and reusing them: files are named by the hash of their inputs."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from django.core.files.base import ContentFile
from django.utils.translation import gettext_noop
from django.db import IntegrityError, transaction

from config.jobs import enqueue
from explanations import charts, regions
from explanations.models import Explanation
from recommender import audio, similarity
from recommender.models import SimilarityIndex, Track
from recommender.services import load_index, track_mel

# Bump when a figure's look changes, so cached files are rendered anew.
RENDERER_VERSION = {Explanation.Kind.FEATURES: 6, Explanation.Kind.SPECTROGRAM: 6}


def _hash(kind: str, payload: dict) -> str:
    body = json.dumps({"kind": kind, "renderer": RENDERER_VERSION[kind], **payload}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def _raw_features(index: SimilarityIndex, track: Track) -> dict[str, float]:
    """The unscaled values the index was built from: audio analysis, or the catalog's own features."""
    return track.analysis.features if index.feature_set == SimilarityIndex.FeatureSet.AUDIO else track.features


def feature_contributions(*, index: SimilarityIndex, seed_track: Track, track: Track) -> dict:
    """The numbers behind a feature explanation: per-feature shares of the cosine, and both tracks' raw values."""
    loaded = load_index(index.pk)
    shares = similarity.contributions(loaded.vector(seed_track.pk), loaded.vector(track.pk))
    return {
        "features": list(index.feature_names),
        "contributions": [round(float(v), 6) for v in shares],
        "score": float(shares.sum()),
        "seed_values": [_raw_features(index, seed_track)[n] for n in index.feature_names],
        "track_values": [_raw_features(index, track)[n] for n in index.feature_names],
    }


class Rendered(NamedTuple):
    images: dict[str, bytes]  # model field -> PNG
    text: str
    alt: str
    data: dict


def _render_features(index: SimilarityIndex, seed_track: Track, track: Track) -> tuple[str, Callable[[], Rendered]]:
    numbers = feature_contributions(index=index, seed_track=seed_track, track=track)
    payload = {"index": index.pk, "seed": seed_track.pk, "track": track.pk, "seed_title": seed_track.title, **numbers}

    def render():
        shares = np.array(numbers["contributions"])
        bars = charts.chart_bars(numbers["features"], shares)
        liked = dict(zip(numbers["features"], numbers["seed_values"]))
        recommended = dict(zip(numbers["features"], numbers["track_values"]))
        values = [charts.bar_values(bar, liked, recommended) for bar in bars]
        text = charts.sentence(bars, seed_track.title)
        alt = f"Bar chart of what makes the tracks alike (similarity {numbers['score']:.2f}). " + "; ".join(
            f"{bar.label}: {bar.contribution:+.2f}" + (f" ({value})" if value else "") for bar, value in zip(bars, values)
        )
        images = {
            "image": charts.contribution_chart(bars, numbers["score"], values),
            "image_narrow": charts.contribution_chart(bars, numbers["score"], values, narrow=True),
        }
        return Rendered(images, text, alt, numbers)

    return _hash(Explanation.Kind.FEATURES, payload), render


# Marked for translation: the page shows it in the participant's language.
SPECTROGRAM_CAPTION = gettext_noop(
    "How to read this: each picture is one track, named above it; time runs left to right, low to high "
    "pitch bottom to top. Brighter = louder. Outlined = where the two tracks sound most alike "
    "(A matches A, B matches B)."
)


def _render_spectrogram(seed_track: Track, track: Track) -> tuple[str, Callable[[], Rendered]]:
    payload = {
        "seed_audio": seed_track.analysis.audio_sha256,
        "track_audio": track.analysis.audio_sha256,
        "seed_title": seed_track.title,
        "track_title": track.title,
    }

    def render():
        # Spectrograms are read and compared only here: a cached explanation needs neither.
        seed_mel, track_mel_db = track_mel(seed_track), track_mel(track)
        seconds_per_frame = audio.frame_seconds()
        matched = regions.matching_regions(
            seed_mel, track_mel_db, frequencies=audio.mel_frequencies(), seconds_per_frame=seconds_per_frame
        )
        images = {
            field: charts.spectrogram_pair(
                seed_mel,
                track_mel_db,
                frequencies=audio.mel_frequencies(),
                seconds_per_frame=seconds_per_frame,
                liked_title=seed_track.title,
                recommended_title=track.title,
                regions=matched,
                layout=layout,
            )
            for field, layout in (("image", charts.WIDE), ("image_narrow", charts.STACKED))
        }
        where = "; ".join(
            f"{r.label}: {r.liked[0]:.0f}–{r.liked[1]:.0f} s of the liked track and "
            f"{r.recommended[0]:.0f}–{r.recommended[1]:.0f} s of the recommendation" for r in matched
        )
        alt = (
            f"Two spectrograms: “{seed_track.title}”, which you liked, and the recommended "
            f"“{track.title}”, showing how loud each pitch range is over time. Most alike: {where}."
        )
        # What the page needs for its play head, and what an audit needs to check the outlines.
        data = {
            "panels": charts.WIDE.panels,
            "panels_narrow": charts.STACKED.panels,
            "durations": [seed_mel.shape[1] * seconds_per_frame, track_mel_db.shape[1] * seconds_per_frame],
            "regions": [dataclasses.asdict(region) for region in matched],
        }
        return Rendered(images, SPECTROGRAM_CAPTION, alt, data)

    return _hash(Explanation.Kind.SPECTROGRAM, payload), render


def explanation_get_or_render(*, kind: str, seed_track: Track, track: Track, index: SimilarityIndex) -> Explanation:
    """The explanation for this pair, rendered only if no identical one exists yet."""
    if kind == Explanation.Kind.FEATURES:
        content_hash, render = _render_features(index, seed_track, track)
    elif kind == Explanation.Kind.SPECTROGRAM:
        content_hash, render = _render_spectrogram(seed_track, track)
    else:
        raise ValueError(f"unknown explanation kind {kind!r}")

    existing = Explanation.objects.filter(content_hash=content_hash).first()
    if existing and existing.image and existing.image.storage.exists(existing.image.name):
        return existing
    rendered = render()
    explanation = existing or Explanation(
        kind=kind, seed_track=seed_track, track=track, index=index,
        content_hash=content_hash, text=rendered.text, alt_text=rendered.alt, data=rendered.data,
    )
    # Named by content hash; a row that outlived its files (media wiped) gets them drawn again.
    for field, png in rendered.images.items():
        suffix = "" if field == "image" else "-narrow"
        getattr(explanation, field).save(f"{content_hash}{suffix}.png", ContentFile(png), save=False)
    if existing:
        existing.save()
        return existing
    try:
        with transaction.atomic():
            explanation.save()
    except IntegrityError:
        # Another worker rendered the same pair meanwhile; its row (and identical file) wins.
        return Explanation.objects.get(content_hash=content_hash)
    return explanation


RENDER_CHUNK = 16


def pool_pairs(*, index: SimilarityIndex, per_seed: int) -> list[tuple[int, int]]:
    """(liked, recommended) track pairs a participant can be shown: each track with its nearest neighbours.

    A track recommended for several liked tracks is always among the nearest of the
    one it is explained by, unless liked tracks or their copies pushed it down the
    list; ``per_seed`` = recommendations + most liked tracks covers that.
    """
    loaded = load_index(index.pk)
    pairs = []
    for row, seed_id in enumerate(loaded.track_ids):
        for match in similarity.recommend(loaded.vectors, [row], per_seed):
            pairs.append((int(seed_id), int(loaded.track_ids[match.row])))
    return pairs


def explanations_prerender(*, index: SimilarityIndex, kinds: list[str], per_seed: int) -> int:
    """Render every explanation of the pool in Celery jobs, so no participant waits for a figure.

    Already-rendered figures are skipped by their content hash. Returns how many pairs were sent.
    """
    from explanations.tasks import render_explanations

    if not kinds:
        return 0
    pairs = pool_pairs(index=index, per_seed=per_seed)
    for start in range(0, len(pairs), RENDER_CHUNK):
        enqueue(render_explanations, index.pk, kinds, pairs[start : start + RENDER_CHUNK])
    return len(pairs)
