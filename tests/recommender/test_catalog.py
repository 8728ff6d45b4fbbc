import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command

from recommender import demo, services
from recommender.models import AudioAnalysis, Catalog, SimilarityIndex, Track
from tests.factories import AnalysedTrackFactory, CatalogFactory, TrackFactory, tone_bytes

# Catalog jobs are sent once the catalog is committed, as in a deployment.
pytestmark = pytest.mark.django_db(transaction=True)


def track_with_audio(catalog, name, content: bytes) -> Track:
    track = TrackFactory(catalog=catalog, external_id=name)
    track.audio.save(f"{name}.wav", ContentFile(content))
    return track


def test_a_corrupt_file_fails_only_its_own_track_and_says_why():
    catalog = CatalogFactory()
    good = track_with_audio(catalog, "good", tone_bytes())
    corrupt = track_with_audio(catalog, "corrupt", b"RIFF....WAVEnot really audio" * 10)
    empty = track_with_audio(catalog, "empty", b"")
    missing = TrackFactory(catalog=catalog, external_id="missing")

    services.catalog_analyse(catalog=catalog)
    services.track_analyse(track=missing)

    for track in (good, corrupt, empty, missing):
        track.refresh_from_db()
    assert good.status == Track.Status.ANALYSED and good.error == ""
    assert corrupt.status == Track.Status.FAILED and "cannot decode" in corrupt.error
    assert empty.status == Track.Status.FAILED and "empty" in empty.error
    assert missing.status == Track.Status.FAILED and "no audio" in missing.error
    assert AudioAnalysis.objects.filter(track__catalog=catalog).count() == 1


def test_analysing_the_same_audio_twice_reuses_the_first_analysis(monkeypatch):
    catalog = CatalogFactory()
    track = track_with_audio(catalog, "a", tone_bytes())
    services.track_analyse(track=track)
    first = AudioAnalysis.objects.get(track=track)

    def must_not_run(path):
        raise AssertionError("analysed again")

    monkeypatch.setattr(services.audio, "analyse_file", must_not_run)
    services.track_analyse(track=track)
    assert AudioAnalysis.objects.get(track=track).mel.name == first.mel.name == f"mel/{first.audio_sha256}.npz"


def test_the_mel_spectrogram_is_stored_and_read_back():
    track = track_with_audio(CatalogFactory(), "a", tone_bytes(seconds=3))
    services.track_analyse(track=track)
    mel = services.track_mel(track)
    assert mel.shape[0] == 128 and mel.dtype == np.float16


def test_index_versions_increase_only_when_the_tracks_change():
    catalog = CatalogFactory()
    AnalysedTrackFactory.create_batch(5, catalog=catalog)
    first = services.index_build(catalog=catalog)
    assert services.index_build(catalog=catalog) == first
    AnalysedTrackFactory(catalog=catalog)
    second = services.index_build(catalog=catalog)
    assert (first.version, second.version) == (1, 2)
    assert len(second.track_ids) == 6
    assert second.matrix().shape == (6, 31)


def test_failed_tracks_stay_out_of_the_index():
    catalog = CatalogFactory()
    AnalysedTrackFactory.create_batch(4, catalog=catalog)
    broken = AnalysedTrackFactory(catalog=catalog, status=Track.Status.FAILED)
    assert broken.pk not in services.index_build(catalog=catalog).track_ids


def test_recommendations_skip_liked_tracks_and_copies_of_them():
    catalog = CatalogFactory()
    tracks = AnalysedTrackFactory.create_batch(20, catalog=catalog)
    liked = tracks[0]
    copy = AnalysedTrackFactory(catalog=catalog, title=liked.title.upper(), artist=liked.artist, analysis=liked.analysis.features)
    index = services.index_build(catalog=catalog)

    recommended = services.recommend(index=index, liked_track_ids=[liked.pk], k=19)

    ids = [r.track_id for r in recommended]
    assert liked.pk not in ids and copy.pk not in ids
    assert len(ids) == 19 and len(set(ids)) == 19
    assert all(r.seed_track_id == liked.pk for r in recommended)


def test_the_demo_synthesiser_is_deterministic_and_its_styles_differ():
    a = demo.synthesise_clip(3, "Rock", seed=11, seconds=2)
    b = demo.synthesise_clip(3, "Rock", seed=11, seconds=2)
    np.testing.assert_array_equal(a.signal, b.signal)
    assert a.title == b.title
    assert not np.array_equal(a.signal, demo.synthesise_clip(3, "Rock", seed=12, seconds=2).signal)
    assert len(demo.STYLES) >= 6


def test_demo_styles_are_told_apart_by_the_feature_recommender(demo_catalog):
    index = services.catalog_latest_index(demo_catalog)
    hits = []
    for track in demo_catalog.tracks.all():
        best = services.recommend(index=index, liked_track_ids=[track.pk], k=1)[0]
        hits.append(Track.objects.get(pk=best.track_id).style == track.style)
    assert np.mean(hits) >= 0.75


def test_make_demo_catalog_builds_an_analysed_indexed_catalog_and_is_idempotent():
    call_command("make_demo_catalog", "--per-style", "1", "--seconds", "3", verbosity=0)
    call_command("make_demo_catalog", "--per-style", "1", "--seconds", "3", verbosity=0)
    catalog = Catalog.objects.get(slug="demo")
    assert catalog.tracks.count() == 6
    assert catalog.tracks.filter(status=Track.Status.ANALYSED).count() == 6
    assert len({t.style for t in catalog.tracks.all()}) == 6
    assert SimilarityIndex.objects.filter(catalog=catalog).count() == 1
