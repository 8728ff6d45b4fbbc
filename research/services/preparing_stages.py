"""The stages of a catalog's preparation (research.services.preparing runs them in order). Each does only what is
missing, so a second run resumes the first; each reports its done/total through the job's progress."""
from __future__ import annotations

import logging

from recommender import networks, quality
from recommender import services as recommender_services
from recommender.models import SimilarityIndex, Track
from research.services import preparing
from study.models import Preparation

logger = logging.getLogger(__name__)
FS = SimilarityIndex.FeatureSet


def run_analysis(preparation: Preparation, progress) -> None:
    """Each clip not analysed yet: features, segments and mel spectrogram, in a pool of processes (``workers``)."""
    catalog = preparation.catalog
    tracks = list(preparing._pending_analysis(catalog))
    if tracks:  # new clips would join the pool of a study that has left draft
        recommender_services.catalog_require_unlocked(catalog, "which of its clips are analysed")
    progress.start("analysis", len(tracks))
    workers = preparing.pool_workers(preparation.options.get("workers", 1))
    results = preparing.analyse_in_pool([t.audio.path for t in tracks], workers)
    for track, result in zip(tracks, results):
        recommender_services.track_analyse(track=track, analysed=result)
        progress.advance()
    failed = catalog.tracks.filter(status=Track.Status.FAILED).count()
    without = catalog.tracks.filter(audio="").count()
    analysed = catalog.tracks.filter(status=Track.Status.ANALYSED).count()
    note = f"{analysed} clips analysed"
    if failed:
        note += f"; {failed} could not be decoded (their tracks say why)"
    if without:
        note += f"; {without} tracks have no clip (python manage.py fetch_clips {catalog.slug})"
    progress.finish(note)


def run_taggers(preparation: Preparation, progress) -> None:
    """Each analysed clip's tags and embedding by each vocabulary's tagger ("both" joins the two, computed once)."""
    catalog = preparation.catalog
    vocabularies = preparing._vocabularies(catalog, preparation.options.get("vocabularies", ()))
    work = [(networks.tagger_model(v), list(preparing._missing_embeddings(catalog, networks.tagger_model(v))))
            for v in vocabularies]
    progress.start("taggers", sum(len(tracks) for _, tracks in work), note=", ".join(vocabularies))
    failed = 0
    for model, tracks in work:
        for track in tracks:
            try:
                networks.track_embed(track=track, model=model)
            except (ValueError, OSError) as error:
                failed += 1
                logger.warning("Track %s could not be tagged by %s: %s", track.pk, model, error)
            progress.advance()
    progress.finish(", ".join(vocabularies) + (f"; {failed} clips could not be tagged" if failed else ""))


def run_cnn(preparation: Preparation, progress) -> None:
    """The CNN, trained within its budget, unless one trained on exactly these clips exists."""
    from recommender.cnn.contrastive import TrainingConfig

    catalog, options = preparation.catalog, preparation.options
    if not options.get("cnn", True):
        progress.start("cnn", 0)
        progress.finish("not asked for", state="skipped")
        return
    if preparing._current_cnn(catalog) is not None:
        progress.start("cnn", 0)
        progress.finish("kept the CNN trained on these clips")
        return
    minutes = float(options.get("cnn_minutes") or preparing.DEFAULT_CNN_MINUTES)
    # cnn_training: TrainingConfig's other fields (steps: at most that many within the budget).
    config = TrainingConfig(seed=int(options.get("seed", 0)), max_seconds=60 * minutes, **options.get("cnn_training", {}))
    progress.start("cnn", config.steps * config.members, note=f"training, budget {minutes:g} min")

    def step(done, total, loss):
        if progress.stage["total"] != total:  # the budget has chosen the number of steps
            progress.total(total)
        progress.advance()

    model = networks.cnn_train(catalog=catalog, config=config, progress=step)
    check = model.training["check"]
    progress.finish(f"{model.training['steps']} steps in {model.training['seconds']:.0f} s; a clip's second half found "
                    f"from its first {check['crop_retrieval_top1']:.0%} of the time (chance {check['chance']:.1%})")


