"""Writes to the catalog: analysing tracks, building indexes, recommending from them."""
from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from django.core.files.base import ContentFile
from django.db import transaction

from recommender import audio, similarity
from recommender.models import AudioAnalysis, Catalog, SimilarityIndex, Track

logger = logging.getLogger(__name__)


def _file_sha256(field_file) -> str:
    digest = hashlib.sha256()
    with field_file.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def track_analyse(*, track: Track, force: bool = False) -> Track:
    """Analyse one track's audio; a bad file marks this track failed and raises nothing.

    Safe to run twice: an analysis of the same audio bytes (same SHA-256) is kept.
    """
    if not track.audio:
        return _track_fail(track, "no audio file attached")
    try:
        sha = _file_sha256(track.audio)
    except OSError as exc:
        return _track_fail(track, f"audio file unreadable: {exc.strerror or exc}")

    existing = AudioAnalysis.objects.filter(track=track, audio_sha256=sha).first()
    if existing and not force:
        if track.status != Track.Status.ANALYSED:
            Track.objects.filter(pk=track.pk).update(status=Track.Status.ANALYSED, error="")
            track.status, track.error = Track.Status.ANALYSED, ""
        return track

    try:
        result = audio.analyse_file(track.audio.path)
    except audio.AudioDecodeError as exc:
        return _track_fail(track, str(exc))

    with transaction.atomic():
        analysis, _ = AudioAnalysis.objects.select_for_update().get_or_create(
            track=track, defaults={"audio_sha256": sha, "features": result.features}
        )
        analysis.audio_sha256 = sha
        analysis.features = result.features
        # Named by audio hash: the same clip analysed twice writes one file.
        if analysis.mel.name != f"mel/{sha}.npz":
            if analysis.mel:
                analysis.mel.delete(save=False)
            analysis.mel.save(f"{sha}.npz", ContentFile(audio.mel_to_bytes(result.mel_db)), save=False)
        analysis.save()
        track.status, track.error, track.duration_s = Track.Status.ANALYSED, "", round(result.duration_s, 2)
        track.save(update_fields=["status", "error", "duration_s"])
    return track


def _track_fail(track: Track, reason: str) -> Track:
    logger.warning("Analysis of track %s failed: %s", track.pk, reason)
    track.status, track.error = Track.Status.FAILED, reason
    track.save(update_fields=["status", "error"])
    return track


def track_mel(track: Track) -> np.ndarray:
    with track.analysis.mel.open("rb") as handle:
        return audio.mel_from_bytes(handle.read())


def index_build(*, catalog: Catalog) -> SimilarityIndex | None:
    """Build the next version of a catalog's feature index from every analysed track.

    Safe to run twice: when nothing changed since the latest version, that version is returned.
    None when fewer than two tracks are analysed, since similarity needs a pair.
    """
    analyses = list(
        AudioAnalysis.objects.filter(track__catalog=catalog, track__status=Track.Status.ANALYSED)
        .order_by("track_id")
        .values_list("track_id", "features")
    )
    if len(analyses) < 2:
        logger.warning("Catalog %s has %d analysed tracks; no index built", catalog.slug, len(analyses))
        return None
    track_ids = [track_id for track_id, _ in analyses]
    raw = np.array([[features[name] for name in audio.FEATURE_NAMES] for _, features in analyses])
    source_sha256 = hashlib.sha256(np.array(track_ids).tobytes() + raw.tobytes()).hexdigest()
    with transaction.atomic():
        # Lock the catalog so two builds at once cannot take the same version number.
        Catalog.objects.select_for_update().get(pk=catalog.pk)
        latest = catalog_latest_index(catalog)
        if latest is not None and latest.source_sha256 == source_sha256:
            return latest
        index = similarity.build_index(raw)
        buffer = io.BytesIO()
        np.save(buffer, index.vectors, allow_pickle=False)
        return SimilarityIndex.objects.create(
            catalog=catalog,
            version=(latest.version if latest else 0) + 1,
            source_sha256=source_sha256,
            feature_names=audio.FEATURE_NAMES,
            track_ids=track_ids,
            mean=index.mean.tolist(),
            std=index.std.tolist(),
            vectors=buffer.getvalue(),
        )


