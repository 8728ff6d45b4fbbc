"""A catalog's clips to a study ready to open in one pipeline (research.services.preparing): every stage run and
reported, nothing done twice, an interrupted run resumed, a bad clip reported without stopping the rest, one run
per catalog at a time, and the command's plan, bars and summary."""
import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recommender import networks
from recommender import services as recommender_services
from recommender.models import SimilarityIndex, Track, TrackEmbedding
from research import services
from research.services import preparing
from study.models import AuditEntry, Preparation
from study.services import FlowError
from tests.factories import make_study

pytestmark = pytest.mark.django_db(transaction=True)

FAST_CNN = {"cnn_minutes": 2, "cnn_training": {"steps": 4, "batch_size": 6, "crop_frames": 64}}
FS = SimilarityIndex.FeatureSet


@pytest.fixture
def raw_catalog(db, memoised_audio_work):
    """Twelve 4-s clips, two per style, imported and nothing else: no analysis, no model, no index."""
    catalog, _ = recommender_services.catalog_create_demo(slug="fresh", per_style=2, seconds=4, seed=7)
    return catalog


@pytest.fixture
def four_conditions(raw_catalog):
    """A draft study (it is prepared before it opens) with every explanation on every recommender."""
    return make_study(raw_catalog, slug="launch", state="draft", conditions=[
        ("features", "features", 1, "features"), ("spectrogram", "spectrogram", 1, "cnn"),
        ("tags", "tags", 1, "tagger"), ("control", "none", 1, "features"),
    ])


def _prepare(catalog, study=None, **options):
    preparation = services.preparation_create(catalog=catalog, study=study, actor="test", options={**FAST_CNN, **options})
    heard = []
    services.preparation_run(preparation=preparation, listener=heard.append)
    preparation.refresh_from_db()
    return preparation, heard


def _stage(preparation, name):
    return next(s for s in preparation.stages if s["name"] == name)


def test_a_preparation_runs_every_stage_and_leaves_the_study_ready_to_open(raw_catalog, four_conditions):
    preparation, heard = _prepare(raw_catalog, four_conditions)

    assert preparation.state == Preparation.State.DONE and preparation.error == ""
    assert [s["name"] for s in preparation.stages] == list(preparing.STAGES)
    assert all(s["state"] == "done" and s["done"] == s["total"] for s in preparation.stages), preparation.stages
    assert _stage(preparation, "analysis")["total"] == 12 == raw_catalog.tracks.filter(status=Track.Status.ANALYSED).count()
    assert _stage(preparation, "taggers")["total"] == 24  # both vocabularies
    assert _stage(preparation, "embedding")["total"] == 12
    for feature_set in (FS.AUDIO, FS.TAGGER, FS.TAGGER_MSD, FS.CNN):
        assert recommender_services.catalog_latest_index(raw_catalog, feature_set) is not None, feature_set
    # The study is ready: every explanation drawn, every index there; the checklist says nothing of either.
    warnings = " ".join(services.study_warnings(four_conditions))
    assert "not prerendered" not in warnings and "index yet" not in warnings
    batches = services.study_prerender_plan(study=four_conditions)
    wanted = sum(b.explanations for b in batches)
    assert _stage(preparation, "prerender")["total"] == wanted == services.study_prerender_done(batches=batches) > 0
    # The evaluation: each recommender against chance, each index's spread, each vocabulary's first tags.
    summary = preparation.summary
    assert {row["recommender"].split(" (index")[0] for row in summary["quality"]} >= {
        "standardised cosine, audio features", "CNN trained on the catalog"}
    assert 0 < summary["chance"] < 1 and all(0 <= row["precision"] <= 1 for row in summary["quality"])
    assert set(summary["spread"]) == {FS.AUDIO, FS.TAGGER, FS.TAGGER_MSD, FS.CNN}
    assert all(low <= high for low, high in summary["spread"].values())
    assert set(summary["tags"]) == {FS.TAGGER, FS.TAGGER_MSD} and len(summary["tags"][FS.TAGGER]) == 5
    # Progress was heard stage by stage, and the job was logged for the study.
    assert [h["name"] for h in heard if h["state"] == "done"] == list(preparing.STAGES)
    assert AuditEntry.objects.get(action=AuditEntry.Action.PREPARE, study=four_conditions).detail["catalog"] == "fresh"


