"""Writes to the catalog: analysing tracks, building indexes, recommending from them."""
from __future__ import annotations

import hashlib
import io
import logging
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.text import slugify

from config.jobs import enqueue, enqueue_chord, job
from recommender import audio, csv_formats, fetch, similarity
from recommender.models import AudioAnalysis, Catalog, SimilarityIndex, Track

logger = logging.getLogger(__name__)


def track_analyse(*, track: Track, force: bool = False, analysed=None) -> Track:
    """Analyse one track's audio; a bad file marks this track failed and raises nothing.

    Safe to run twice: an analysis of the same audio bytes (same SHA-256) is kept. ``analysed``: the result of
    ``analyse_track_file(track.audio.path)`` computed elsewhere (a process pool), an Analysis or the
    AudioDecodeError it raised, stored here as if computed here.
    """
    if not track.audio:
        return _track_fail(track, "no audio file attached")
    try:
        with track.audio.open("rb") as handle:
            sha = audio.file_sha256(handle)
    except OSError as exc:
        return _track_fail(track, f"audio file unreadable: {exc.strerror or exc}")

    existing = AudioAnalysis.objects.filter(track=track, audio_sha256=sha).first()
    if existing and not force:
        if track.status != Track.Status.ANALYSED:
            Track.objects.filter(pk=track.pk).update(status=Track.Status.ANALYSED, error="")
            track.status, track.error = Track.Status.ANALYSED, ""
        return track

    result = analysed if analysed is not None else analyse_track_file(track.audio.path)
    if isinstance(result, audio.AudioDecodeError):
        return _track_fail(track, str(result))

    with transaction.atomic():
        analysis, _ = AudioAnalysis.objects.select_for_update().get_or_create(
            track=track, defaults={"audio_sha256": sha, "features": result.features}
        )
        analysis.audio_sha256 = sha
        analysis.features = result.features
        analysis.segments = audio.segments_to_json(result.segments)
        # Named by audio hash: the same clip analysed twice writes one file.
        if analysis.mel.name != f"mel/{sha}.npz":
            if analysis.mel:
                analysis.mel.delete(save=False)
            analysis.mel.save(f"{sha}.npz", ContentFile(audio.mel_to_bytes(result.mel_db)), save=False)
        analysis.save()
        track.status, track.error, track.duration_s = Track.Status.ANALYSED, "", round(result.duration_s, 2)
        track.save(update_fields=["status", "error", "duration_s"])
    return track


def analyse_track_file(path: str) -> audio.Analysis | audio.AudioDecodeError:
    """A clip's analysis, or the reason it cannot be decoded (returned, not raised: this runs in pool processes
    too, whose results the caller stores with track_analyse)."""
    try:
        return audio.analyse_file(path)
    except audio.AudioDecodeError as exc:
        return exc


def _track_fail(track: Track, reason: str) -> Track:
    logger.warning("Analysis of track %s failed: %s", track.pk, reason)
    track.status, track.error = Track.Status.FAILED, reason
    track.save(update_fields=["status", "error"])
    return track


def track_mel(track: Track) -> np.ndarray:
    with track.analysis.mel.open("rb") as handle:
        return audio.mel_from_bytes(handle.read())


def _index_source(catalog: Catalog, feature_set: str) -> tuple[list[str], list[int], np.ndarray]:
    """Feature names, track ids (ascending) and the raw matrix an index of this kind is built from."""
    if feature_set == SimilarityIndex.FeatureSet.AUDIO:
        names = audio.FEATURE_NAMES
        rows = (
            AudioAnalysis.objects.filter(track__catalog=catalog, track__status=Track.Status.ANALYSED)
            .order_by("track_id")
            .values_list("track_id", "features")
        )
    else:
        names = csv_formats.SPOTIFY_SIMILARITY_FEATURES
        rows = catalog.tracks.exclude(features={}).order_by("pk").values_list("pk", "features")
    track_ids, matrix = [], []
    for track_id, features in rows.iterator(chunk_size=5000):
        if all(name in features for name in names):
            track_ids.append(track_id)
            matrix.append([features[name] for name in names])
    return names, track_ids, np.array(matrix, dtype=np.float64).reshape(len(track_ids), len(names))


