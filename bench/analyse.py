"""Per 30 s clip: features + mel spectrogram + the track's spectrogram picture, against a plain baseline.

Baseline (a common notebook path): decode, scipy.signal.spectrogram, pcolormesh(shading='gouraud')
and savefig on a 10x4 inch figure, on the same clips. Also times 1 against 2 worker processes
analysing the same clips. Clips: ../shared/realmusic when present, else synthesised demo clips.
Targets: at least 5x faster per clip than the baseline; 2 workers at least 1.7x faster than 1.
"""
import argparse
import io
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

# One thread per process: the scaling figure is about processes, as Celery's prefork pool runs them.
for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(name, "1")

from _common import ROOT, report  # noqa: E402

REALMUSIC = ROOT.parent / "shared" / "realmusic"


def clips(n: int, folder: Path) -> tuple[list[Path], str]:
    found = sorted(REALMUSIC.glob("*/*.ogg")) if REALMUSIC.is_dir() else []
    if len(found) >= n:
        step = len(found) // n
        return found[::step][:n], "shared/realmusic"
    import soundfile

    from recommender import demo

    paths = []
    for index, style in demo.clip_plan(n // len(demo.STYLES) + 1)[:n]:
        clip = demo.synthesise_clip(index, style, seed=1, seconds=30)
        path = folder / f"clip-{index}.wav"
        soundfile.write(path, clip.signal, demo.SR)
        paths.append(path)
    return paths, "synthesised demo clips"


def ours(path: str) -> int:
    """What Resonance does per clip: analyse, then colour the track's spectrogram picture (drawn once per track;
    the page lays each pair's outlines over it)."""
    from explanations import drawing
    from recommender import audio

    result = audio.analyse_file(path)
    png, _ = drawing.spectrogram_png(result.mel_db)
    return len(png) + len(audio.mel_to_bytes(result.mel_db))


def baseline(path: str) -> int:
    import librosa
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from scipy.signal import spectrogram

    y, sr = librosa.load(path, sr=22050, mono=True, duration=30)
    frequencies, times, power = spectrogram(y, fs=sr)
    fig = Figure(figsize=(10, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.pcolormesh(times, frequencies, 10 * np.log10(power + 1e-12), shading="gouraud")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return len(buffer.getvalue())


def per_clip(function, paths) -> float:
    start = time.perf_counter()
    for path in paths:
        function(str(path))
    return (time.perf_counter() - start) / len(paths)


def pool_seconds(workers: int, paths) -> float:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(ours, [str(paths[0])] * workers))  # start and warm every worker first
        start = time.perf_counter()
        list(pool.map(ours, [str(p) for p in paths]))
        return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=8)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as folder:
        paths, source = clips(args.clips, Path(folder))
        ours(str(paths[0]))  # warm up imports and numba's compiled kernels
        baseline(str(paths[0]))
        ours_s = per_clip(ours, paths)
        baseline_s = per_clip(baseline, paths)
        one, two = pool_seconds(1, paths), pool_seconds(2, paths)
    report({
        "n_clips": len(paths),
        "clips": source,
        "seconds_per_clip": round(ours_s, 4),
        "baseline_seconds_per_clip": round(baseline_s, 4),
        "speedup": round(baseline_s / ours_s, 2),
        "one_worker_seconds": round(one, 2),
        "two_worker_seconds": round(two, 2),
        "two_worker_scaling": round(one / two, 2),
        "cpu_count": os.cpu_count(),
    })


if __name__ == "__main__":
    main()
