"""Drawing explanations: milliseconds per pair the page's way (the drawing's numbers and words, then the
template's HTML and SVG; each track's spectrogram picture once per track), against the matplotlib figures
Resonance drew per pair, kind, layout and language until now (bench/matplotlib_figures.py), in the same run.

Also the old figures' own baseline: the same spectrogram figure drawn the plain way (a float image coloured
by Agg, constrained layout). Clips: ../shared/realmusic when present, else synthesised demo clips.
"""
import argparse
import io
import time

import numpy as np
from _common import ROOT, report, setup_django

setup_django()
import matplotlib_figures as charts  # noqa: E402
from django.template.loader import render_to_string  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from explanations import drawing, regions, verdicts  # noqa: E402
from explanations.models import Explanation, Spectrogram  # noqa: E402
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
    figures = {"feature_wide": [], "feature_narrow": [], "spectrogram_wide": [], "spectrogram_narrow": [], "plain_spectrogram": [],
               "feature_drawn": [], "spectrogram_drawn": [], "spectrogram_picture": []}
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
        # The page's way: numbers and words, then the template (one layout for every width).
        figures["feature_drawn"].append(timed(lambda: drawn_features(bars, score, values), args.repeats))  # noqa: B023
        figures["spectrogram_drawn"].append(timed(lambda: drawn_spectrograms(found, a, b, score), args.repeats))  # noqa: B023
        figures["spectrogram_picture"].append(timed(lambda: drawing.spectrogram_png(a.mel_db), args.repeats))  # noqa: B023
    ms = {f"{name}_ms": round(float(np.mean(times)), 2) for name, times in figures.items()}
    old = ("feature_wide", "feature_narrow", "spectrogram_wide", "spectrogram_narrow")
    worst = max(max(times) for name, times in figures.items() if name in old)
    report({
        "n_pairs": len(figures["feature_wide"]),
        "clips": source,
        **ms,
        "slowest_figure_ms": round(worst, 1),
        "budget_ms": 200,
        "spectrogram_speedup": round(ms["plain_spectrogram_ms"] / ms["spectrogram_wide_ms"], 2),
        # Per pair and language: both old layouts against the drawing and its template; a track's picture is
        # drawn once per track, so it is left out of the per-pair cost (its time is reported beside it).
        "feature_per_pair_speedup": round((ms["feature_wide_ms"] + ms["feature_narrow_ms"]) / ms["feature_drawn_ms"], 1),
        "spectrogram_per_pair_speedup": round(
            (ms["spectrogram_wide_ms"] + ms["spectrogram_narrow_ms"]) / ms["spectrogram_drawn_ms"], 1
        ),
    })


def drawn_features(bars, score, values) -> str:
    explanation = Explanation(kind="features", data={"drawing": drawing.feature_drawing(bars, score, values)})
    return render_to_string("snippets/explanation.html", {"explanation": explanation})


def drawn_spectrograms(found, a, b, score) -> str:
    spf = audio.frame_seconds()
    pictures = [Spectrogram(image=f"spectrograms/{side}.png", pixels=[720, 128], seconds=m.mel_db.shape[1] * spf)
                for side, m in (("a", a), ("b", b))]
    drawn = drawing.spectrogram_drawing(
        regions=found, seconds=[p.seconds for p in pictures], frequencies=audio.mel_frequencies(), liked_title="a",
        recommended_title="b", score=score,
    )
    explanation = Explanation(kind="spectrogram", data={"drawing": drawn}, liked_spectrogram=pictures[0],
                              recommended_spectrogram=pictures[1])
    return render_to_string("snippets/explanation.html", {"explanation": explanation})


if __name__ == "__main__":
    main()
