"""Writes for the networks: each track's log-mel (computed once), the tagger's and the trained CNN's
embeddings, CNN training, and the indexes built from embeddings.

The numeric work lives in recommender/cnn (no Django); this module finds the rows, caches files by
content hash and records which network (AudioModel, by the hash of its weights) made what.
"""
from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from config.jobs import enqueue, enqueue_chord, job
from recommender.models import AudioModel, Catalog, SimilarityIndex, Track, TrackEmbedding

logger = logging.getLogger(__name__)

Kind = AudioModel.Kind
EMBED_CHUNK = 16


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def track_log_mel(*, track: Track) -> np.ndarray:
    """(frames, 96) float32: what the networks read, computed from the clip once and kept beside its analysis.

    Named by the audio's hash, so two workers computing it at once write the same file; raises
    recommender.audio.AudioDecodeError (a ValueError) or OSError when the clip cannot be read.
    """
    from recommender.cnn import frontend

    analysis = track.analysis
    name = f"logmel/{analysis.audio_sha256}.npy"
    storage = analysis.log_mel.storage
    if analysis.log_mel and analysis.log_mel.name == name and storage.exists(name):
        with analysis.log_mel.open("rb") as handle:
            return np.load(io.BytesIO(handle.read()), allow_pickle=False).astype(np.float32)
    try:
        signal = frontend.load_signal(track.audio.path, max_seconds=30.0)
        mel = frontend.log_mel(signal)
    except Exception as error:  # librosa and audioread raise many kinds; a bad clip is a ValueError here
        from recommender.audio import AudioDecodeError

        raise AudioDecodeError(f"the clip could not be decoded for the networks: {error}") from error
    if not storage.exists(name):
        storage.save(name, ContentFile(_npy(mel.astype(np.float16))))
    type(analysis).objects.filter(pk=analysis.pk).update(log_mel=name)
    analysis.log_mel.name = name
    return mel.astype(np.float16).astype(np.float32)  # exactly what a later read returns


# The networks -----------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _tagger_sha256(vocabulary: str) -> str:
    """A shipped tagger's name: the hash of its weights; both side by side: the hash of their two hashes."""
    from recommender.cnn import tagger

    if vocabulary == tagger.BOTH:
        return hashlib.sha256("".join(_tagger_sha256(name) for name in tagger.TAGGERS).encode()).hexdigest()
    return hashlib.sha256(tagger.TAGGERS[vocabulary].read_bytes()).hexdigest()


def tagger_model(vocabulary: str = "mtt") -> AudioModel:
    """The row naming a shipped musicnn tagger ("mtt", "msd", or "both" side by side), made on first use."""
    sha = _tagger_sha256(vocabulary)
    try:
        with transaction.atomic():
            return AudioModel.objects.get_or_create(kind=Kind.TAGGER, catalog=None, sha256=sha)[0]
    except IntegrityError:  # created a moment ago by another worker
        return AudioModel.objects.get(kind=Kind.TAGGER, catalog=None, sha256=sha)


def tagger_vocabulary(model: AudioModel) -> str:
    """Which shipped tagger a tagger row names (recommender.cnn.tagger.VOCABULARIES)."""
    from recommender.cnn import tagger

    vocabulary = next((name for name in tagger.VOCABULARIES if _tagger_sha256(name) == model.sha256), None)
    if vocabulary is None:
        raise ValueError(f"tagger {model.sha256[:12]} is not one of the shipped taggers {list(tagger.VOCABULARIES)}")
    return vocabulary


def index_tag_probabilities(index) -> np.ndarray:
    """(tracks, tags) the tagger's probabilities for the tracks of a tagger index, in the index's track order
    where every track has them (the tag explanation's typical track and the gallery's vocabulary read these)."""
    rows = dict(
        TrackEmbedding.objects.filter(model_id=index.model_id, track_id__in=index.track_ids).exclude(tags=None)
        .values_list("track_id", "tags")
    )
    return np.array([rows[t] for t in index.track_ids if t in rows], dtype=np.float64)


def feature_set_model(catalog: Catalog, feature_set: str) -> AudioModel | None:
    """The network an index of ``feature_set`` is built from: a shipped tagger, or the catalog's newest CNN."""
    if feature_set == SimilarityIndex.FeatureSet.CNN:
        return AudioModel.objects.filter(kind=Kind.CNN, catalog=catalog).order_by("-created_at", "-pk").first()
    vocabulary = {value: name for name, value in SimilarityIndex.TAGGERS.items()}.get(feature_set)
    if vocabulary is None:
        raise ValueError(f"{feature_set!r} indexes hold no network's embeddings")
    return tagger_model(vocabulary)


