"""The networks on a folder of clips, in one run: train the CNN on them (no labels), embed them with every
model, and compare style precision@5 against the feature recommender, mean MFCCs and chance; throughput
of the CNN and the tagger on the CPU, decoding included; faithfulness of the CNN's explanations.

Clips: ../shared/realmusic, or --data DIR holding a catalog.csv with `path` and `style` columns.
- Precision@5: every clip a query against all the others (leave-one-out), cosine; a neighbour counts
  when it has the query's style. Features: the feature recommender's standardised librosa summary;
  mean MFCCs: 20 MFCCs averaged over the clip (librosa at 22.05 kHz), z-scored; tagger: its 200-d
  embedding, z-scored, as its index compares them; CNN: its own unit embedding (its index's cosine).
- Throughput: decode to 16 kHz + log-mel + network, clip after clip, the first left out as warm-up.
- Pooling (--pooling, --sharpness): the CNN's cells make its embedding by their mean or by AutoPool (per dimension
  a softmax over the cells with a learned sharpness, starting at --sharpness); the JSON names the one used.
- Training: the CNN's default settings (recommender.cnn.contrastive.TrainingConfig; --distill sets the
  weight of the distillation towards both taggers' embeddings of the same clips, MTT and MSD z-scored side by
  side, computed for the taggers' figures anyway and not timed as training), from log-mels computed once.
- Ensemble (--members K): K networks trained per seed (seeds seed, seed + 1, ...) and used as one, the mean of their
  cosines (recommender.cnn.ensemble); every figure, the explanation's included, is then the ensemble's.
- Training crops (--crop-frames N): how long each of a training pair's two views is (the embeddings compared are of
  whole clips); the JSON names the length used.
- Early stopping (--held-aside F): a share of the clips is never trained on; the training checks its retrieval
  score every --check-every steps and keeps the best check's weights (stopping after --patience without gain).
  The JSON then says which step was kept, every check, and precision@5 of those unseen clips as queries.
- Paired bootstrap (10,000 resamples of the queries): the 95 % interval of the CNN's precision@5 minus the
  best tagger's (MTT, MSD or both; "both" concatenates the two z-scored embeddings).
- What the explanation shows (explanations.cnn_measures): the inter-quartile range of the score participants
  read (the centred cosine) over all pairs, beside the uncentred cosine's; the median share of the positive
  contributions carried by the outlined regions over each clip's five recommendations; the model
  randomisation check (Spearman correlation of the explanation of the trained and a re-initialised CNN).
- Faithfulness (explanations.fidelity) of that explanation: deletion and insertion AUC over --pairs (each
  clip's top CNN recommendation, its regions deleted), against a random order and occlusion; pointing game
  over --trials spliced pairs (the first outline must cover the splice in both clips).
- Several trainings (--seeds 0,1,2): the inputs and the taggers are computed once, the CNN is trained and measured
  once per seed. One training's figures swing with its seed (on the 80 real clips, 600 steps, seeds 0-2: centred
  precision@5 0.463 to 0.510, pointing 0.74 to 0.80), so the JSON then holds each key's mean over the seeds, `per_seed` (every seed's
  own figures), `spread` ([min, max] of the targets' figures) and the bootstrap interval of the seed-averaged
  per-query precision of the CNN minus the best tagger's: what one training can be expected to reach. Beside it, the
  seeds' networks as one ensemble (recommender.cnn.ensemble: the mean of their cosines), measured as one training
  is, explanations included (`ensemble`; its precision@5 and interval also as `ensemble_centred_precision_at_5` and
  `ensemble_minus_best_tagger_ci`). --save-models DIR keeps each seed's network, --load-models DIR measures them
  again without training.
"""
import argparse
import csv
import dataclasses
import os
import time
from pathlib import Path
from types import SimpleNamespace

from _common import ROOT, report

