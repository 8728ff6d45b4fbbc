"""From a catalog's clips to a study ready to open, in one pipeline: the audio analysis, the musicnn taggers, the
CNN (within a time budget), the similarity indexes, an evaluation summary and, for a study, every explanation its
participants can be shown. Resumable and idempotent: each stage does only what is missing (a second run after an
interruption carries on where the first stopped, one after success does nothing), and a Preparation row holds
each stage's state, done/total, seconds and ETA for the admin's panel and the command's bars."""
from __future__ import annotations

import hashlib
import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from django.conf import settings
from django.db import connections
from django.utils import timezone

from config.jobs import enqueue
from recommender import networks
from recommender import services as recommender_services
from recommender.models import AudioModel, Catalog, SimilarityIndex, Track, TrackEmbedding
from study.models import AuditEntry, Preparation, Study
from study.services import FlowError

logger = logging.getLogger(__name__)

STAGES = {
    "analysis": "Audio analysis (librosa features and mel spectrogram of each clip)",
    "taggers": "The musicnn taggers (tags and embedding of each clip, per vocabulary)",
    "cnn": "The CNN trained on the catalog's clips, within its time budget",
    "embedding": "Each clip embedded with the CNN",
    "indexes": "Similarity indexes of every recommender",
    "evaluation": "Evaluation: recommender quality, score spread, the tags the catalog triggers",
    "prerender": "Every explanation the study's participants can be shown, in every language",
}

#: Seconds per unit on one core of the development machine (2 cores, 2026), measured with bench/launch.py on
#: ../shared/realmusic's 30-s clips: the estimates shown before a stage starts (its own rate takes over then).
SECONDS_PER = {"analysis": 0.22, "taggers": 0.35, "cnn_embedding": 0.05, "index": 1.0, "evaluation": 5.0,
               "explanation": 0.015}
DEFAULT_CNN_MINUTES = 5.0
DEFAULT_VOCABULARIES = ("mtt", "msd")
SAVE_EVERY_S = 2.0


class PreparationBusy(FlowError):
    """A preparation of this catalog is already under way."""


def _pending_analysis(catalog: Catalog):
    return catalog.tracks.exclude(audio="").exclude(status__in=[Track.Status.ANALYSED, Track.Status.FAILED]).order_by("pk")


def _missing_embeddings(catalog: Catalog, model: AudioModel):
    done = TrackEmbedding.objects.filter(model=model, track__catalog=catalog).values_list("track_id", flat=True)
    return catalog.tracks.filter(status=Track.Status.ANALYSED).exclude(pk__in=done).order_by("pk")


def _vocabularies(catalog: Catalog, asked) -> list[str]:
    """The tagger vocabularies to compute: those asked for (both by default, so the gallery can compare them) and
    any a study on this catalog chose ("both" joins the two)."""
    chosen = set(asked) | set(Study.objects.filter(catalog=catalog).values_list("tag_vocabulary", flat=True))
    return [v for v in ("mtt", "msd", "both") if v in chosen]


def _analysed_ids_sha256(catalog: Catalog) -> str:
    ids = list(catalog.tracks.filter(status=Track.Status.ANALYSED).order_by("pk").values_list("pk", flat=True))
    return hashlib.sha256(np.array(ids).tobytes()).hexdigest()


def _current_cnn(catalog: Catalog) -> AudioModel | None:
    """The catalog's newest CNN, if it was trained on exactly the clips analysed now."""
    model = networks.feature_set_model(catalog, SimilarityIndex.FeatureSet.CNN)
    if model is not None and model.training.get("track_ids_sha256") == _analysed_ids_sha256(catalog):
        return model
    return None