@lru_cache(maxsize=4)
def load_network(model_id: int):
    """The torch module of an AudioModel, in inference mode on the CPU; one per process."""
    from recommender.cnn import contrastive, tagger

    row = AudioModel.objects.get(pk=model_id)
    if row.kind == Kind.TAGGER:
        return tagger.default_tagger(tagger_vocabulary(row))
    with row.file.open("rb") as handle:
        return contrastive.load_bytes(handle.read())


def track_embed(*, track: Track, model: AudioModel) -> TrackEmbedding:
    """The network's embedding of the track (and the tagger's tags); computed only if missing."""
    from recommender.cnn import contrastive, frontend, tagger

    existing = TrackEmbedding.objects.filter(track=track, model=model).first()
    if existing:
        return existing
    if model.kind == Kind.TAGGER and tagger_vocabulary(model) == tagger.BOTH:
        # Both taggers side by side: their own embeddings (each computed once, kept for their own indexes) joined.
        parts = [track_embed(track=track, model=tagger_model(name)) for name in tagger.TAGGERS]
        vector, tags = np.concatenate([p.array() for p in parts]), [v for p in parts for v in p.tags]
        return _embedding_create(track, model, vector, tags)
    mel = track_log_mel(track=track)
    network = load_network(model.pk)
    tags = None
    if model.kind == Kind.TAGGER:
        probabilities, embeddings = tagger.tag_patches(frontend.patches(mel), model=network)
        vector, tags = embeddings.mean(axis=0), [round(float(p), 6) for p in probabilities.mean(axis=0)]
    else:
        vector = contrastive.embed(network, mel)
    return _embedding_create(track, model, vector, tags)


def _embedding_create(track: Track, model: AudioModel, vector: np.ndarray, tags: list[float] | None) -> TrackEmbedding:
    try:
        with transaction.atomic():
            return TrackEmbedding.objects.create(
                track=track, model=model, vector=_npy(np.asarray(vector, dtype=np.float32)), tags=tags
            )
    except IntegrityError:  # a re-delivered job got there first
        return TrackEmbedding.objects.get(track=track, model=model)


def tracks_embed(*, track_ids: list[int], model: AudioModel) -> int:
    """Embed each track; one that cannot be decoded is logged and left out (its index will lack it)."""
    done = 0
    for track in Track.objects.filter(pk__in=track_ids, status=Track.Status.ANALYSED).select_related("analysis"):
        try:
            track_embed(track=track, model=model)
            done += 1
        except (ValueError, OSError) as error:
            logger.warning("Track %s could not be embedded by %s: %s", track.pk, model, error)
    return done


def catalog_embed(*, catalog: Catalog, feature_set: str) -> int:
    """Embed every analysed track with the network behind ``feature_set`` (a tagger vocabulary's, or the
    catalog's newest CNN) in jobs, then build that index.

    Returns how many tracks were sent; 0 (and nothing sent) when the catalog has no such network yet.
    """
    model = feature_set_model(catalog, feature_set)
    if model is None:
        return 0
    done = TrackEmbedding.objects.filter(model=model, track__catalog=catalog).values_list("track_id", flat=True)
    ids = list(
        catalog.tracks.filter(status=Track.Status.ANALYSED).exclude(pk__in=done).order_by("pk").values_list("pk", flat=True)
    )
    chunks = [ids[i : i + EMBED_CHUNK] for i in range(0, len(ids), EMBED_CHUNK)]
    if chunks:
        enqueue_chord(
            [job("recommender.tasks.embed_tracks", chunk, model.pk) for chunk in chunks],
            then=job("recommender.tasks.build_embedding_index", catalog.pk, feature_set),
        )
    else:
        enqueue("recommender.tasks.build_embedding_index", catalog.pk, feature_set)
    return len(ids)