REALMUSIC = ROOT.parent / "shared" / "realmusic"
K = 5


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=REALMUSIC, help="a folder with catalog.csv (path, style)")
    parser.add_argument("--clips", type=int, default=None, help="only N clips, spread over the catalog")
    parser.add_argument("--steps", type=int, default=None, help="CNN training steps (default: the CNN's own)")
    parser.add_argument("--distill", type=float, default=None, help="distillation weight (default: the CNN's own)")
    parser.add_argument("--held-aside", type=float, default=0.0,
                        help="share of clips never trained on, for early stopping (default 0: train on all)")
    parser.add_argument("--check-every", type=int, default=None, help="steps between held-aside checks")
    parser.add_argument("--patience", type=int, default=None, help="checks without gain before stopping")
    parser.add_argument("--pairs", type=int, default=50, help="pairs for the deletion/insertion curves")
    parser.add_argument("--trials", type=int, default=50, help="spliced pairs for the pointing game")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", default=None, help="train and measure once per seed, e.g. 0,1,2 (default: --seed)")
    parser.add_argument("--unit-cells", action="store_true", help="pool unit cell vectors (TrainingConfig.unit_cells)")
    parser.add_argument("--pooling", choices=("mean", "auto"), default=None,
                        help="how cells make the embedding (TrainingConfig.pooling; default: the CNN's own)")
    parser.add_argument("--sharpness", type=float, default=None,
                        help="AutoPool's starting sharpness (TrainingConfig.pool_sharpness; default: the CNN's own)")
    parser.add_argument("--members", type=int, default=None,
                        help="networks trained per seed and used as one (TrainingConfig.members; default: the CNN's own)")
    parser.add_argument("--crop-frames", type=int, default=None,
                        help="frames per training crop (TrainingConfig.crop_frames, 16 ms each; default: the CNN's own)")
    parser.add_argument("--load-models", type=Path, default=None,
                        help="measure the networks --save-models wrote to this folder instead of training them")
    parser.add_argument("--save-models", type=Path, default=None,
                        help="write each seed's trained CNN to this folder (cnn-seed-N.pt), to study it afterwards")
    args = parser.parse_args()
    if not (args.data / "catalog.csv").is_file():
        raise SystemExit(f"no catalog.csv in {args.data}: pass --data DIR")
    seeds = [int(seed) for seed in args.seeds.split(",")] if args.seeds else [args.seed]
    inputs = load_inputs(args)
    runs = []
    for seed in seeds:
        if len(seeds) > 1:
            print(f"--- seed {seed}")
        runs.append(measure_training(inputs, args, seed))
    if len(runs) == 1:
        report(runs[0][0])
        return
    # The seeds' networks as one ensemble, measured as a single training is (explanations included).
    from recommender.cnn import contrastive, ensemble

    print(f"--- the {len(runs)} seeds' networks as one ensemble")
    members = [model for _, _, model, _ in runs]
    joint = ensemble.EnsembleCNN([m for model in members for m in getattr(model, "members", [model])])
    config = dataclasses.replace(runs[0][3], members=len(joint.members))
    trained = contrastive.TrainingResult(model=joint, steps=sum(f["train_steps"] for f, *_ in runs),
                                         seconds=sum(f["train_seconds"] for f, *_ in runs))
    report(combined(runs, inputs, seeds, measure(inputs, args, seeds[0], config, trained)[0]))


# The figures whose spread over seeds the combined report gives as [min, max].
TARGETS = (
    "cnn_centred_precision_at_5", "pointing_hit_rate", "randomisation_rank_correlation", "deletion_auc",
    "deletion_auc_occlusion", "deletion_auc_random", "score_iqr", "top3_share_median",
)