def test_a_second_preparation_does_nothing_twice(raw_catalog, four_conditions):
    first, _ = _prepare(raw_catalog, four_conditions)
    indexes, embeddings = SimilarityIndex.objects.count(), TrackEmbedding.objects.count()

    plan = services.preparation_plan(catalog=raw_catalog, study=four_conditions, options=FAST_CNN)
    assert {s["name"]: s["total"] for s in plan if s["name"] != "prerender"} == {
        "analysis": 0, "taggers": 0, "cnn": 0, "embedding": 0, "indexes": 5, "evaluation": 1}
    second, _ = _prepare(raw_catalog, four_conditions)

    assert second.state == Preparation.State.DONE
    assert _stage(second, "analysis")["total"] == _stage(second, "taggers")["total"] == 0
    assert _stage(second, "cnn")["note"] == "kept the CNN trained on these clips"
    assert _stage(second, "embedding")["total"] == 0
    assert (SimilarityIndex.objects.count(), TrackEmbedding.objects.count()) == (indexes, embeddings)
    assert "were already" in _stage(second, "prerender")["note"]
    assert _stage(second, "prerender")["note"].startswith(f"{_stage(first, 'prerender')['total']} explanations")


def test_an_interrupted_preparation_fails_saying_where_and_the_next_one_resumes(raw_catalog, monkeypatch):
    embed, calls = networks.track_embed, []

    def dies_after_five(**kwargs):
        calls.append(kwargs["track"].pk)
        if len(calls) > 5:
            raise RuntimeError("worker lost")
        return embed(**kwargs)

    monkeypatch.setattr(networks, "track_embed", dies_after_five)
    preparation = services.preparation_create(catalog=raw_catalog, actor="test", options=FAST_CNN)
    with pytest.raises(RuntimeError):
        services.preparation_run(preparation=preparation)
    preparation.refresh_from_db()
    assert preparation.state == Preparation.State.FAILED
    assert preparation.error == "taggers: worker lost"
    assert _stage(preparation, "analysis")["state"] == "done" and _stage(preparation, "taggers")["state"] == "failed"
    assert _stage(preparation, "taggers")["done"] == 5

    monkeypatch.setattr(networks, "track_embed", embed)
    resumed, _ = _prepare(raw_catalog)
    assert resumed.state == Preparation.State.DONE
    assert _stage(resumed, "analysis")["total"] == 0  # kept from the first run
    assert _stage(resumed, "taggers")["total"] == 24 - 5  # only what was missing


def test_a_clip_that_cannot_be_decoded_is_reported_and_the_rest_is_prepared(raw_catalog):
    broken = raw_catalog.tracks.order_by("pk").first()
    with open(broken.audio.path, "wb") as handle:
        handle.write(b"not audio at all" * 100)

    preparation, _ = _prepare(raw_catalog, cnn=False)

    assert preparation.state == Preparation.State.DONE
    assert "11 clips analysed; 1 could not be decoded" in _stage(preparation, "analysis")["note"]
    assert Track.objects.get(pk=broken.pk).status == Track.Status.FAILED
    assert _stage(preparation, "cnn")["state"] == "skipped" and _stage(preparation, "embedding")["state"] == "skipped"
    assert len(recommender_services.catalog_latest_index(raw_catalog, FS.AUDIO).track_ids) == 11


def test_clips_analysed_by_a_pool_of_processes_are_stored_as_one_process_stores_them(raw_catalog):
    preparation, _ = _prepare(raw_catalog, cnn=False, workers=2, vocabularies=["mtt"])
    pooled = {t.external_id: t.analysis.features for t in raw_catalog.tracks.select_related("analysis")}
    track = raw_catalog.tracks.order_by("pk").first()
    recommender_services.track_analyse(track=track, force=True)
    track.analysis.refresh_from_db()
    assert track.analysis.features == pooled[track.external_id]
    assert _stage(preparation, "analysis")["done"] == 12


def test_one_preparation_of_a_catalog_at_a_time_and_a_silent_one_is_taken_for_dead(raw_catalog):
    first = services.preparation_create(catalog=raw_catalog, actor="test", options=FAST_CNN)
    with pytest.raises(services.PreparationBusy, match="being prepared already"):
        services.preparation_create(catalog=raw_catalog, actor="test")
    Preparation.objects.filter(pk=first.pk).update(state="running")
    Preparation.objects.filter(pk=first.pk).update(
        updated_at=first.updated_at.replace(year=first.updated_at.year - 1))
    assert Preparation.objects.get(pk=first.pk).stalled
    second = services.preparation_create(catalog=raw_catalog, actor="test", options=FAST_CNN)
    assert Preparation.objects.get(pk=first.pk).state == Preparation.State.FAILED
    assert "taken as dead" in Preparation.objects.get(pk=first.pk).error
    assert second.state == Preparation.State.QUEUED


def test_a_study_is_prepared_only_with_its_own_catalog(raw_catalog, demo_catalog):
    elsewhere = make_study(demo_catalog, slug="elsewhere")
    with pytest.raises(FlowError, match="does not use"):
        services.preparation_create(catalog=raw_catalog, study=elsewhere, actor="test")


