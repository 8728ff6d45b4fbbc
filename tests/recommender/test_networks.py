"""The networks in the catalog: log-mels computed once, tagger and CNN embeddings and their indexes,
training stored by the hash of its weights, and the commands a researcher runs."""
import io
import json

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recommender import networks, quality, services
from recommender.cnn import frontend
from recommender.cnn.contrastive import TrainingConfig
from recommender.models import AudioModel, SimilarityIndex, TrackEmbedding

pytestmark = pytest.mark.django_db(transaction=True)

#: A few steps on the twelve 4-second demo clips: enough to exercise everything, in about a second.
QUICK = TrainingConfig(seed=0, steps=4, batch_size=6, crop_frames=64)


@pytest.fixture
def networked(demo_catalog, memoised_training):
    """The demo catalog with tagger embeddings, a trained CNN and both indexes."""
    networks.catalog_embed(catalog=demo_catalog, feature_set="tagger")
    model = networks.cnn_train(catalog=demo_catalog, config=QUICK)
    networks.catalog_embed(catalog=demo_catalog, feature_set="cnn")
    return demo_catalog, model


def test_a_track_s_log_mel_is_computed_once_and_read_back_after(demo_catalog, monkeypatch):
    track = demo_catalog.tracks.select_related("analysis").first()
    first = networks.track_log_mel(track=track)
    assert first.shape[1] == frontend.N_MELS and first.dtype == np.float32
    assert track.analysis.log_mel.name == f"logmel/{track.analysis.audio_sha256}.npy"
    monkeypatch.setattr(frontend, "load_signal", lambda *a, **k: pytest.fail("decoded again"))
    track.refresh_from_db()
    again = networks.track_log_mel(track=type(track).objects.select_related("analysis").get(pk=track.pk))
    assert np.array_equal(first, again)


def test_the_tagger_gives_every_track_fifty_tags_and_an_embedding_and_its_own_index(networked):
    catalog, _ = networked
    tagger = networks.tagger_model()
    embeddings = TrackEmbedding.objects.filter(model=tagger, track__catalog=catalog)
    assert embeddings.count() == catalog.tracks.count() == 12
    first = embeddings.first()
    assert first.array().shape == (200,) and len(first.tags) == 50 and all(0 <= p <= 1 for p in first.tags)
    index = services.catalog_latest_index(catalog, SimilarityIndex.FeatureSet.TAGGER)
    assert index.model == tagger and len(index.track_ids) == 12
    assert np.allclose(np.linalg.norm(index.matrix(), axis=1), 1, atol=1e-5)
    assert services.recommender_index(catalog, "tagger") == index
    assert services.recommender_index(catalog, "features").feature_set == SimilarityIndex.FeatureSet.AUDIO


def test_a_trained_cnn_is_stored_by_its_weights_hash_with_its_loss_curve_and_indexed(networked):
    catalog, model = networked
    assert model.kind == AudioModel.Kind.CNN and model.catalog == catalog and len(model.sha256) == 64
    assert model.file.name == f"models/cnn-{model.sha256}.pt"
    assert model.loss_curve.read(8) == b"\x89PNG\r\n\x1a\n"
    # Three networks by default, each from its own seed, stored as one.
    assert model.training["steps"] == 3 * 4 and model.training["tracks"] == 12 and model.training["config"]["seed"] == 0
    assert [m["seed"] for m in model.training["members"]] == [0, 1, 2]
    index = services.catalog_latest_index(catalog, SimilarityIndex.FeatureSet.CNN)
    assert index.model == model
    # The CNN index is the network's own cosine centred on the catalog: rows are its unit embeddings less their
    # mean (stored with the index), made unit again; not z-scored ones.
    embeddings = np.array([TrackEmbedding.objects.get(model=model, track_id=t).array() for t in index.track_ids])
    centre = embeddings.astype(np.float64).mean(axis=0)
    assert np.allclose(index.mean, centre, atol=1e-6) and np.allclose(index.std, 1.0)
    expected = (embeddings[0] - centre) / np.linalg.norm(embeddings[0] - centre)
    assert np.allclose(index.matrix()[0], expected, atol=1e-5)
    # Deterministic: the same clips and settings give the same weights, so the same row.
    assert networks.cnn_train(catalog=catalog, config=QUICK).pk == model.pk
    assert AudioModel.objects.filter(kind="cnn").count() == 1


def test_evaluate_recommenders_lists_every_recommender_with_the_baselines_and_the_crop_retrieval(networked, tmp_path):
    catalog, _ = networked
    measured = quality.catalog_evaluate(catalog=catalog, k=3, n_queries=12)
    names = [r.name for r in measured.results]
    assert names[:3] == ["standardised cosine, audio features", "unscaled cosine, audio features", "mean MFCCs (baseline)"]
    assert any(n.startswith("musicnn tagger embedding") for n in names) and any(n.startswith("CNN trained") for n in names)
    assert 0 <= measured.crop_retrieval_top1 <= 1 and measured.crop_retrieval_chance == pytest.approx(1 / 12)
    out = io.StringIO()
    call_command("evaluate_recommenders", catalog.slug, "--k", "3", "--plot", str(tmp_path / "q.png"), stdout=out)
    assert "CNN same-track crop retrieval" in out.getvalue() and (tmp_path / "q.png").read_bytes()[:4] == b"\x89PNG"


