"""From a folder of clips and its sheet to a study ready to open: the catalog imported, then `prepare_catalog`'s
pipeline (analysis, both musicnn taggers, the CNN within its budget, every index, the evaluation, every
explanation of a four-condition study in English and German), timed stage by stage.

    .venv/bin/python bench/launch.py [--data DIR | --synthetic N] [--cnn-minutes M] [--workers W] [--keep DIR]

--data DIR: a folder with catalog.csv (track_id, title, artist_or_source, style, license, path), default
../shared/realmusic. --synthetic N: N clips synthesised in the demo's six styles (made before the clock starts).
Targets on a 2-core machine: realmusic (80 clips) within 15 minutes, 1,000 synthetic clips within 60.

Baseline, measured in the same run: the analysis of a sample of clips one after the other in this process (what
`import_catalog` did per job), scaled to the catalog, against the pipeline's analysis stage on --workers
processes. Runs on a scratch SQLite database and media folder with Celery eager, whatever the environment says.
Ends with one JSON line: tracks, seconds, stages (seconds of each), explanations, ready, warnings, and the rest.
"""
import argparse
import csv
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, report, write_synthetic_clips

REALMUSIC = ROOT.parent / "shared" / "realmusic"
TARGET_SECONDS = {"data": 15 * 60, "synthetic": 60 * 60}


def main():
    parser = argparse.ArgumentParser()
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--data", type=Path, default=None, help="a folder with catalog.csv (default ../shared/realmusic)")
    source.add_argument("--synthetic", type=int, default=None, help="this many synthesised 30-s clips instead")
    parser.add_argument("--cnn-minutes", type=float, default=5.0, help="the CNN's training budget (default 5)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="analysis processes (default: cores)")
    parser.add_argument("--baseline-clips", type=int, default=8, help="clips analysed one by one for the baseline")
    parser.add_argument("--keep", type=Path, default=None, help="keep the database and media in this new folder")
    args = parser.parse_args()
    data = None if args.synthetic else (args.data or REALMUSIC)
    if data is not None and not (data / "catalog.csv").is_file():
        raise SystemExit(f"no catalog.csv in {data}: pass --data DIR or --synthetic N")

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=False)
    scratch = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="resonance-launch-"))
    os.environ.update({
        "DATABASE_URL": f"sqlite:///{scratch / 'db.sqlite3'}", "MEDIA_ROOT": str(scratch / "media"),
        "CELERY_BROKER_URL": "", "CELERY_TASK_ALWAYS_EAGER": "true",
    })
    try:
        run(args, data, scratch)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


def sheet_from_folder(data: Path, clips: Path, sheet: Path) -> None:
    """The folder's sheet with its own headers, clips copied flat; the import maps the headers (--columns)."""
    rows = list(csv.DictReader((data / "catalog.csv").open()))
    with sheet.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["track_id", "title", "artist_or_source", "style", "license", "path"])
        for number, row in enumerate(rows):
            name = f"clip{number}{Path(row['path']).suffix}"
            shutil.copy(data / row["path"], clips / name)
            writer.writerow([row.get("track_id") or number, row.get("title") or name,
                             row.get("artist_or_source") or "unknown", row.get("style", ""), row.get("license", ""), name])


def run(args, data, scratch: Path):
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from recommender import services as recommender_services
    from recommender.catalog_import import catalog_import_file
    from recommender.models import Catalog, Track
    from research import services as research
    from study.models import Condition

    clips = scratch / "clips"
    clips.mkdir()
    sheet = scratch / "catalog.csv"
    made = time.perf_counter()
    if data is not None:
        sheet_from_folder(data, clips, sheet)
    else:
        write_synthetic_clips(args.synthetic, clips, sheet)
    made = time.perf_counter() - made

    stages = {}
    start = time.perf_counter()
    catalog_import_file(
        csv_path=sheet, format="generic", slug="launch", name="Launch", audio_dir=clips, analyse=False,
        columns={"track_id": "id", "artist_or_source": "artist", "style": "genre", "path": "audio"},
    )
    catalog = Catalog.objects.get(slug="launch")
    R = Condition.Recommender
    study = research.study_create(
        slug="launch", title="Launch", catalog=catalog, consent_text="Consent.",
        conditions=[("features", "Feature chart", "features", 1, R.FEATURES),
                    ("spectrogram", "Spectrogram", "spectrogram", 1, R.CNN),
                    ("tags", "Tags", "tags", 1, R.TAGGER),
                    ("control", "Control", "none", 1, R.FEATURES)],
        translations={"de": {"title": "Launch", "consent_text": "Einwilligung."}}, state="draft",  # prepared, then opened
    )
    stages["import"] = round(time.perf_counter() - start, 1)

    # The baseline, before the pipeline (so both meet librosa cold): clips analysed one after the other here.
    sample = list(catalog.tracks.order_by("pk")[: args.baseline_clips])
    one_by_one = time.perf_counter()
    for track in sample:
        recommender_services.analyse_track_file(track.audio.path)
    per_clip = (time.perf_counter() - one_by_one) / max(1, len(sample))
    start += time.perf_counter() - one_by_one  # not part of the launch

    preparation = research.preparation_create(
        catalog=catalog, study=study, actor="bench",
        options={"cnn_minutes": args.cnn_minutes, "workers": args.workers},
    )
    research.preparation_run(preparation=preparation, listener=_Printer().show)
    seconds = time.perf_counter() - start
    preparation.refresh_from_db()
    stages.update({stage["name"]: stage["seconds"] for stage in preparation.stages})
    tracks = catalog.tracks.filter(status=Track.Status.ANALYSED).count()

    batches = research.study_prerender_plan(study=study)
    wanted = sum(b.explanations for b in batches)
    warnings = research.study_warnings(study)
    target = TARGET_SECONDS["data" if data is not None else "synthetic"]
    report({
        "tracks": tracks, "seconds": round(seconds, 1), "stages": stages,
        "dominant_stage": max((k for k in stages if k != "import"), key=stages.get),
        "explanations": wanted, "ready": research.study_prerender_done(batches=batches),
        "warnings": len(warnings), "workers": args.workers, "cnn_minutes": args.cnn_minutes,
        "clips_made_seconds": round(made, 1),
        "baseline_analysis_seconds": round(per_clip * tracks, 1),
        "analysis_speedup": round(per_clip * tracks / stages["analysis"], 2) if stages.get("analysis") else None,
        "target_seconds": target, "within_target": seconds <= target,
        "source": "synthetic" if data is None else str(data),
    })
    for warning in warnings:
        print(f"launch checklist: {warning}", file=sys.stderr)


class _Printer:
    """A line per stage as it ends (stderr), so a long run shows where it is."""

    def show(self, stage: dict) -> None:
        if stage["state"] in ("done", "skipped", "failed"):
            print(f"{stage['name']}: {stage['state']} in {stage['seconds']:.0f} s ({stage['note']})", file=sys.stderr)


if __name__ == "__main__":
    main()