def test_the_command_shows_its_plan_then_a_bar_per_stage_and_the_evaluation(raw_catalog, four_conditions):
    out = io.StringIO()
    call_command("prepare_catalog", "fresh", "--study", "launch", "--plan", stdout=out)
    plan = out.getvalue()
    assert re.search(r"analysis\s+12 to do, about \d+ s", plan) and "in all about" in plan
    assert not Preparation.objects.exists()  # --plan does nothing

    out, err = io.StringIO(), io.StringIO()
    call_command("prepare_catalog", "fresh", "--study", "launch", "--cnn-minutes", "1", "--cnn-steps", "4",
                 "--workers", "1", stdout=out, stderr=err)
    text = out.getvalue()
    assert "Stages: analysis" in text and "prerender" in text
    assert "Recommenders, share of the 5 nearest tracks" in text and "Tags the tagger index puts first" in text
    assert "Launch checklist:" in text and "not prerendered" not in text
    assert Preparation.objects.get().state == Preparation.State.DONE

    with pytest.raises(CommandError, match="No catalog"):
        call_command("prepare_catalog", "nope")
    with pytest.raises(CommandError, match="--vocabularies takes"):
        call_command("prepare_catalog", "fresh", "--vocabularies", "klingon")


def test_the_prepare_page_shows_the_job_to_members_and_starts_it_only_for_those_who_may(raw_catalog, four_conditions):
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    from study.models import StudyMember
    from tests.research.test_access import _staff

    url = reverse("admin:study_study_prepare", args=[four_conditions.pk])
    accounts = {
        "superuser": User.objects.create_superuser("boss", password="pw"),
        "assistant": _staff("assistant", "study.view_study", "study.change_study", "recommender.change_catalog"),
        "assistant_without_catalogs": _staff("helper", "study.view_study", "study.change_study"),
        "watcher": _staff("watcher", "study.view_study", "recommender.change_catalog"),
        "nobody": _staff("nobody"),
    }
    for name in ("assistant", "assistant_without_catalogs"):
        StudyMember.objects.create(study=four_conditions, user=accounts[name], role=StudyMember.Role.COLLABORATOR)
    StudyMember.objects.create(study=four_conditions, user=accounts["watcher"], role=StudyMember.Role.VIEWER)
    clients = {}
    for name, user in accounts.items():
        clients[name] = Client()
        clients[name].force_login(user)

    assert clients["nobody"].get(url).status_code == 404  # not their study: it does not exist for them
    page = clients["watcher"].get(url)
    assert page.status_code == 200 and "What is left to do" in page.content.decode()
    assert "needs a role that may configure" in page.content.decode()
    assert clients["watcher"].post(url, {"cnn_minutes": 1, "cnn": "on"}).status_code == 403
    assert clients["assistant_without_catalogs"].post(url, {"cnn_minutes": 1, "cnn": "on"}).status_code == 403
    assert not Preparation.objects.exists()

    sent = []
    import research.services.preparing as preparing_module

    original = preparing_module.enqueue
    preparing_module.enqueue = lambda name, *args, **kwargs: sent.append((name, args, kwargs))
    try:
        response = clients["assistant"].post(url, {"cnn_minutes": 1, "cnn": "on"})
    finally:
        preparing_module.enqueue = original
    assert response.status_code == 302
    preparation = Preparation.objects.get()
    assert sent == [("research.tasks.prepare_catalog", (preparation.pk,), {"background": True})]
    assert preparation.options["cnn_minutes"] == 1 and preparation.options["workers"] == 1
    assert preparation.requested_by == accounts["assistant"] and preparation.study == four_conditions

    # The worker's run, then the panel: each stage, its count, its note; the evaluation.
    preparation.options.update(FAST_CNN)
    preparation.save()
    services.preparation_run(preparation=preparation)
    panel = clients["superuser"].get(url).content.decode()
    assert "The last preparation: Done" in panel and 'id="preparation-stages"' in panel
    assert "12 / 12" in panel and "Audio analysis" in panel and 'id="preparation-quality"' in panel
    assert "by assistant" in panel


def test_a_catalog_a_running_study_uses_is_not_analysed_further_by_a_preparation(raw_catalog, four_conditions):
    four_conditions.state = "open"
    four_conditions.save()
    preparation = services.preparation_create(catalog=raw_catalog, study=four_conditions, actor="test", options=FAST_CNN)
    with pytest.raises(recommender_services.CatalogLocked):
        services.preparation_run(preparation=preparation)
    preparation.refresh_from_db()
    assert preparation.state == Preparation.State.FAILED and "which has left draft" in preparation.error
    assert not raw_catalog.tracks.filter(status=Track.Status.ANALYSED).exists()