def preparation_plan(*, catalog: Catalog, study: Study | None = None, options: dict | None = None) -> list[dict]:
    """The stages as they stand now: what each has left to do and about how long that takes (SECONDS_PER; the
    CNN its budget). A stage with nothing left says so; the run skips it in a moment."""
    options = {**preparation_defaults(), **(options or {})}
    workers = max(1, int(options.get("workers") or 1))
    tracks = catalog.tracks.exclude(audio="").exclude(status=Track.Status.FAILED).count()
    pending = _pending_analysis(catalog).count()
    vocabularies = _vocabularies(catalog, options["vocabularies"])
    # Before the analysis every clip still to be analysed counts as a clip each tagger must embed too.
    to_tag = sum(
        _missing_embeddings(catalog, networks.tagger_model(v)).count() + pending for v in vocabularies if v != "both"
    )
    train = options["cnn"] and (pending > 0 or _current_cnn(catalog) is None)
    stages = [
        _stage("analysis", pending, SECONDS_PER["analysis"] * pending / workers),
        _stage("taggers", to_tag, SECONDS_PER["taggers"] * to_tag, note=", ".join(vocabularies)),
        _stage("cnn", 1 if train else 0, 60 * options["cnn_minutes"] if train else 0,
               note=f"budget {options['cnn_minutes']:g} min" if train else ("kept" if options["cnn"] else "not asked for")),
        _stage("embedding", tracks if train else 0, SECONDS_PER["cnn_embedding"] * tracks if train else 0),
        _stage("indexes", 3 + len(vocabularies), SECONDS_PER["index"] * (3 + len(vocabularies))),
        _stage("evaluation", 1, SECONDS_PER["evaluation"]),
    ]
    if study is not None:
        explanations = _explanations_estimate(study, tracks)
        stages.append(_stage("prerender", explanations, SECONDS_PER["explanation"] * explanations))
    return stages


def preparation_defaults() -> dict:
    return {"cnn": True, "cnn_minutes": DEFAULT_CNN_MINUTES, "vocabularies": list(DEFAULT_VOCABULARIES), "workers": 1}


def _stage(name: str, total: int, estimate_s: float, note: str = "") -> dict:
    return {"name": name, "label": STAGES[name], "state": "pending", "done": 0, "total": int(total),
            "seconds": 0.0, "estimate_s": round(float(estimate_s), 1), "eta_s": None, "note": note}


def _explanations_estimate(study: Study, tracks: int) -> int:
    """Before the indexes exist: each track with its nearest neighbours, each explanation kind, each language."""
    kinds = sum(len(c.explanation_kinds) for c in study.conditions.filter(is_active=True))
    return tracks * (study.n_recommendations + study.max_liked) * kinds * len(settings.LANGUAGES)


def preparation_create(
    *, catalog: Catalog, study: Study | None = None, actor: str, user=None, options: dict | None = None,
) -> Preparation:
    """A new preparation job (queued), refused while another one of this catalog is under way (one that has been
    silent for minutes is taken as dead: the new one resumes its work). Logged for the study."""
    if study is not None and study.catalog_id != catalog.pk:
        raise FlowError(f"Study {study.slug!r} does not use catalog {catalog.slug!r}.")
    busy = next((p for p in Preparation.objects.filter(catalog=catalog, state__in=["queued", "running"]) if p.active), None)
    if busy is not None:
        raise PreparationBusy(f"Catalog {catalog.slug!r} is being prepared already (started "
                              f"{busy.created_at:%Y-%m-%d %H:%M}); wait for it, or see its panel.")
    options = {**preparation_defaults(), **(options or {})}
    Preparation.objects.filter(catalog=catalog, state__in=["queued", "running"]).update(
        state=Preparation.State.FAILED, error="No word from its process for minutes: taken as dead, resumed by a new one.",
    )
    preparation = Preparation.objects.create(
        catalog=catalog, study=study, options=options, requested_by=user,
        stages=preparation_plan(catalog=catalog, study=study, options=options),
    )
    if study is not None:
        AuditEntry.objects.create(actor=actor[:200], action=AuditEntry.Action.PREPARE, study=study,
                                  detail={"catalog": catalog.slug, "preparation": preparation.pk, "options": options})
    return preparation


def preparation_start(*, catalog: Catalog, study: Study | None = None, actor: str, user=None,
                      options: dict | None = None) -> Preparation:
    """Create a preparation and send it to a batch worker (on the embedded default: a thread of this process)."""
    preparation = preparation_create(catalog=catalog, study=study, actor=actor, user=user,
                                     options={**(options or {}), "workers": 1})
    enqueue("research.tasks.prepare_catalog", preparation.pk, background=True)
    return preparation


