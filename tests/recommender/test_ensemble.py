"""Several trainings of the CNN as one network: it ranks by the mean of its members' cosines, its cosine (centred
or not) still splits exactly into region pairs, and it saves, loads and re-initialises like one network."""
import numpy as np
import pytest
import torch

from explanations import cnn_measures, fidelity, network_regions
from recommender.cnn import contrastive, ensemble
from tests.recommender.test_contrastive import synthetic_clips


def members(count: int, **options) -> list[contrastive.SimilarityCNN]:
    torch.manual_seed(0)
    return [contrastive.SimilarityCNN(**options).eval() for _ in range(count)]


def test_an_ensemble_s_cosine_is_the_mean_of_its_members_cosines():
    networks = members(3, pooling="auto", pool_sharpness=300.0)
    joint = ensemble.EnsembleCNN(networks).eval()
    a, b = synthetic_clips(2, frames=600, seed=7)
    ea, eb = contrastive.embed(joint, a), contrastive.embed(joint, b)
    assert ea.shape == (3 * contrastive.EMBEDDING_SIZE,) and np.linalg.norm(ea) == pytest.approx(1.0, abs=1e-5)
    each = [float(contrastive.embed(n, a) @ contrastive.embed(n, b)) for n in networks]
    assert float(ea @ eb) == pytest.approx(np.mean(each), abs=1e-5)
    assert len(set(np.round(each, 4))) == 3  # the members differ, so the mean is not one of them


def test_an_ensemble_s_centred_cosine_is_exactly_the_sum_of_its_region_pairs():
    joint = ensemble.EnsembleCNN(members(2, pooling="auto", pool_sharpness=300.0)).eval()
    clips = synthetic_clips(5, frames=500, seed=8)
    embeddings = np.array([contrastive.embed(joint, c) for c in clips], dtype=np.float64)
    centre = embeddings.mean(axis=0)
    centred = (embeddings - centre) / np.linalg.norm(embeddings - centre, axis=1, keepdims=True)
    a, b = clips[0], clips[3]
    cells_a, cells_b = contrastive.cells(joint, a), contrastive.cells(joint, b)
    assert cells_a.shape[:2] == contrastive.cells(joint.members[0], a).shape[:2]  # one grid for all the members
    for shift, expected in ((centre, centred[0] @ centred[3]), (None, embeddings[0] @ embeddings[3])):
        pairs = network_regions.cnn_region_pairs(
            cells_a, cells_b, network_regions.grid_of(a), network_regions.grid_of(b), centre=shift)
        assert pairs.sum() == pytest.approx(float(expected), abs=1e-5)
    # What the fidelity tests delete from is the same decomposition.
    rows = fidelity.cnn_attribution(joint, a, b, centre)
    assert rows.sum() == pytest.approx(float(centred[0] @ centred[3]), abs=1e-5)


def test_a_silent_clip_gives_an_ensemble_no_nan():
    joint = ensemble.EnsembleCNN(members(2)).eval()
    cells = contrastive.cells(joint, np.zeros((320, 96), dtype=np.float32))
    assert np.all(np.isfinite(cells))


def test_an_ensemble_saves_and_loads_with_the_same_outputs_and_a_single_network_still_loads_as_one():
    joint = ensemble.EnsembleCNN(members(2, pooling="auto", pool_sharpness=20.0)).eval()
    clip = synthetic_clips(1, frames=400, seed=9)[0]
    loaded = contrastive.load_bytes(contrastive.save_bytes(joint))
    assert isinstance(loaded, ensemble.EnsembleCNN) and len(loaded.members) == 2
    assert np.allclose(contrastive.embed(loaded, clip), contrastive.embed(joint, clip), atol=1e-6)
    single = contrastive.load_bytes(contrastive.save_bytes(members(1)[0]))
    assert isinstance(single, contrastive.SimilarityCNN)