def index_build(*, catalog: Catalog, feature_set: str = SimilarityIndex.FeatureSet.AUDIO) -> SimilarityIndex | None:
    """Build the next version of a catalog's index: of audio analyses, catalog features or a network's embeddings.

    Safe to run twice: when nothing changed since the latest version, that version is returned.
    None when fewer than two tracks have the features, since similarity needs a pair.

    Features and tagger embeddings are z-scored with the catalog's statistics before the cosine
    (dimensions of very different spread otherwise dominate). The trained CNN's unit embeddings are
    centred on the catalog's mean (stored as the index's ``mean``): its cosine then says how much more
    alike two tracks are than a typical pair (about 0), instead of 0.9 for every pair, and its
    explanation's region pairs still sum exactly to it (contrastive.pair_contributions).
    """
    model = None
    if feature_set in SimilarityIndex.FEATURES:
        names, track_ids, raw = _index_source(catalog, feature_set)
    else:
        from recommender import networks

        model, track_ids, raw = networks.embedding_index_source(catalog, feature_set)
        names = [f"{feature_set}_{i}" for i in range(raw.shape[1])] if len(track_ids) else []
    if len(track_ids) < 2:
        logger.warning("Catalog %s has %d tracks with %s features; no index built", catalog.slug, len(track_ids), feature_set)
        return None
    centred = feature_set == SimilarityIndex.FeatureSet.CNN
    source_sha256 = hashlib.sha256(
        feature_set.encode() + (model.sha256.encode() if model else b"") + (b"centred" if centred else b"")
        + np.array(track_ids).tobytes() + raw.tobytes()
    ).hexdigest()
    with transaction.atomic():
        # Lock the catalog so two builds at once cannot take the same version number.
        Catalog.objects.select_for_update().get(pk=catalog.pk)
        latest = catalog.indexes.filter(feature_set=feature_set).order_by("-version").first()
        if latest is not None and latest.source_sha256 == source_sha256:
            return latest
        index = similarity.build_index(raw, standardise=not centred, centre=centred)
        buffer = io.BytesIO()
        np.save(buffer, index.vectors, allow_pickle=False)
        newest = catalog.indexes.order_by("-version").first()
        return SimilarityIndex.objects.create(
            catalog=catalog,
            feature_set=feature_set,
            model=model,
            version=(newest.version if newest else 0) + 1,
            source_sha256=source_sha256,
            feature_names=names,
            track_ids=track_ids,
            mean=index.mean.tolist(),
            std=index.std.tolist(),
            vectors=buffer.getvalue(),
        )


@dataclass(frozen=True)
class LoadedIndex:
    """An index held in memory: the matrix, and the way between rows and track ids.

    Track ids are kept as a sorted array and found by binary search: a dict of
    100,000 Python ints would take more memory than the matrix itself.
    """

    index_id: int
    vectors: np.ndarray
    track_ids: np.ndarray  # ascending, row order

    def rows_of(self, track_ids) -> np.ndarray:
        """Rows of the given track ids; ids not in the index are left out."""
        ids = np.asarray(list(track_ids), dtype=np.int64)
        rows = np.searchsorted(self.track_ids, ids)
        found = rows < len(self.track_ids)
        found[found] = self.track_ids[rows[found]] == ids[found]
        return rows[found]

    def vector(self, track_id: int) -> np.ndarray:
        rows = self.rows_of([track_id])
        if not rows.size:
            raise KeyError(f"track {track_id} is not in index {self.index_id}")
        return self.vectors[rows[0]]


@lru_cache(maxsize=8)
def load_index(index_id: int) -> LoadedIndex:
    """Indexes never change once built, so each version is read from the database once per process."""
    row = SimilarityIndex.objects.get(pk=index_id)
    return LoadedIndex(index_id=row.pk, vectors=row.matrix(), track_ids=np.array(row.track_ids, dtype=np.int64))


@dataclass(frozen=True)
class TrackMatch:
    """A recommended track, the liked track it is closest to, and their cosine."""

    track_id: int
    seed_track_id: int
    score: float


def liked_copies(*, catalog_id: int, liked_track_ids) -> set[int]:
    """The liked tracks and every copy of them in the catalog (another id, same title and artist): the same song
    listed twice is no discovery, and no understanding-test candidate either."""
    copies = set(liked_track_ids)
    for title, artist in Track.objects.filter(pk__in=liked_track_ids).values_list("title", "artist"):
        copies |= set(Track.objects.filter(catalog=catalog_id, title__iexact=title, artist__iexact=artist)
                      .values_list("pk", flat=True))
    return copies


