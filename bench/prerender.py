"""Preparing a study's explanations: a folder of clips imported as a catalog, the study of issue 18 built on it,
and every explanation its participants can be shown computed, in English and German, timed.

The study: feature chart on the feature recommender, spectrogram on the catalog's CNN, tags on the musicnn
tagger, a control. Import, analysis, tagging and the CNN's (short) training are set-up, not timed; `seconds`
is prerendering alone, done in this process as `prerender_explanations` does it on the embedded default.
Baseline: the same pairs drawn the way Resonance drew them before (matplotlib figures, wide and narrow, per
pair, kind and language), timed on a sample of pairs in the same run and scaled to all of them.

    .venv/bin/python bench/prerender.py [--data DIR] [--steps N] [--baseline-pairs N] [--keep DIR]

Runs on a scratch SQLite database and media folder, with Celery eager, whatever the environment says; with
--keep DIR they stay there, and `DATABASE_URL=sqlite:///DIR/db.sqlite3 MEDIA_ROOT=DIR/media manage.py runserver`
serves the study ("bench") and its gallery.
"""
import argparse
import csv
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, report

REALMUSIC = ROOT.parent / "shared" / "realmusic"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=REALMUSIC, help="a folder with catalog.csv (title, style, path)")
    parser.add_argument("--steps", type=int, default=100, help="CNN training steps (set-up; 100 as the demo's)")
    parser.add_argument("--baseline-pairs", type=int, default=6, help="pairs drawn the old way, for the baseline")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the database and media in this (new) folder, to serve the study afterwards")
    args = parser.parse_args()
    if not (args.data / "catalog.csv").is_file():
        raise SystemExit(f"no catalog.csv in {args.data}: pass --data DIR")

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=False)
    scratch = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="resonance-prerender-"))
    os.environ.update({
        "DATABASE_URL": f"sqlite:///{scratch / 'db.sqlite3'}", "MEDIA_ROOT": str(scratch / "media"),
        "CELERY_BROKER_URL": "", "CELERY_TASK_ALWAYS_EAGER": "true",
    })
    try:
        run(args, scratch)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


def run(args, scratch: Path):
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from recommender.catalog_import import catalog_import_file
    from recommender.models import Catalog, Track
    from research import services as research
    from study.models import Condition

    # The folder as a generic catalog: its clips copied flat, named by their row.
    clips = scratch / "clips"
    clips.mkdir()
    sheet = scratch / "catalog.csv"
    rows = list(csv.DictReader((args.data / "catalog.csv").open()))
    with sheet.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "artist", "genre", "audio"])
        for number, row in enumerate(rows):
            name = f"clip{number}{Path(row['path']).suffix}"
            shutil.copy(args.data / row["path"], clips / name)
            writer.writerow([row.get("track_id") or number, row.get("title") or name, row.get("artist_or_source") or "unknown",
                             row.get("style", ""), name])
    set_up = time.perf_counter()
    catalog_import_file(csv_path=sheet, format="generic", slug="bench", name="Bench", audio_dir=clips)
    catalog = Catalog.objects.get(slug="bench")
    call_command("embed_catalog", "bench", verbosity=0)
    call_command("train_cnn", "bench", "--steps", str(args.steps), verbosity=0)
    set_up = time.perf_counter() - set_up
    tracks = catalog.tracks.filter(status=Track.Status.ANALYSED).count()

    R = Condition.Recommender
    study = research.study_create(
        slug="bench", title="Bench", catalog=catalog, consent_text="Consent.",
        conditions=[("features", "Feature chart", "features", 1, R.FEATURES),
                    ("spectrogram", "Spectrogram", "spectrogram", 1, R.CNN),
                    ("tags", "Tags", "tags", 1, R.TAGGER),
                    ("control", "Control", "none", 1, R.FEATURES)],
        translations={"de": {"title": "Bench", "consent_text": "Einwilligung."}},
    )
    batches = research.study_prerender_plan(study=study)
    wanted = sum(b.explanations for b in batches)
    from tqdm import tqdm

    start = time.perf_counter()
    with tqdm(total=wanted, desc="explanations", unit="expl", file=sys.stderr) as bar:
        research.study_prerender_explanations(study=study, in_process=True, progress=bar.update, batches=batches)
    seconds = time.perf_counter() - start
    done = research.study_prerender_done(batches=batches)
    pairs = sum(len(b.pairs) for b in batches)

    baseline_per_pair = matplotlib_seconds_per_pair(batches, args.baseline_pairs)
    baseline = baseline_per_pair * pairs
    report({
        "tracks": tracks, "pairs": pairs, "explanations": wanted, "ready": done, "seconds": round(seconds, 1),
        "ms_per_explanation": round(1000 * seconds / max(1, wanted), 2), "set_up_seconds": round(set_up, 1),
        "baseline_seconds_estimated": round(baseline, 1), "baseline_pairs_timed": args.baseline_pairs,
        "speedup": round(baseline / seconds, 1) if seconds else None, "budget_seconds": 180,
    })


def matplotlib_seconds_per_pair(batches, n_pairs: int) -> float:
    """Seconds the matplotlib figures of before took for one pair of each batch: every kind it shows, both
    layouts, each language, drawn from the numbers just stored (so the baseline draws the same bars, outlines and
    tags), measured on ``n_pairs`` pairs of each batch."""
    from django.utils import translation
    from matplotlib_figures import STACKED, WIDE, contribution_chart, spectrogram_pair

    from explanations import services, verdicts
    from explanations.models import Explanation
    from explanations.regions import Region
    from recommender import audio

    total = 0.0
    for batch in batches:
        sample = batch.pairs[:: max(1, len(batch.pairs) // max(1, n_pairs))][:n_pairs]
        stored = {
            (e.seed_track_id, e.track_id, e.kind, e.language): e
            for e in Explanation.objects.filter(index=batch.index).select_related("seed_track__analysis", "track__analysis")
        }
        start = time.perf_counter()
        for seed_id, track_id in sample:
            for language in batch.languages:
                with translation.override(language):
                    for kind in batch.kinds:
                        explanation = stored[(seed_id, track_id, kind, language)]
                        data = explanation.data
                        if kind in ("features", "tags"):  # the old tags chart was a bar chart like this one
                            rows = data["bars"] if kind == "features" else [
                                {"label": r["tag"], "share": r["liked"], "even_share": r["threshold"], "verdict": "alike",
                                 "values": ""} for r in data["rows"]]
                            bars = [verdicts.ChartBar(r["label"], r["share"], (), r["even_share"], r["verdict"]) for r in rows]
                            for narrow in (False, True):
                                contribution_chart(bars, data["score"], [r["values"] for r in rows], narrow=narrow)
                        else:
                            a, b = services.track_mel(explanation.seed_track), services.track_mel(explanation.track)
                            found = [Region(**{k: tuple(v) if isinstance(v, list) else v for k, v in r.items()})
                                     for r in data["regions"]]
                            for layout in (WIDE, STACKED):
                                spectrogram_pair(a, b, frequencies=audio.mel_frequencies(),
                                                 seconds_per_frame=audio.frame_seconds(), regions=found,
                                                 liked_title=explanation.seed_track.title,
                                                 recommended_title=explanation.track.title, score=data["score"],
                                                 layout=layout)
        total += (time.perf_counter() - start) / max(1, len(sample))
    return total


if __name__ == "__main__":
    main()