def embedding_index_source(catalog: Catalog, feature_set: str) -> tuple[AudioModel | None, list[int], np.ndarray]:
    """The network, the track ids (ascending) and the (tracks, dimensions) embeddings an index of ``feature_set`` holds."""
    model = feature_set_model(catalog, feature_set)
    if model is None:
        return None, [], np.empty((0, 0))
    rows = (
        TrackEmbedding.objects.filter(model=model, track__catalog=catalog, track__status=Track.Status.ANALYSED)
        .order_by("track_id").values_list("track_id", "vector")
    )
    track_ids, vectors = [], []
    for track_id, vector in rows.iterator(chunk_size=2000):
        track_ids.append(track_id)
        vectors.append(np.load(io.BytesIO(bytes(vector)), allow_pickle=False))
    matrix = np.array(vectors, dtype=np.float64) if vectors else np.empty((0, 0))
    return model, track_ids, matrix


# Training --------------------------------------------------------------------------------------

def cnn_train(
    *, catalog: Catalog, config=None, progress: Callable[[int, int, float], None] | None = None
) -> AudioModel:
    """Train a CNN on the catalog's analysed clips (no labels) and store it, named by its weights' hash.

    Deterministic from ``config.seed``: the same clips and settings give the same weights, and
    so the same AudioModel row. Clips that cannot be decoded are left out (logged).
    """
    from recommender import evaluation
    from recommender.cnn import checks, contrastive, ensemble

    config = config or contrastive.TrainingConfig()
    tracks = list(catalog.tracks.filter(status=Track.Status.ANALYSED).select_related("analysis").order_by("pk"))
    spectrograms, used = [], []
    for track in tracks:
        try:
            spectrograms.append(track_log_mel(track=track))
            used.append(track.pk)
        except (ValueError, OSError) as error:
            logger.warning("Track %s is left out of CNN training: %s", track.pk, error)
    if len(spectrograms) < 2:
        raise ValueError(f"catalog {catalog.slug!r} has {len(spectrograms)} usable clips; a CNN needs at least 2")
    teacher = None
    if config.distill_weight > 0:
        # Both taggers' views of the same clips (computed once and kept, as the tagger index uses them too),
        # each z-scored as the tagger index compares them, side by side: the cosine of the pair is then about
        # the mean of the two taggers' cosines, and the CNN is pulled towards both teachers.
        by_track = {t.pk: t for t in tracks}
        views = []
        for vocabulary in ("mtt", "msd"):
            teacher_row = tagger_model(vocabulary)
            vectors = np.array([track_embed(track=by_track[pk], model=teacher_row).array() for pk in used], dtype=np.float64)
            std = vectors.std(axis=0)
            views.append((vectors - vectors.mean(axis=0)) / np.where(std > 0, std, 1.0))
        teacher = np.hstack(views)
    result = ensemble.train(spectrograms, config, teacher=teacher, progress=progress)
    training = {
        "config": config.to_json(), "tracks": len(used), "track_ids_sha256": hashlib.sha256(np.array(used).tobytes()).hexdigest(),
        "steps": result.steps, "seconds": round(result.seconds, 2), "losses": [round(v, 5) for v in result.losses],
        "check": checks.training_check(result.model, spectrograms).to_json(),
        # Early stopping: the clips never trained on, the held-aside score of each check, the check kept.
        "held_aside_track_ids": [used[i] for i in result.held_aside], "held_aside_checks": result.checks,
        "best_step": result.best_step,
        # An ensemble's networks, each its own seed: its steps, and the check whose weights it kept.
        "members": [{"seed": r.seed, "steps": r.steps, "best_step": r.best_step, "held_aside_checks": r.checks}
                    for r in result.members],
    }
    content = contrastive.save_bytes(result.model, config=config, extra={"catalog": catalog.slug})
    sha = hashlib.sha256(content).hexdigest()
    existing = AudioModel.objects.filter(kind=Kind.CNN, catalog=catalog, sha256=sha).first()
    if existing:
        return existing
    model = AudioModel(kind=Kind.CNN, catalog=catalog, sha256=sha, training=training)
    model.file.save(f"cnn-{sha}.pt", ContentFile(content), save=False)
    model.loss_curve.save(
        f"cnn-{sha}-loss.png",
        ContentFile(evaluation.loss_curve_plot(result.losses, title=f"Contrastive training on {catalog.name}")),
        save=False,
    )
    try:
        with transaction.atomic():
            model.save()
    except IntegrityError:
        return AudioModel.objects.get(kind=Kind.CNN, catalog=catalog, sha256=sha)
    return model


def catalog_train_cnn(*, catalog: Catalog, seed: int = 0, steps: int | None = None, members: int | None = None) -> None:
    """Train the catalog's CNN in a job; when done, embed every track with it and build its index."""
    enqueue("recommender.tasks.train_cnn", catalog.pk, seed, steps, members)