def run_embedding(preparation: Preparation, progress) -> None:
    """Each analysed clip not embedded yet by the catalog's CNN."""
    model = networks.feature_set_model(preparation.catalog, FS.CNN) if preparation.options.get("cnn", True) else None
    if model is None:
        progress.start("embedding", 0)
        progress.finish("no CNN", state="skipped")
        return
    tracks = list(preparing._missing_embeddings(preparation.catalog, model))
    progress.start("embedding", len(tracks))
    failed = 0
    for track in tracks:
        try:
            networks.track_embed(track=track, model=model)
        except (ValueError, OSError) as error:
            failed += 1
            logger.warning("Track %s could not be embedded by the CNN: %s", track.pk, error)
        progress.advance()
    progress.finish(f"{len(tracks) - failed} clips embedded" + (f"; {failed} could not be" if failed else ""))


def _feature_sets(preparation: Preparation) -> list[str]:
    catalog, options = preparation.catalog, preparation.options
    sets = [FS.AUDIO, FS.CATALOG]
    sets += [SimilarityIndex.TAGGERS[v] for v in preparing._vocabularies(catalog, options.get("vocabularies", ()))]
    if options.get("cnn", True):
        sets.append(FS.CNN)
    return sets


def run_indexes(preparation: Preparation, progress) -> None:
    """Every recommender's index (a new version only where its data changed)."""
    sets = _feature_sets(preparation)
    progress.start("indexes", len(sets))
    built = []
    for feature_set in sets:
        index = recommender_services.index_build(catalog=preparation.catalog, feature_set=feature_set)
        if index is not None:
            built.append(f"{feature_set} v{index.version} ({len(index.track_ids)} tracks)")
        progress.advance()
    progress.finish("; ".join(built))


def run_evaluation(preparation: Preparation, progress) -> None:
    """What a researcher checks before choosing: style/genre precision@5 of each recommender against chance, the
    spread of each index's scores, the tags each vocabulary puts at the top of this catalog's tracks."""
    from explanations import tags

    catalog = preparation.catalog
    progress.start("evaluation", 1)
    measured = quality.catalog_evaluate(catalog=catalog, k=5, n_queries=2000)
    summary = {
        "k": 5, "chance": round(measured.chance, 3),
        "quality": [{"recommender": r.name, "precision": round(r.precision_at_k, 3), "coverage": round(r.coverage, 3)}
                    for r in measured.results],
        "crop_retrieval": measured.crop_retrieval_top1, "spread": {}, "tags": {},
    }
    for feature_set in _feature_sets(preparation):
        index = recommender_services.catalog_latest_index(catalog, feature_set)
        if index is None:
            continue
        spread = quality.score_spread(recommender_services.load_index(index.pk).vectors)
        if spread is not None:
            summary["spread"][feature_set] = [round(spread[0], 3), round(spread[1], 3)]
        if feature_set in SimilarityIndex.TAGGERS.values():
            names = networks.load_network(index.model_id).tag_names
            usage = tags.vocabulary_usage(names, networks.index_tag_probabilities(index), count=5)
            summary["tags"][feature_set] = [{"tag": u.tag, "top_share": u.top_share} for u in usage]
    preparation.summary = summary
    progress.advance()
    best = max(measured.results, key=lambda r: r.precision_at_k, default=None)
    progress.finish(f"best: {best.name} {best.precision_at_k:.2f} at 5 (chance {measured.chance:.2f})" if best else
                    "nothing to evaluate")


def run_prerender(preparation: Preparation, progress) -> None:
    """Every explanation the study's participants can be shown, in every language, computed here."""
    from research import services

    study = preparing.study_for(preparation)
    batches = services.study_prerender_plan(study=study)
    wanted = sum(b.explanations for b in batches)
    already = services.study_prerender_done(batches=batches)
    progress.start("prerender", wanted)
    services.study_prerender_explanations(study=study, in_process=True, progress=progress.advance, batches=batches)
    progress.finish(f"{wanted} explanations ready ({already} were already)")
