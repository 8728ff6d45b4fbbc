"""The benchmarks run (small) and end with the JSON line their contract names, so they cannot rot."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_bench(name, *args, env=None):
    result = subprocess.run(
        [sys.executable, f"bench/{name}.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_recommend_bench_reports_its_figures():
    figures = run_bench("recommend", "--tracks", "5000", "--queries", "50", "--baseline-queries", "5")
    assert {"n_tracks", "ms_per_query", "baseline_ms_per_query", "speedup", "index_bytes", "raw_bytes"} <= set(figures)
    assert figures["top10_agreement_with_baseline"] == 1.0
    assert figures["index_bytes"] <= 2 * figures["raw_bytes"]


def test_match_bench_reports_its_figures():
    figures = run_bench("match", "--tracks", "3000", "--rows", "300", "--baseline-rows", "5")
    assert {"n_rows", "n_candidates", "seconds", "speedup_per_row", "match_rate", "baseline_match_rate"} <= set(figures)
    assert figures["precision"] > 0.95


def test_analyse_bench_reports_its_figures():
    figures = run_bench("analyse", "--clips", "2")
    assert {"n_clips", "seconds_per_clip", "baseline_seconds_per_clip", "speedup", "two_worker_scaling"} <= set(figures)


@pytest.mark.postgres
@pytest.mark.xdist_group("scratch-postgres")  # both PostgreSQL benches create and drop one scratch database
def test_import_bench_reports_its_figures():
    import os

    figures = run_bench("import", "--rows", "2000", env={**os.environ, "DATABASE_URL": ""})
    assert figures["n_rows"] == 2000 and figures["tracks"] > 0 and "seconds" in figures


def test_render_bench_reports_its_figures():
    figures = run_bench("render", "--clips", "2", "--repeats", "1")
    assert {"feature_wide_ms", "spectrogram_wide_ms", "spectrogram_narrow_ms", "slowest_figure_ms", "feature_drawn_ms",
            "spectrogram_drawn_ms", "spectrogram_picture_ms", "feature_per_pair_speedup",
            "spectrogram_per_pair_speedup"} <= set(figures)


def clip_folder(folder, per_style: int, seconds: float):
    """A folder laid out like ../shared/realmusic: synthesised clips and a catalog.csv (path, style)."""
    import csv

    import soundfile

    from recommender import demo

    with (folder / "catalog.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["track_id", "title", "style", "path"])
        for index, style in demo.clip_plan(per_style):
            clip = demo.synthesise_clip(index, style, seed=1, seconds=seconds)
            soundfile.write(folder / f"clip{index}.wav", clip.signal, demo.SR)
            writer.writerow([index, clip.title, style, f"clip{index}.wav"])
    return folder


def test_prerender_bench_builds_the_four_condition_study_and_reports_its_figures(tmp_path):
    """The issue's study on a made-up folder, the CNN trained three steps: every explanation ready, in both languages."""
    figures = run_bench("prerender", "--data", str(clip_folder(tmp_path, 1, 6)), "--steps", "3", "--baseline-pairs", "1")
    assert figures["tracks"] == 6
    # Three indexes (features, CNN, tagger), each track with its nearest 5 + 3 (recommendations + liked): fewer here.
    assert figures["pairs"] == 3 * 6 * 5
    assert figures["ready"] == figures["explanations"] == 2 * figures["pairs"]  # one kind per index, two languages
    assert {"seconds", "baseline_seconds_estimated", "speedup"} <= set(figures)


@pytest.mark.postgres
@pytest.mark.xdist_group("scratch-postgres")
def test_search_bench_reports_its_figures():
    import os

    figures = run_bench("search", "--rows", "3000", "--queries", "20", env={**os.environ, "DATABASE_URL": ""})
    assert figures["n_tracks"] > 2000 and {"ms_median", "ms_p95", "baseline_ms_per_query"} <= set(figures)


