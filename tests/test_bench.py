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
def test_import_bench_reports_its_figures():
    import os

    figures = run_bench("import", "--rows", "2000", env={**os.environ, "DATABASE_URL": ""})
    assert figures["n_rows"] == 2000 and figures["tracks"] > 0 and "seconds" in figures


def test_render_bench_reports_its_figures():
    figures = run_bench("render", "--clips", "2", "--repeats", "1")
    assert {"feature_wide_ms", "spectrogram_wide_ms", "spectrogram_narrow_ms", "slowest_figure_ms"} <= set(figures)


@pytest.mark.postgres
def test_search_bench_reports_its_figures():
    import os

    figures = run_bench("search", "--rows", "3000", "--queries", "20", env={**os.environ, "DATABASE_URL": ""})
    assert figures["n_tracks"] > 2000 and {"ms_median", "ms_p95", "baseline_ms_per_query"} <= set(figures)