def test_networks_of_different_architectures_make_no_ensemble():
    with pytest.raises(ValueError, match="architecture"):
        ensemble.EnsembleCNN([contrastive.SimilarityCNN(), contrastive.SimilarityCNN(pooling="auto")])
    with pytest.raises(ValueError, match="at least one"):
        ensemble.EnsembleCNN([])


def test_re_initialising_keeps_the_architecture_draws_new_weights_and_is_seeded():
    joint = ensemble.EnsembleCNN(members(3, pooling="auto", pool_sharpness=20.0)).eval()
    fresh = ensemble.reinitialised(joint.config, seed=5)
    assert isinstance(fresh, ensemble.EnsembleCNN) and fresh.config == joint.config
    clip = synthetic_clips(1, frames=400, seed=10)[0]
    assert not np.allclose(contrastive.embed(fresh, clip), contrastive.embed(joint, clip), atol=1e-3)
    again = ensemble.reinitialised(joint.config, seed=5)
    assert np.allclose(contrastive.embed(again, clip), contrastive.embed(fresh, clip))
    # A single network's check is unchanged: the same draw as building it after seeding torch.
    torch.manual_seed(4)
    expected = contrastive.SimilarityCNN(pooling="auto", pool_sharpness=20.0).eval()
    single = ensemble.reinitialised(expected.config, seed=4)
    assert np.allclose(contrastive.embed(single, clip), contrastive.embed(expected, clip))


def test_the_model_randomisation_check_takes_an_ensemble():
    joint = ensemble.EnsembleCNN(members(2, pooling="auto", pool_sharpness=300.0)).eval()
    mels = synthetic_clips(4, frames=500, seed=11)
    correlation = cnn_measures.randomisation_rank_correlation(joint, mels, [(0, 1), (2, 3)], seed=0)
    assert -1 <= correlation <= 1


TINY = {"steps": 3, "batch_size": 4, "crop_frames": 64, "learning_rate": 3e-3}


def test_training_an_ensemble_trains_each_network_from_its_own_seed_holding_the_same_clips_aside():
    clips = synthetic_clips(8, frames=300, seed=12)
    config = contrastive.TrainingConfig(seed=3, members=2, held_aside=0.25, check_every=1, patience=9, **TINY)
    calls = []
    result = ensemble.train(clips, config, progress=lambda step, total, loss: calls.append((step, total)))
    assert isinstance(result.model, ensemble.EnsembleCNN) and len(result.members) == 2
    # Each network is what a single training from its seed gives, with the first seed's clips held aside.
    for k, member in enumerate(result.members):
        alone = contrastive.train(clips, contrastive.TrainingConfig(
            seed=3 + k, aside_seed=3, held_aside=0.25, check_every=1, patience=9, **TINY))
        assert alone.held_aside == result.held_aside == member.held_aside
        for mine, theirs in zip(result.model.members[k].state_dict().values(), alone.model.state_dict().values()):
            assert torch.equal(mine, theirs)
    assert result.members[0].model is not result.members[1].model
    assert [member.seed for member in result.members] == [3, 4] and result.seed == 3
    # The progress counts every network's steps, and foresees them from the start.
    assert calls[0] == (1, 6) and calls[-1] == (6, 6) and [s for s, _ in calls] == list(range(1, 7))
    assert result.steps == 6 and [step for step, _ in result.checks] == [1, 2, 3, 4, 5, 6] and result.best_step is None


def test_an_ensemble_shares_its_time_budget_out_evenly_and_one_member_is_a_plain_network(monkeypatch):
    clips = synthetic_clips(4, frames=200, seed=13)
    single = ensemble.train(clips, contrastive.TrainingConfig(seed=0, members=1, **TINY))
    assert isinstance(single.model, contrastive.SimilarityCNN) and single.members == []
    budgets = []
    train = contrastive.train
    monkeypatch.setattr(contrastive, "train", lambda s, c, **k: budgets.append((c.seed, c.max_seconds)) or train(s, c, **k))
    ensemble.train(clips, contrastive.TrainingConfig(seed=5, members=3, max_seconds=30.0, **TINY))
    assert budgets == [(5, 10.0), (6, 10.0), (7, 10.0)]