def test_cnn_bench_reports_its_figures_on_any_folder_laid_out_like_realmusic(tmp_path):
    """A made-up folder (synthesised clips, catalog.csv with path and style), a few steps: every figure is there."""
    figures = run_bench("cnn", "--data", str(clip_folder(tmp_path, 2, 6)), "--steps", "3", "--pairs", "3", "--trials", "3",
                        "--held-aside", "0.25", "--check-every", "1", "--patience", "5", "--members", "2",
                        "--crop-frames", "128")
    assert figures["n_clips"] == 12 and figures["crop_frames"] == 128
    assert {
        "cnn_precision_at_5", "tagger_precision_at_5", "mfcc_precision_at_5", "feature_precision_at_5", "train_seconds",
        "clips_per_second", "tagger_clips_per_second", "deletion_auc", "deletion_auc_random", "pointing_hit_rate",
        "tagger_msd_precision_at_5", "tagger_both_precision_at_5", "cnn_minus_best_tagger_ci", "score_iqr",
        "top3_share_median", "deletion_auc_occlusion", "randomisation_rank_correlation", "pointing_score_gain_median",
        "pointing_hit_rate_passage",
    } <= set(figures)
    low, high = figures["cnn_minus_best_tagger_ci"]
    assert -1 <= low <= high <= 1 and 0 <= figures["top3_share_median"] <= 1
    # Several networks (of 3 steps each here) used as one, as train_cnn trains the CNN.
    assert figures["members"] == 2 and figures["train_steps"] == 2 * 3
    assert figures["fidelity_pairs"] == 3 and figures["pointing_trials"] == 3
    # Early stopping: three clips never trained on, a check after each step of each network, each network keeping
    # its best check's weights.
    assert figures["held_aside_clips"] == 3 and [step for step, _ in figures["held_aside_checks"]] == list(range(1, 7))
    assert all(step in (1, 2, 3) for step in figures["member_best_steps"]) and len(figures["member_best_steps"]) == 2
    assert 0 <= figures["held_aside_cnn_precision_at_5"] <= 1


def test_cnn_bench_averages_several_seeds_and_reports_each_seed_and_the_spread(tmp_path):
    """`--seeds 0,1` trains twice on inputs computed once: each figure is the seeds' mean, each seed's own figures
    and the range of the headline figures are there, the bootstrap interval uses the seed-averaged precision, and the
    seeds' networks are measured as one ensemble."""
    figures = run_bench("cnn", "--data", str(clip_folder(tmp_path, 2, 6)), "--steps", "2", "--pairs", "2", "--trials", "2",
                        "--held-aside", "0.25", "--check-every", "1", "--patience", "5", "--seeds", "0,1", "--members", "1",
                        "--save-models", str(tmp_path / "models"))
    assert figures["seeds"] == [0, 1] and [run["seed"] for run in figures["per_seed"]] == [0, 1]
    assert figures["n_clips"] == 12 and isinstance(figures["n_clips"], int)  # shared by the seeds: not averaged
    for key, (low, high) in figures["spread"].items():
        values = [run[key] for run in figures["per_seed"]]
        assert (low, high) == (min(values), max(values))
        assert figures[key] == pytest.approx(sum(values) / 2, abs=1e-4)
    assert "cnn_centred_precision_at_5" in figures["spread"] and "pointing_hit_rate" in figures["spread"]
    low, high = figures["cnn_minus_best_tagger_ci"]
    assert -1 <= low <= high <= 1
    from recommender.cnn import contrastive

    for seed in (0, 1):
        assert contrastive.load_bytes((tmp_path / "models" / f"cnn-seed-{seed}.pt").read_bytes()).pooling == "auto"
    low, high = figures["ensemble_minus_best_tagger_ci"]
    assert -1 <= low <= high <= 1 and 0 <= figures["ensemble_centred_precision_at_5"] <= 1
    joint = figures["ensemble"]  # the two seeds' single networks as one
    assert joint["members"] == 2 and set(figures["spread"]) <= set(joint) and 0 <= joint["pointing_hit_rate"] <= 1
    # The saved networks measure again, untrained, to the same figures.
    again = run_bench("cnn", "--data", str(clip_folder(tmp_path, 2, 6)), "--pairs", "2", "--trials", "2", "--seed", "1",
                      "--load-models", str(tmp_path / "models"))
    assert again["cnn_centred_precision_at_5"] == figures["per_seed"][1]["cnn_centred_precision_at_5"]
    assert again["deletion_auc"] == pytest.approx(figures["per_seed"][1]["deletion_auc"], abs=1e-3)


@pytest.mark.postgres
@pytest.mark.worker  # runs with the other real-service tests, one at a time
def test_load_bench_sends_participants_through_gunicorn_and_finds_every_answer_in_the_export():
    """A few participants, quickly, against gunicorn + a Celery worker + PostgreSQL + Redis: the launch bench's
    contract holds and nothing is lost."""
    figures = run_bench("load", "--participants", "6", "--arrival-s", "2", "--think-s", "0.02", "--per-style", "1")
    assert {"participants", "p95_ms", "p99_ms", "wait_p95_s", "errors", "max_condition_imbalance", "answers_given",
            "answers_exported"} <= set(figures)
    assert figures["participants"] == figures["completed"] == 6
    assert figures["errors"] == 0 and figures["answers_missing"] == 0
    assert figures["answers_given"] > 6 * 10 and figures["max_condition_imbalance"] <= 1