def recommend(
    *, index: SimilarityIndex, liked_track_ids: list[int], k: int, allowed_track_ids=None
) -> list[TrackMatch]:
    """Top-k tracks for a set of liked tracks, skipping the liked ones and copies of them;
    ``allowed_track_ids`` (a study's pool) limits what may be recommended."""
    loaded = load_index(index.pk)
    liked_rows = [int(row) for row in loaded.rows_of(liked_track_ids)]
    if not liked_rows:
        raise ValueError("none of the liked tracks is in the index")
    exclude = {int(row) for row in loaded.rows_of(liked_copies(catalog_id=index.catalog_id, liked_track_ids=liked_track_ids))}
    allowed = None if allowed_track_ids is None else loaded.rows_of(allowed_track_ids)
    matches = similarity.recommend(loaded.vectors, liked_rows, k, exclude_rows=exclude, allowed_rows=allowed)
    return [
        TrackMatch(
            track_id=int(loaded.track_ids[m.row]), seed_track_id=int(loaded.track_ids[m.seed_row]), score=m.score
        )
        for m in matches
    ]


def catalog_latest_index(catalog: Catalog, feature_set: str | None = None) -> SimilarityIndex | None:
    """The newest index of the catalog's feature recommender (audio or catalog features), or of one feature set."""
    sets = SimilarityIndex.FEATURES if feature_set is None else [feature_set]
    return catalog.indexes.filter(feature_set__in=sets).order_by("-version").first()


#: The index each recommender reads (study.models.Condition.Recommender): None = the newest feature index; the
#: tagger's depends on the study's tag vocabulary (SimilarityIndex.TAGGERS).
RECOMMENDER_FEATURE_SETS = {"features": None, "cnn": SimilarityIndex.FeatureSet.CNN}


def recommender_feature_set(recommender: str, *, vocabulary: str = "mtt") -> str | None:
    """The feature set of the index ``recommender`` reads in a study with that tag vocabulary."""
    if recommender == "tagger":
        return SimilarityIndex.TAGGERS[vocabulary]
    return RECOMMENDER_FEATURE_SETS[recommender]


def recommender_index(catalog: Catalog, recommender: str, *, vocabulary: str = "mtt") -> SimilarityIndex | None:
    """The index a condition's recommender reads: the newest of its kind (the tagger's of the study's vocabulary)."""
    return catalog_latest_index(catalog, recommender_feature_set(recommender, vocabulary=vocabulary))


#: How each recommender's index comes about, for every message that finds one missing.
_INDEX_HOW_TO = {
    "features": "analyse its audio first (python manage.py import_catalog, or the catalog's admin page)",
    "tagger": "embed it with the tagger first (python manage.py embed_catalog {slug}{vocabulary})",
    "cnn": "train its CNN first (python manage.py train_cnn {slug}; it embeds the catalog when done)",
}


def missing_index_message(catalog: Catalog, recommender: str, *, vocabulary: str = "mtt") -> str:
    """What to say, wherever it is found, when ``catalog`` has no index for ``recommender``: what is missing
    and the command that builds it."""
    option = f" --vocabulary {vocabulary}" if vocabulary != "mtt" else ""
    how = _INDEX_HOW_TO[recommender].format(slug=catalog.slug, vocabulary=option)
    name = f"{recommender} ({vocabulary})" if recommender == "tagger" and vocabulary != "mtt" else recommender
    return f"Catalog {catalog.slug!r} has no {name} index yet; {how}."


class CatalogLocked(ValueError):
    """The catalog's tracks cannot change: a study that has left draft chooses from them."""


def catalog_require_unlocked(catalog: Catalog, what: str = "its tracks") -> None:
    """Refuse a change to which tracks a catalog holds or has analysed while a study that has left draft uses it
    (study/frozen.py; a later model or index is harmless: such a study reads the indexes pinned when it left draft)."""
    running = [study.slug for study in catalog.studies.all() if study.is_frozen]
    if running:
        raise CatalogLocked(
            f"catalog {catalog.slug!r} is the catalog of {', '.join(map(repr, running))}, which has left draft: "
            f"{what} cannot change under its participants. Import into a new catalog (and a duplicate study)."
        )