def test_the_commands_train_embed_and_evaluate_the_explanations(demo_catalog, tmp_path, monkeypatch):
    out = io.StringIO()
    call_command("embed_catalog", demo_catalog.slug, stdout=out)
    assert "12 tracks" in out.getvalue()
    with pytest.raises(CommandError, match="no trained CNN yet"):
        call_command("embed_catalog", demo_catalog.slug, "--model", "cnn")
    err = io.StringIO()
    call_command("train_cnn", demo_catalog.slug, "--steps", "3", "--batch-size", "6", stdout=out, stderr=err, verbosity=0)
    assert "trained on 12 clips" in out.getvalue()
    # The check says how it does; a network whose similarities bunch (here: every one does) gets a warning.
    assert "Check: a clip's second half found from its first half" in out.getvalue()
    assert "bunch" not in err.getvalue()
    # Early stopping by default: a tenth of the clips (at least two) held aside, each network keeping the weights
    # of its best check.
    assert "Network 3 of 3 (seed 2): 3 steps; held-aside scores" in out.getvalue()
    assert "kept the weights of step 3" in out.getvalue()
    trained = networks.feature_set_model(demo_catalog, "cnn").training
    assert len(trained["held_aside_track_ids"]) == 2 and [m["best_step"] for m in trained["members"]] == [3, 3, 3]
    monkeypatch.setattr("recommender.cnn.checks.BUNCHED_P5", -1.0)
    call_command("train_cnn", demo_catalog.slug, "--steps", "3", "--batch-size", "6", "--seed", "1", stdout=out,
                 stderr=err, verbosity=0)
    assert "similarities bunch near 1" in err.getvalue() and "Train longer" in err.getvalue()
    with pytest.raises(CommandError, match="--minutes above 0"):
        call_command("train_cnn", demo_catalog.slug, "--minutes", "0")
    assert services.catalog_latest_index(demo_catalog, SimilarityIndex.FeatureSet.CNN) is not None
    call_command("evaluate_explanations", demo_catalog.slug, "--pairs", "4", "--trials", "4", "--out", str(tmp_path), stdout=out)
    summary = json.loads((tmp_path / "fidelity.json").read_text())
    assert summary["pairs"] == 4 and summary["pointing_trials"] == 4
    assert set(summary["deletion_auc"]) == {"explanation", "occlusion", "random"}
    assert (tmp_path / "fidelity.png").read_bytes()[:4] == b"\x89PNG"


def test_train_cnn_with_several_members_stores_them_as_one_network_and_says_how_each_trained(demo_catalog):
    out = io.StringIO()
    call_command("train_cnn", demo_catalog.slug, "--steps", "2", "--batch-size", "6", "--members", "2",
                 "--check-every", "1", stdout=out, verbosity=0)
    row = networks.feature_set_model(demo_catalog, "cnn")
    network = networks.load_network(row.pk)
    assert type(network).__name__ == "EnsembleCNN" and len(network.members) == 2
    assert [m["seed"] for m in row.training["members"]] == [0, 1] and row.training["steps"] == 4
    assert "Network 1 of 2 (seed 0): 2 steps" in out.getvalue() and "Network 2 of 2 (seed 1)" in out.getvalue()
    index = services.catalog_latest_index(demo_catalog, SimilarityIndex.FeatureSet.CNN)
    assert index.model == row and index.matrix().shape == (12, 2 * 128)
    with pytest.raises(CommandError, match="--members at least 1"):
        call_command("train_cnn", demo_catalog.slug, "--members", "0")


def test_distillation_uses_both_taggers_embeddings_of_the_same_clips(demo_catalog):
    model = networks.cnn_train(catalog=demo_catalog, config=TrainingConfig(**{**QUICK.to_json(), "distill_weight": 1.0}))
    assert model.training["config"]["distill_weight"] == 1.0
    mtt, msd = networks.tagger_model("mtt"), networks.tagger_model("msd")
    assert mtt != msd and mtt == networks.tagger_model()
    assert TrackEmbedding.objects.filter(model=mtt).count() == TrackEmbedding.objects.filter(model=msd).count() == 12
    # Each teacher's embeddings come from its own weights.
    assert networks.load_network(msd.pk).tag_names != networks.load_network(mtt.pk).tag_names


def test_training_on_fewer_than_two_clips_is_refused_clearly(demo_catalog):
    demo_catalog.tracks.exclude(pk=demo_catalog.tracks.first().pk).update(status="failed")
    with pytest.raises(CommandError, match="1 usable clips; a CNN needs at least 2"):
        call_command("train_cnn", demo_catalog.slug, "--steps", "1", verbosity=0)
