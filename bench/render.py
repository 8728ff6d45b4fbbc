"""Rendering explanation figures: milliseconds per figure, each layout, against the 200 ms budget.

Baseline: the same spectrogram figure drawn the plain way (a float image coloured by Agg,
constrained layout), as the first version of Resonance drew it. Clips: ../shared/realmusic
when present, else synthesised demo clips.
"""
import argparse
import io
import time

import numpy as np
from _common import ROOT, report, setup_django

setup_django()
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from explanations import charts, regions, verdicts  # noqa: E402
from recommender import audio, demo, similarity  # noqa: E402

REALMUSIC = ROOT.parent / "shared" / "realmusic"


def mels(n):
    paths = sorted(REALMUSIC.glob("*/*.ogg"))[:: max(1, 80 // n)][:n] if REALMUSIC.is_dir() else []
    if len(paths) == n:
        return [audio.analyse_file(p) for p in paths], "shared/realmusic"
    return [audio.analyse_signal(demo.synthesise_clip(i, s, 1).signal) for i, s in demo.clip_plan(n)[:n]], "demo clips"


def plain_spectrogram_pair(a, b):
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, mel in zip(axes, (a, b)):
        image = ax.imshow(mel.astype(np.float32), origin="lower", aspect="auto", cmap="magma", interpolation="nearest")
    fig.colorbar(image, ax=axes)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=charts.DPI)
    return buffer.getvalue()


def timed(function, repeats):
    function()
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    analysed, source = mels(args.clips)
    raw = np.array([[a.features[n] for n in audio.FEATURE_NAMES] for a in analysed])
    index = similarity.build_index(raw)
    vectors = index.vectors
    frequencies, spf = audio.mel_frequencies(), audio.frame_seconds()
    figures = {"feature_wide": [], "feature_narrow": [], "spectrogram_wide": [], "spectrogram_narrow": [], "plain_spectrogram": []}
    for a, b, va, vb in zip(analysed, analysed[1:], vectors, vectors[1:]):
        za, zb = index.zscores([[a.features[n] for n in audio.FEATURE_NAMES], [b.features[n] for n in audio.FEATURE_NAMES]])
        shares = similarity.distance_shares(za, zb, cosine=float(va @ vb))
        bars = verdicts.chart_bars(audio.FEATURE_NAMES, shares, a.features, b.features)
        values = [verdicts.bar_values(bar, a.features, b.features) for bar in bars]
        matrix = regions.segment_similarity(a.segments, b.segments, mean=index.mean, std=index.std)
        found = regions.matching_regions(matrix, segment_seconds=audio.SEGMENT_FRAMES * spf)
        score = float(va @ vb)
        kwargs = {
            "frequencies": frequencies, "seconds_per_frame": spf, "liked_title": "a", "recommended_title": "b", "score": score, "regions": found
        }
        # Each lambda is timed at once, inside this iteration: the loop variables it reads are the current ones.
        figures["feature_wide"].append(timed(lambda: charts.contribution_chart(bars, score, values), args.repeats))  # noqa: B023
        figures["feature_narrow"].append(timed(lambda: charts.contribution_chart(bars, score, values, narrow=True), args.repeats))  # noqa: B023
        figures["spectrogram_wide"].append(timed(lambda: charts.spectrogram_pair(a.mel_db, b.mel_db, **kwargs), args.repeats))  # noqa: B023
        figures["spectrogram_narrow"].append(
            timed(lambda: charts.spectrogram_pair(a.mel_db, b.mel_db, layout=charts.STACKED, **kwargs), args.repeats)  # noqa: B023
        )
        figures["plain_spectrogram"].append(timed(lambda: plain_spectrogram_pair(a.mel_db, b.mel_db), args.repeats))  # noqa: B023
    ms = {f"{name}_ms": round(float(np.mean(times)), 1) for name, times in figures.items()}
    worst = max(max(times) for name, times in figures.items() if name != "plain_spectrogram")
    report({
        "n_pairs": len(figures["feature_wide"]),
        "clips": source,
        **ms,
        "slowest_figure_ms": round(worst, 1),
        "budget_ms": 200,
        "spectrogram_speedup": round(ms["plain_spectrogram_ms"] / ms["spectrogram_wide_ms"], 2),
    })


if __name__ == "__main__":
    main()