ANALYSIS_CHUNK = 8


def catalog_analyse(*, catalog: Catalog, only_pending: bool = True) -> int:
    """Analyse a catalog's clips in chunks on the workers, then build its audio index once all are done.

    Tracks without a clip are left alone (a metadata-only catalog is not a failure). Refused (CatalogLocked) while
    a study that has left draft uses the catalog and clips are waiting: they would join its pool.
    Returns how many tracks were sent for analysis.
    """
    tracks = catalog.tracks.exclude(audio="").order_by("pk")
    if only_pending:
        tracks = tracks.exclude(status=Track.Status.ANALYSED)
    ids = list(tracks.values_list("pk", flat=True))
    if ids:
        catalog_require_unlocked(catalog, "which of its clips are analysed")
    chunks = [ids[i : i + ANALYSIS_CHUNK] for i in range(0, len(ids), ANALYSIS_CHUNK)]
    if chunks:
        enqueue_chord(
            [job("recommender.tasks.analyse_tracks", chunk) for chunk in chunks],
            then=job("recommender.tasks.build_feature_index", catalog.pk),
        )
    elif catalog.tracks.exclude(audio="").exists():
        catalog_build_index(catalog=catalog)
    return len(ids)


def catalog_build_index(*, catalog: Catalog, feature_set: str = SimilarityIndex.FeatureSet.AUDIO) -> None:
    """Build the catalog's index of this feature set in a job, once the current transaction commits."""
    enqueue("recommender.tasks.build_feature_index", catalog.pk, feature_set)


def catalog_create_demo(*, slug: str, per_style: int, seconds: float, seed: int, progress=None) -> tuple[Catalog, int]:
    """Synthesise the demo catalog's clips as MP3 files; tracks that exist already are kept.

    Returns the catalog and how many tracks were created.
    """
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
            clip, mp3 = demo.synthesise_mp3(index, style, seed, seconds)
            track = Track(catalog=catalog, external_id=external_id, title=clip.title, artist=clip.artist, style=style)
            track.audio.save(f"{external_id}.mp3", ContentFile(mp3), save=False)
            track.save()
            created += 1
        if progress:
            progress()
    return catalog, created


def track_fetch_clip(*, track: Track) -> Track:
    """Download the track's preview clip and analyse it; a track that has its clip is left alone.

    Raises fetch.TransientFetchError for the caller to retry; any other failure marks the track failed.
    """
    if track.audio:
        return track
    if not track.preview_url:
        return _track_fail(track, "no audio file attached and no preview URL to fetch one from")
    with tempfile.TemporaryDirectory() as folder:
        try:
            downloaded = fetch.download_clip(
                track.preview_url, Path(folder), timeout=settings.CLIP_FETCH_TIMEOUT, max_bytes=settings.CLIP_MAX_BYTES,
                allowed_hosts=settings.CLIP_FETCH_ALLOWED_HOSTS,
            )
        except fetch.TransientFetchError:
            raise
        except fetch.FetchError as error:
            return _track_fail(track, f"clip download failed: {error}")
        with open(downloaded.path, "rb") as handle:
            track.audio.save(f"{slugify(track.external_id)}{downloaded.path.suffix}", File(handle), save=False)
    track.status, track.error = Track.Status.PENDING, ""
    track.save(update_fields=["audio", "status", "error"])
    return track_analyse(track=track)


def track_fetch_failed(*, track: Track, reason: str) -> Track:
    """Retries are spent: say so on the track, where researchers look."""
    return _track_fail(track, f"clip download failed after retries: {reason}")


def catalog_fetch_clips(*, catalog: Catalog) -> int:
    """Fetch and analyse every missing clip that has a preview URL, then rebuild the audio index.

    Returns how many downloads were sent.
    """
    ids = list(catalog.tracks.filter(audio="").exclude(preview_url="").order_by("pk").values_list("pk", flat=True))
    if ids:
        catalog_require_unlocked(catalog, "its clips")
        enqueue_chord(
            [job("recommender.tasks.fetch_clip", track_id) for track_id in ids],
            then=job("recommender.tasks.build_feature_index", catalog.pk),
        )
    return len(ids)