@dataclass(frozen=True)
class LoadedIndex:
    """An index held in memory: the matrix, and the way between rows and track ids."""

    index_id: int
    vectors: np.ndarray
    track_ids: list[int]
    row_of: dict[int, int]

    def vector(self, track_id: int) -> np.ndarray:
        return self.vectors[self.row_of[track_id]]


@lru_cache(maxsize=8)
def load_index(index_id: int) -> LoadedIndex:
    """Indexes never change once built, so each version is read from the database once per process."""
    row = SimilarityIndex.objects.get(pk=index_id)
    track_ids = list(row.track_ids)
    return LoadedIndex(
        index_id=row.pk,
        vectors=row.matrix(),
        track_ids=track_ids,
        row_of={track_id: i for i, track_id in enumerate(track_ids)},
    )


@dataclass(frozen=True)
class Recommendation:
    track_id: int
    seed_track_id: int
    score: float


def recommend(*, index: SimilarityIndex, liked_track_ids: list[int], k: int) -> list[Recommendation]:
    """Top-k tracks for a set of liked tracks, skipping the liked ones and copies of them."""
    loaded = load_index(index.pk)
    liked_rows = [loaded.row_of[t] for t in liked_track_ids if t in loaded.row_of]
    if not liked_rows:
        raise ValueError("none of the liked tracks is in the index")
    # The same song listed twice (another id, same title and artist) is no discovery.
    liked = Track.objects.filter(pk__in=liked_track_ids).values_list("title", "artist")
    copies = Track.objects.filter(catalog=index.catalog_id, pk__in=loaded.track_ids)
    duplicate_ids = set()
    for title, artist in liked:
        duplicate_ids |= set(
            copies.filter(title__iexact=title, artist__iexact=artist).values_list("pk", flat=True)
        )
    exclude = {loaded.row_of[t] for t in duplicate_ids if t in loaded.row_of}
    matches = similarity.recommend(loaded.vectors, liked_rows, k, exclude_rows=exclude)
    return [
        Recommendation(
            track_id=loaded.track_ids[m.row], seed_track_id=loaded.track_ids[m.seed_row], score=m.score
        )
        for m in matches
    ]


def catalog_latest_index(catalog: Catalog) -> SimilarityIndex | None:
    return catalog.indexes.order_by("-version").first()


ANALYSIS_CHUNK = 8


def catalog_analyse(*, catalog: Catalog, only_pending: bool = True) -> int:
    """Analyse a catalog's tracks in chunks on the workers, then build its index once all are done.

    Returns how many tracks were sent for analysis.
    """
    from celery import chord

    from recommender.tasks import analyse_tracks, build_feature_index

    tracks = catalog.tracks.order_by("pk")
    if only_pending:
        tracks = tracks.exclude(status=Track.Status.ANALYSED)
    ids = list(tracks.values_list("pk", flat=True))
    chunks = [ids[i : i + ANALYSIS_CHUNK] for i in range(0, len(ids), ANALYSIS_CHUNK)]
    if chunks:
        chord(analyse_tracks.si(chunk) for chunk in chunks)(build_feature_index.si(catalog.pk))
    else:
        build_feature_index.delay(catalog.pk)
    return len(ids)


def catalog_create_demo(*, slug: str, per_style: int, seconds: float, seed: int, progress=None) -> tuple[Catalog, int]:
    """Synthesise the demo catalog's clips as MP3 files; tracks that exist already are kept.

    Returns the catalog and how many tracks were created.
    """
    import soundfile

    from recommender import demo

    catalog, _ = Catalog.objects.get_or_create(
        slug=slug,
        defaults={"name": "Demo catalog", "description": "Synthesised clips in six styles, made by make_demo_catalog."},
    )
    existing = set(catalog.tracks.values_list("external_id", flat=True))
    created = 0
    for index, style in demo.clip_plan(per_style):
        external_id = f"demo-{seed}-{index:03d}"
        if external_id not in existing:
            clip = demo.synthesise_clip(index, style, seed, seconds)
            buffer = io.BytesIO()
            soundfile.write(buffer, clip.signal, demo.SR, format="MP3")
            track = Track(catalog=catalog, external_id=external_id, title=clip.title, artist=clip.artist, style=style)
            track.audio.save(f"{external_id}.mp3", ContentFile(buffer.getvalue()), save=False)
            track.save()
            created += 1
        if progress:
            progress()
    return catalog, created