def load_inputs(args):
    """What every training reads and every comparison needs, computed once: the networks' log-mels, librosa's
    features, mean MFCCs, both taggers' embeddings (and the MTT tagger's throughput)."""
    import librosa
    import numpy as np

    from recommender import audio, evaluation
    from recommender.cnn import frontend, tagger

    rows = list(csv.DictReader((args.data / "catalog.csv").open()))
    if args.clips and args.clips < len(rows):  # spread over the catalog, so every style keeps some clips
        rows = [rows[i * len(rows) // args.clips] for i in range(args.clips)]
    paths = [args.data / row["path"] for row in rows]
    styles = [row["style"] for row in rows]
    labels = [frozenset([s]) for s in styles]
    n = len(paths)

    mels, features, mfccs = [], [], []
    for path in paths:
        mels.append(frontend.log_mel(frontend.load_signal(path, max_seconds=30)).astype(np.float16).astype(np.float32))
        analysed = audio.analyse_file(path)
        features.append([analysed.features[name] for name in audio.FEATURE_NAMES])
        y, sr = librosa.load(path, duration=30)
        mfccs.append(librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20).mean(axis=1))

    musicnn = tagger.load_tagger("cpu")
    tagger.tag_clip(frontend.load_signal(paths[0], max_seconds=30), model=musicnn)  # warm-up
    start = time.perf_counter()
    tagged = [tagger.tag_clip(frontend.load_signal(p, max_seconds=30), model=musicnn).embedding for p in paths]
    tagger_seconds = time.perf_counter() - start
    tagger_vectors = np.array(tagged, dtype=np.float64)
    msd = tagger.load_tagger("cpu", vocabulary="msd")
    msd_vectors = np.array([tagger.tag_clip(frontend.load_signal(p, max_seconds=30), model=msd).embedding for p in paths],
                           dtype=np.float64)

    def zscored(vectors):
        spread = vectors.std(axis=0)
        return (vectors - vectors.mean(axis=0)) / np.where(spread > 0, spread, 1)

    teacher, msd_teacher = zscored(tagger_vectors), zscored(msd_vectors)
    both_vectors = np.hstack([teacher, msd_teacher])
    tagger_per_query = {
        "tagger": evaluation.per_query_precision(evaluation.standardised_vectors(tagger_vectors), labels, k=K),
        "tagger_msd": evaluation.per_query_precision(evaluation.standardised_vectors(msd_vectors), labels, k=K),
        "tagger_both": evaluation.per_query_precision(evaluation.unit_rows(both_vectors), labels, k=K),
    }
    counts = {style: styles.count(style) for style in set(styles)}

    def precision(vectors) -> float:
        return evaluation.evaluate("", vectors, labels, k=K, n_queries=n).precision_at_k

    return SimpleNamespace(
        paths=paths, styles=styles, labels=labels, n=n, mels=mels, counts=counts, precision=precision,
        teacher=both_vectors,  # both taggers as teachers, MTT and MSD z-scored side by side
        tagger_per_query=tagger_per_query,
        best_tagger=max(tagger_per_query, key=lambda name: tagger_per_query[name].mean()),
        tagger_seconds=tagger_seconds,
        figures={
            "tagger": precision(evaluation.standardised_vectors(tagger_vectors)),
            "tagger_msd": float(tagger_per_query["tagger_msd"].mean()),
            "tagger_both": float(tagger_per_query["tagger_both"].mean()),
            "feature": precision(evaluation.standardised_vectors(np.array(features))),
            "mfcc": precision(evaluation.standardised_vectors(np.array(mfccs))),
        },
        chance=float(np.mean([(counts[s] - 1) / (n - 1) for s in styles])),
    )


def measure_training(inputs, args, seed: int):
    """Train the CNN with ``seed`` and measure it (``measure``)."""
    from recommender.cnn import contrastive, ensemble

    defaults = contrastive.TrainingConfig()
    config = contrastive.TrainingConfig(
        seed=seed, steps=args.steps or defaults.steps,
        distill_weight=defaults.distill_weight if args.distill is None else args.distill,
        held_aside=args.held_aside, check_every=args.check_every or defaults.check_every,
        patience=args.patience or defaults.patience, unit_cells=args.unit_cells,
        pooling=args.pooling or defaults.pooling,
        pool_sharpness=defaults.pool_sharpness if args.sharpness is None else args.sharpness,
        members=args.members or defaults.members, crop_frames=args.crop_frames or defaults.crop_frames,
    )
    if args.load_models:  # measure a network trained before (--save-models), without training it again
        model = contrastive.load_bytes((args.load_models / f"cnn-seed-{seed}.pt").read_bytes())
        config = dataclasses.replace(config, members=len(getattr(model, "members", [model])))
        trained = contrastive.TrainingResult(model=model, steps=config.steps * config.members)
    else:
        trained = ensemble.train(inputs.mels, config, teacher=inputs.teacher)
    if args.save_models:
        args.save_models.mkdir(parents=True, exist_ok=True)
        (args.save_models / f"cnn-seed-{seed}.pt").write_bytes(contrastive.save_bytes(trained.model, config=config))
    return measure(inputs, args, seed, config, trained)


def measure(inputs, args, seed: int, config, trained):
    """One trained network's (or ensemble's) figures: (the JSON line's, the per-query precision, the network, the
    config it trained with)."""
    import numpy as np
    import torch

    from explanations import cnn_measures, fidelity, network_regions
    from recommender import evaluation
    from recommender.cnn import contrastive, frontend

    paths, mels, styles, labels, n = inputs.paths, inputs.mels, inputs.styles, inputs.labels, inputs.n
    model = trained.model
    contrastive.embed(model, frontend.log_mel(frontend.load_signal(paths[0], max_seconds=30)))  # warm-up
    start = time.perf_counter()
    cnn_vectors = np.array([contrastive.embed(model, frontend.log_mel(frontend.load_signal(p, max_seconds=30))) for p in paths])
    cnn_seconds = time.perf_counter() - start

    shown_vectors = cnn_measures.centred_scores(cnn_vectors)  # what the CNN index ranks by
    cnn_per_query = evaluation.per_query_precision(cnn_measures.centred_vectors(cnn_vectors), labels, k=K)
    best_tagger = inputs.best_tagger
    cnn_minus_best = evaluation.paired_bootstrap_interval(cnn_per_query, inputs.tagger_per_query[best_tagger], seed=seed)
    figures = {**inputs.figures, "cnn": inputs.precision(evaluation.unit_rows(cnn_vectors))}
    halves = [(contrastive.embed(model, m[: len(m) // 2]), contrastive.embed(model, m[len(m) // 2 :])) for m in mels]
    first, second = np.array([h[0] for h in halves]), np.array([h[1] for h in halves])
    crop_top1 = float(np.mean(np.argmax(first @ second.T, axis=1) == np.arange(n)))

    # What the explanation shows, and its faithfulness: of the score participants read (centred on these clips).
    shown = cnn_measures.shown(model, mels, k=K)
    centre = cnn_measures.centre_of(cnn_vectors)
    rng = np.random.default_rng(seed)
    similarity = np.array(shown_vectors, copy=True)
    np.fill_diagonal(similarity, -np.inf)
    queries = rng.permutation(n)[: args.pairs] if args.pairs <= n else rng.integers(0, n, args.pairs)
    top = [(int(q), int(np.argmax(similarity[q]))) for q in queries]
    randomisation = cnn_measures.randomisation_rank_correlation(model, mels, top, seed=seed)
    # The recommended track first: its regions are the ones outlined, and deleted in the explanation's order.
    pairs = [(mels[b], mels[a]) for a, b in top]
    fidelity_start = time.perf_counter()
    faithfulness = fidelity.evaluate_pairs(model, pairs, seed=seed, centre=centre)
    trials = fidelity.planted_trials(mels, styles, args.trials, rng, source="third", length=frontend.PATCH_FRAMES)
    pointing = fidelity.pointing_game(model, trials, centre=centre)
    liked_trials = fidelity.planted_trials(mels, styles, args.trials, rng, source="liked", length=frontend.PATCH_FRAMES)
    pointing_liked = fidelity.pointing_game(model, liked_trials, centre=centre)
    # The same game with a passage as long as an outline (6 s): the planted evidence weighs more in the score.
    passage = round(network_regions.PASSAGE_SECONDS * frontend.SAMPLE_RATE / frontend.HOP_LENGTH)
    long_trials = fidelity.planted_trials(mels, styles, args.trials, rng, source="third", length=passage)
    pointing_long = fidelity.pointing_game(model, long_trials, centre=centre)
    fidelity_seconds = time.perf_counter() - fidelity_start

    print(f"{n} clips, {len(inputs.counts)} styles, torch {torch.__version__} on {torch.get_num_threads()} CPU thread(s)")
    print(f"style precision@{K}: CNN {figures['cnn']:.3f}, tagger MTT {figures['tagger']:.3f}, MSD {figures['tagger_msd']:.3f}, "
          f"both {figures['tagger_both']:.3f}, features {figures['feature']:.3f}, mean MFCCs {figures['mfcc']:.3f}, "
          f"chance {inputs.chance:.3f}")
    best_mean = inputs.tagger_per_query[best_tagger].mean()
    print(f"CNN (centred) minus the best tagger ({best_tagger}): {cnn_per_query.mean() - best_mean:+.3f}, "
          f"paired bootstrap 95 % [{cnn_minus_best[0]:+.3f}, {cnn_minus_best[1]:+.3f}]")
    print(f"shown score IQR {shown.score_iqr:.3f} (uncentred cosine {shown.score_iqr_uncentred:.3f}); outlined regions carry "
          f"a median {shown.top_share_median:.0%} of the positive contributions ({shown.outlined_none:.0%} with nothing "
          f"outlined); model randomisation rank correlation {randomisation:.3f}")
    print(f"CNN: trained {trained.steps} steps in {trained.seconds:.0f} s; {n / cnn_seconds:.1f} clips/s embedding "
          f"(decoding included); same-track crop retrieval top-1 {crop_top1:.3f} (chance {1 / n:.3f})")
    print(f"tagger: {n / inputs.tagger_seconds:.2f} clips/s (decoding included)")
    d, i = faithfulness.deletion_auc, faithfulness.insertion_auc
    print(f"explanations ({faithfulness.pairs} pairs): deletion AUC {d['explanation']:.3f} vs random {d['random']:.3f}, "
          f"occlusion {d['occlusion']:.3f}; insertion AUC {i['explanation']:.3f} vs random {i['random']:.3f}, occlusion "
          f"{i['occlusion']:.3f}; pointing game {pointing.hits}/{pointing.trials} (chance {pointing.chance:.3f}); a liked "
          f"passage planted in the recommendation found {pointing_liked.hits}/{pointing_liked.trials} "
          f"(chance {pointing_liked.chance:.3f}); planting raised the score by a median {pointing.score_gain:.3f}; "
          f"with a {network_regions.PASSAGE_SECONDS:.0f}-s passage {pointing_long.hits}/{pointing_long.trials} (chance "
          f"{pointing_long.chance:.3f}, score raised by {pointing_long.score_gain:.3f})")
    unseen = {}
    if trained.held_aside:
        held = np.array(trained.held_aside)
        unseen = {
            "held_aside_clips": len(held), "best_step": trained.best_step,
            "member_best_steps": [member.best_step for member in trained.members],  # an ensemble's, each network's own
            "held_aside_checks": [[int(step), round(float(score), 4)] for step, score in trained.checks],
            "held_aside_cnn_precision_at_5": round(float(cnn_per_query[held].mean()), 4),
            "held_aside_best_tagger_precision_at_5": round(float(inputs.tagger_per_query[best_tagger][held].mean()), 4),
        }
        print(f"early stopping: {len(held)} clips held aside; checks {unseen['held_aside_checks']}; kept step "
              f"{trained.best_step or unseen['member_best_steps']}; as queries, precision@5 CNN {unseen['held_aside_cnn_precision_at_5']:.3f} vs "
              f"{best_tagger} {unseen['held_aside_best_tagger_precision_at_5']:.3f}")
    return {
        **unseen,
        "n_clips": n,
        "clips": str(args.data.name),
        "seed": seed,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "cnn_precision_at_5": round(figures["cnn"], 4),
        "tagger_precision_at_5": round(figures["tagger"], 4),
        "tagger_msd_precision_at_5": round(figures["tagger_msd"], 4),
        "tagger_both_precision_at_5": round(figures["tagger_both"], 4),
        "cnn_centred_precision_at_5": round(float(cnn_per_query.mean()), 4),
        "best_tagger": best_tagger,
        "cnn_minus_best_tagger_ci": [round(cnn_minus_best[0], 4), round(cnn_minus_best[1], 4)],
        "score_iqr": shown.score_iqr,
        "score_iqr_uncentred": shown.score_iqr_uncentred,
        "top3_share_median": shown.top_share_median,
        "outlined_none_share": shown.outlined_none,
        "randomisation_rank_correlation": randomisation,
        "feature_precision_at_5": round(figures["feature"], 4),
        "mfcc_precision_at_5": round(figures["mfcc"], 4),
        "chance": round(inputs.chance, 4),
        "best_minus_mfcc": round(max(figures["cnn"], figures["tagger"]) - figures["mfcc"], 4),
        "best_minus_feature": round(max(figures["cnn"], figures["tagger"]) - figures["feature"], 4),
        "cnn_minus_mfcc": round(figures["cnn"] - figures["mfcc"], 4),
        "crop_retrieval_top1": round(crop_top1, 4),
        "train_seconds": round(trained.seconds, 1),
        "train_steps": trained.steps,
        "train_seconds_per_step": round(trained.seconds / max(1, trained.steps), 3),
        "distill_weight": config.distill_weight,
        "members": config.members,
        "crop_frames": config.crop_frames,
        "pooling": config.pooling,
        "pool_sharpness": config.pool_sharpness,
        "clips_per_second": round(n / cnn_seconds, 2),
        "tagger_clips_per_second": round(n / inputs.tagger_seconds, 2),
        "deletion_auc": d["explanation"],
        "deletion_auc_random": d["random"],
        "deletion_auc_occlusion": d["occlusion"],
        "insertion_auc": i["explanation"],
        "insertion_auc_random": i["random"],
        "insertion_auc_occlusion": i["occlusion"],
        "fidelity_pairs": faithfulness.pairs,
        "pointing_trials": pointing.trials,
        "pointing_hit_rate": round(pointing.hit_rate, 4),
        "pointing_chance": round(pointing.chance, 4),
        "pointing_hit_rate_liked_passage": round(pointing_liked.hit_rate, 4),
        "pointing_chance_liked_passage": round(pointing_liked.chance, 4),
        "splice_share": round(pointing.splice_share, 4),
        "pointing_score_gain_median": round(pointing.score_gain, 4),
        "pointing_hit_rate_passage": round(pointing_long.hit_rate, 4),
        "pointing_chance_passage": round(pointing_long.chance, 4),
        "pointing_score_gain_median_passage": round(pointing_long.score_gain, 4),
        "fidelity_seconds": round(fidelity_seconds, 1),
    }, cnn_per_query, trained.model, config


def combined(runs, inputs, seeds: list[int], joint: dict) -> dict:
    """One JSON object for several trainings: every number the mean over the seeds (the same keys as one
    training's), each seed's own figures, the targets' [min, max], the bootstrap interval of the
    seed-averaged per-query precision of the CNN minus the best tagger's, and the figures of the seeds'
    networks as one ensemble (``joint``)."""
    import numpy as np

    from recommender import evaluation

    figures = [f for f, *_ in runs]
    out = {}
    for key, value in figures[0].items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or all(f[key] == value for f in figures):
            out[key] = value  # what every seed shares (the clips' count, the settings) stays as it is
        else:
            out[key] = round(float(np.mean([f[key] for f in figures])), 4)
    per_query = np.mean([q for _, q, *_ in runs], axis=0)
    low, high = evaluation.paired_bootstrap_interval(per_query, inputs.tagger_per_query[inputs.best_tagger], seed=seeds[0])
    out.update({
        "ensemble_centred_precision_at_5": joint["cnn_centred_precision_at_5"],
        "ensemble_minus_best_tagger_ci": joint["cnn_minus_best_tagger_ci"],
        "ensemble": {key: joint[key] for key in (*TARGETS, "cnn_minus_best_tagger_ci", "insertion_auc",
                                                  "insertion_auc_random", "insertion_auc_occlusion", "members")},
        "seed": seeds[0],
        "seeds": seeds,
        "cnn_minus_best_tagger_ci": [round(low, 4), round(high, 4)],
        "spread": {key: [min(f[key] for f in figures), max(f[key] for f in figures)] for key in TARGETS},
        "per_seed": figures,
    })
    print(f"over seeds {','.join(map(str, seeds))}: " + "; ".join(
        f"{key} {out[key]:.3f} [{out['spread'][key][0]:.3f}, {out['spread'][key][1]:.3f}]" for key in TARGETS
    ) + f"; seed-averaged CNN minus {inputs.best_tagger} [{low:+.3f}, {high:+.3f}]")
    print("the seeds' networks as one ensemble: " + "; ".join(f"{key} {joint[key]:.3f}" for key in TARGETS))
    return out


if __name__ == "__main__":
    main()