class _Progress:
    """Keeps the job row's stages current (written at most every SAVE_EVERY_S, and at each stage's start and end)
    and tells ``listener`` of every step, for the command's bars."""

    def __init__(self, preparation: Preparation, listener: Callable[[dict], None] | None):
        self.preparation, self.listener = preparation, listener
        self.stage: dict | None = None
        self.started = self.saved = 0.0

    def start(self, name: str, total: int, note: str | None = None) -> None:
        self.stage = next(s for s in self.preparation.stages if s["name"] == name)
        self.stage.update(state="running", done=0, total=int(total), eta_s=self.stage.get("estimate_s"))
        if note is not None:
            self.stage["note"] = note
        self.started = time.monotonic()
        self._save(force=True)

    def total(self, total: int) -> None:
        self.stage["total"] = int(total)
        self._save()

    def advance(self, n: int = 1) -> None:
        stage = self.stage
        stage["done"] += n
        stage["seconds"] = round(time.monotonic() - self.started, 1)
        if stage["done"]:
            stage["eta_s"] = round(stage["seconds"] / stage["done"] * max(0, stage["total"] - stage["done"]), 1)
        self._save()

    def finish(self, note: str | None = None, state: str = "done") -> None:
        self.stage.update(state=state, seconds=round(time.monotonic() - self.started, 1), eta_s=0)
        if note is not None:
            self.stage["note"] = note
        self._save(force=True)
        self.stage = None

    def _save(self, force: bool = False) -> None:
        if self.listener:
            self.listener(dict(self.stage))
        now = time.monotonic()
        if force or now - self.saved >= SAVE_EVERY_S:
            self.saved = now
            self.preparation.save(update_fields=["stages", "state", "summary", "error", "started_at", "finished_at",
                                                 "updated_at"])


def preparation_run(*, preparation: Preparation, listener: Callable[[dict], None] | None = None) -> Preparation:
    """Run every stage of a preparation here, each doing only what is missing. A stage that fails marks the job
    failed with the reason and raises; running it again resumes."""
    from research.services import preparing_stages as stages

    progress = _Progress(preparation, listener)
    preparation.state, preparation.started_at, preparation.error = Preparation.State.RUNNING, timezone.now(), ""
    preparation.save(update_fields=["state", "started_at", "error", "updated_at"])
    runners = {"analysis": stages.run_analysis, "taggers": stages.run_taggers, "cnn": stages.run_cnn,
               "embedding": stages.run_embedding,
               "indexes": stages.run_indexes, "evaluation": stages.run_evaluation, "prerender": stages.run_prerender}
    try:
        for stage in list(preparation.stages):
            runners[stage["name"]](preparation, progress)
    except Exception as error:
        logger.exception("Preparation %s failed", preparation.pk)
        if progress.stage is not None:
            progress.stage["state"] = "failed"
        preparation.state, preparation.finished_at = Preparation.State.FAILED, timezone.now()
        preparation.error = f"{progress.stage['name'] if progress.stage else 'preparation'}: {error}"[:2000]
        preparation.save()
        raise
    preparation.state, preparation.finished_at = Preparation.State.DONE, timezone.now()
    preparation.save()
    return preparation


def pool_workers(asked: int) -> int:
    """Processes for the analysis: as asked, but one inside a daemonic process (a Celery worker's child may not
    start processes of its own)."""
    if multiprocessing.current_process().daemon:
        return 1
    return max(1, int(asked or 1))


def analyse_in_pool(paths: list[str], workers: int):
    """Each clip's analysis (or decode error) in order, computed by ``workers`` processes; the database
    connections are closed first so no child shares one."""
    if workers <= 1:
        yield from map(recommender_services.analyse_track_file, paths)
        return
    connections.close_all()
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        yield from pool.map(recommender_services.analyse_track_file, paths)


def study_for(preparation: Preparation) -> Study | None:
    return Study.objects.filter(pk=preparation.study_id).select_related("catalog").first() if preparation.study_id else None

