"""The CNN trained on a catalog's own audio: its similarity splits exactly into region pairs, it trains
deterministically from a seed, and it learns to recognise a clip from another part of it."""
import numpy as np
import pytest
import torch

from explanations import network_regions
from recommender.cnn import checks, contrastive, frontend

# One process trains or loads this module's shared model once (a session fixture), not one per xdist worker.
pytestmark = pytest.mark.xdist_group("contrastive")

TINY = {"steps": 40, "batch_size": 8, "crop_frames": 64, "learning_rate": 3e-3}


def synthetic_clips(n: int, frames: int = 400, seed: int = 0) -> list[np.ndarray]:
    """Log-mels of n made-up tracks: each its own few bands and its own rhythm, with noise on top."""
    rng = np.random.default_rng(seed)
    clips = []
    t = np.arange(frames)
    for _ in range(n):
        mel = rng.uniform(0.0, 0.4, size=(frames, frontend.N_MELS)).astype(np.float32)
        for band in rng.choice(frontend.N_MELS - 4, size=3, replace=False):
            period = int(rng.integers(6, 40))
            mel[:, band : band + 4] += (2.5 * ((t % period) < period // 2))[:, None]
        clips.append(mel)
    return clips


@pytest.fixture(scope="session")  # kept for the whole run: its module shares one xdist worker
def trained():
    clips = synthetic_clips(8)
    return clips, contrastive.train(clips, contrastive.TrainingConfig(seed=1, **TINY))


def test_the_last_map_keeps_twelve_frequency_rows_one_column_per_sixteen_frames():
    model = contrastive.SimilarityCNN().eval()
    cells = contrastive.cells(model, np.zeros((320, frontend.N_MELS), dtype=np.float32))
    assert cells.shape == (contrastive.FREQUENCY_ROWS, 320 // contrastive.TIME_STRIDE, contrastive.EMBEDDING_SIZE)
    assert contrastive.FREQUENCY_ROWS >= 8


def test_the_cosine_is_exactly_the_sum_of_its_cell_pairs_and_of_its_region_pairs():
    torch.manual_seed(0)
    model = contrastive.SimilarityCNN().eval()
    a, b = synthetic_clips(2, frames=700, seed=3)
    cosine = float(contrastive.embed(model, a) @ contrastive.embed(model, b))
    cells_a, cells_b = contrastive.cells(model, a), contrastive.cells(model, b)
    by_cell = contrastive.pair_contributions(cells_a, cells_b)
    assert by_cell.shape == (cells_a.shape[0] * cells_a.shape[1], cells_b.shape[0] * cells_b.shape[1])
    assert by_cell.sum() == pytest.approx(cosine, abs=1e-5)
    grid_a, grid_b = network_regions.grid_of(a), network_regions.grid_of(b)
    by_region = network_regions.cnn_region_pairs(cells_a, cells_b, grid_a, grid_b)
    assert by_region.shape == (len(grid_a), len(grid_b))
    assert by_region.sum() == pytest.approx(cosine, abs=1e-5)
    # Each region pair is its cell pairs summed.
    of_a = network_regions.region_of_cells(grid_a, *cells_a.shape[:2])
    of_b = network_regions.region_of_cells(grid_b, *cells_b.shape[:2])
    assert by_region[1, 2] == pytest.approx(by_cell[np.ix_(of_a == 1, of_b == 2)].sum(), abs=1e-9)


def test_the_centred_cosine_is_exactly_the_sum_of_its_region_pairs_and_typical_pairs_score_about_zero():
    """Centred on the catalog's mean unit embedding, the score says what sets a pair apart from a typical pair,
    and the region pairs still add up to it."""
    torch.manual_seed(0)
    model = contrastive.SimilarityCNN().eval()
    clips = synthetic_clips(6, frames=500, seed=4)
    embeddings = np.array([contrastive.embed(model, c) for c in clips], dtype=np.float64)
    centre = embeddings.mean(axis=0)
    centred = (embeddings - centre) / np.linalg.norm(embeddings - centre, axis=1, keepdims=True)
    a, b = clips[0], clips[1]
    grid_a, grid_b = network_regions.grid_of(a), network_regions.grid_of(b)
    pairs = network_regions.cnn_region_pairs(
        contrastive.cells(model, a), contrastive.cells(model, b), grid_a, grid_b, centre=centre
    )
    assert pairs.sum() == pytest.approx(float(centred[0] @ centred[1]), abs=1e-5)
    raw = embeddings @ embeddings.T
    assert raw[np.triu_indices(6, 1)].min() > 0.5  # an untrained network: every pair looks alike
    off_diagonal = (centred @ centred.T)[np.triu_indices(6, 1)]
    assert abs(off_diagonal.mean()) < 0.3 and off_diagonal.max() - off_diagonal.min() > 0.3
    # Centred on nothing (an index built before centring stores a zero mean), the pairs are the plain cosine's.
    plain = network_regions.cnn_region_pairs(
        contrastive.cells(model, a), contrastive.cells(model, b), grid_a, grid_b, centre=np.zeros_like(centre)
    )
    assert plain.sum() == pytest.approx(raw[0, 1], abs=1e-5)


def test_training_is_deterministic_from_its_seed():
    clips = synthetic_clips(6)
    config = contrastive.TrainingConfig(seed=3, **{**TINY, "steps": 3})
    first = contrastive.save_bytes(contrastive.train(clips, config).model)
    again = contrastive.save_bytes(contrastive.train(clips, config).model)
    other = contrastive.save_bytes(contrastive.train(clips, contrastive.TrainingConfig(seed=4, **{**TINY, "steps": 3})).model)
    assert first == again
    assert first != other


def test_training_lowers_the_loss_and_finds_the_other_half_of_each_clip(trained):
    clips, result = trained
    assert result.steps == TINY["steps"] and len(result.losses) == TINY["steps"]  # 8 clips, batch 8: a step an epoch
    assert np.mean(result.losses[-5:]) < np.mean(result.losses[:5])
    firsts = np.array([contrastive.embed(result.model, c[:200]) for c in clips])
    seconds = np.array([contrastive.embed(result.model, c[200:]) for c in clips])
    found = np.argmax(firsts @ seconds.T, axis=1)
    assert np.mean(found == np.arange(len(clips))) >= 0.75  # chance: 1/8
    assert np.allclose(np.linalg.norm(firsts, axis=1), 1, atol=1e-5)


def test_a_saved_model_loads_back_with_the_same_outputs(trained):
    clips, result = trained
    loaded = contrastive.load_bytes(contrastive.save_bytes(result.model, config=contrastive.TrainingConfig()))
    assert np.allclose(contrastive.embed(loaded, clips[0]), contrastive.embed(result.model, clips[0]), atol=1e-6)


def test_clips_shorter_than_a_crop_or_a_column_still_train_and_embed():
    clips = [c[:40] for c in synthetic_clips(3)] + [synthetic_clips(1, frames=9)[0]]
    result = contrastive.train(clips, contrastive.TrainingConfig(seed=0, **{**TINY, "steps": 2}))
    assert contrastive.embed(result.model, clips[-1]).shape == (contrastive.EMBEDDING_SIZE,)


def test_relational_distillation_is_zero_when_the_student_agrees_with_the_teacher_and_pulls_otherwise():
    rng = np.random.default_rng(0)
    teacher = torch.nn.functional.normalize(torch.as_tensor(rng.normal(size=(6, 5)), dtype=torch.float32), dim=1)
    assert float(contrastive.relational_distillation(teacher, teacher)) == pytest.approx(0, abs=1e-7)
    student = torch.nn.functional.normalize(torch.as_tensor(rng.normal(size=(6, 5)), dtype=torch.float32), dim=1)
    assert float(contrastive.relational_distillation(student, teacher)) > 0.01


def test_distillation_needs_a_teacher_vector_per_clip():
    with pytest.raises(ValueError, match="one teacher vector per spectrogram"):
        contrastive.train(synthetic_clips(3), contrastive.TrainingConfig(distill_weight=1.0, **TINY), teacher=np.ones((2, 4)))


def test_a_time_budget_plans_the_steps_that_fit_and_the_progress_says_so():
    clips = synthetic_clips(6)
    totals = []
    config = contrastive.TrainingConfig(seed=3, **{**TINY, "steps": 500, "max_seconds": 0.5})
    result = contrastive.train(clips, config, progress=lambda step, total, loss: totals.append(total))
    assert contrastive.PROBE_STEPS < result.steps < 500
    assert totals[0] == 500 and totals[-1] == result.steps  # the bar's total follows the plan once it is made
    assert len(set(totals)) == 2
    assert contrastive._planned_steps(config, probe_seconds=3 * 0.01) == 50  # 0.5 s at 10 ms a step
    assert contrastive._planned_steps(config, probe_seconds=3 * 10.0) == contrastive.PROBE_STEPS + 1


def test_the_check_after_training_warns_when_similarities_bunch(trained):
    clips, result = trained
    check = checks.training_check(result.model, clips)
    assert 0 <= check.crop_retrieval_top1 <= 1 and check.chance == pytest.approx(1 / len(clips), abs=1e-4)
    assert check.cosine_p5 <= check.cosine_p95 and check.centred_iqr > 0
    torch.manual_seed(0)
    untrained = checks.training_check(contrastive.SimilarityCNN().eval(), clips)
    assert untrained.bunched and untrained.cosine_p5 > checks.BUNCHED_P5  # everything looks alike untrained
    assert not check.bunched or check.cosine_p5 > checks.BUNCHED_P5


def test_the_clips_held_aside_are_a_seeded_share_of_at_least_two_and_leave_two_to_train_on():
    assert checks.held_aside(80, 0.1, seed=0) == checks.held_aside(80, 0.1, seed=0)
    assert len(checks.held_aside(80, 0.1, seed=0)) == 8 and checks.held_aside(80, 0.1, seed=0) != checks.held_aside(80, 0.1, seed=1)
    assert len(checks.held_aside(12, 0.1, seed=0)) == 2  # at least two, so the score is not one clip's luck
    assert len(checks.held_aside(6, 0.9, seed=0)) == 4  # two left to train on
    assert checks.held_aside(80, 0.0, seed=0) == [] and checks.held_aside(3, 0.4, seed=0) == []


def test_held_aside_clips_are_never_trained_on():
    """Training with two clips held aside gives exactly the weights of training without them (the checks only
    look): nothing of theirs reaches the network's weights."""
    clips = synthetic_clips(8)
    config = contrastive.TrainingConfig(seed=2, **{**TINY, "steps": 4}, held_aside=0.25, check_every=100, patience=9)
    held = contrastive.train(clips, config)
    aside = set(held.held_aside)
    assert len(aside) == 2 and held.checks and held.checks[-1][0] == 4 and held.best_step == 4
    rest = [c for i, c in enumerate(clips) if i not in aside]
    plain = contrastive.train(rest, contrastive.TrainingConfig(seed=2, **{**TINY, "steps": 4}))
    assert contrastive.save_bytes(held.model) == contrastive.save_bytes(plain.model)


def test_training_stops_when_the_held_aside_score_stops_improving_and_keeps_the_best_weights(monkeypatch):
    scores = iter([0.30, 0.50, 0.45, 0.40, 0.44, 0.9])
    monkeypatch.setattr(checks, "retrieval_score", lambda embed, spectrograms, queries: next(scores))
    snapshots = {}
    original = checks.EarlyStopping.update

    def update(self, step, score, model, **kwargs):
        snapshots[step] = contrastive.save_bytes(model)
        return original(self, step, score, model, **kwargs)

    monkeypatch.setattr(checks.EarlyStopping, "update", update)
    totals = []
    config = contrastive.TrainingConfig(seed=0, **{**TINY, "steps": 40}, held_aside=0.25, check_every=2, patience=3,
                                        stop_from=0.0)
    result = contrastive.train(synthetic_clips(8), config, progress=lambda step, total, loss: totals.append(total))
    # Checks at steps 2, 4, 6, 8, 10: the best (0.50) at step 4, then three without a better one.
    assert [step for step, _ in result.checks] == [2, 4, 6, 8, 10] and result.steps == 10
    assert result.best_step == 4 and contrastive.save_bytes(result.model) == snapshots[4]
    assert totals[-1] == 10  # the progress bar ends where the training did


def test_a_lucky_check_in_the_first_half_of_training_is_neither_kept_nor_stops_it(monkeypatch):
    """At the one-cycle schedule's peak a few held-aside clips score high by luck (real music: step 50 of 200 kept);
    checks before stop_from of the planned steps are recorded only."""
    scores = iter([0.9, 0.2, 0.2, 0.2, 0.3, 0.5, 0.4, 0.4, 0.4, 0.4])
    monkeypatch.setattr(checks, "retrieval_score", lambda embed, spectrograms, queries: next(scores))
    config = contrastive.TrainingConfig(seed=0, **{**TINY, "steps": 16}, held_aside=0.25, check_every=2, patience=3)
    result = contrastive.train(synthetic_clips(8), config)
    # Steps 2-6 are in the first half (0.9 by luck among them); from step 8 on: 0.2, 0.3, 0.5 (step 12), then 0.4 x 2.
    assert [step for step, _ in result.checks] == [2, 4, 6, 8, 10, 12, 14, 16]
    assert result.best_step == 12 and result.steps == 16


def test_the_held_aside_score_is_one_when_every_clip_s_halves_find_each_other_and_low_otherwise():
    clips = [np.full((10, 2), float(i)) for i in range(5)]

    def by_clip(mel):  # each clip's halves look alike, and unlike every other clip's
        vector = np.zeros(5)
        vector[int(mel[0, 0])] = 1.0
        return vector

    assert checks.retrieval_score(by_clip, clips, [0, 3]) == 1.0
    reversed_clips = [np.full((10, 2), float(i)) for i in range(5)]
    for i, clip in enumerate(reversed_clips):
        clip[5:] = float((i + 1) % 5)  # each second half now looks like the next clip's first half
    # Each query's own second half now ranks second, behind the look-alike: a reciprocal rank of 1/2.
    assert checks.retrieval_score(by_clip, reversed_clips, [0, 3]) == 0.5


def test_a_network_pooling_unit_cells_still_splits_its_cosine_exactly_and_keeps_that_when_saved():
    torch.manual_seed(0)
    model = contrastive.SimilarityCNN(unit_cells=True).eval()
    a, b = synthetic_clips(2, frames=700, seed=4)
    cells_a, cells_b = contrastive.cells(model, a), contrastive.cells(model, b)
    assert np.allclose(np.linalg.norm(cells_a, axis=-1), 1.0, atol=1e-4)  # each cell's direction only
    cosine = float(contrastive.embed(model, a) @ contrastive.embed(model, b))
    assert contrastive.pair_contributions(cells_a, cells_b).sum() == pytest.approx(cosine, abs=1e-5)
    loaded = contrastive.load_bytes(contrastive.save_bytes(model))
    assert loaded.unit_cells and np.allclose(contrastive.embed(loaded, a), contrastive.embed(model, a), atol=1e-6)
    plain = contrastive.load_bytes(contrastive.save_bytes(contrastive.SimilarityCNN().eval()))
    assert not plain.unit_cells  # a model saved before the option loads as it was trained
    trained = contrastive.train(synthetic_clips(4), contrastive.TrainingConfig(seed=1, unit_cells=True, **{**TINY, "steps": 2}))
    assert trained.model.unit_cells


def test_a_network_with_autopool_splits_its_centred_cosine_exactly_and_leans_towards_the_cells_that_stand_out():
    torch.manual_seed(0)
    # An untrained network's projections are small (about 0.005): a sharpness of 300 makes the softmax's inputs about 1.
    model = contrastive.SimilarityCNN(pooling="auto", pool_sharpness=300.0).eval()
    a, b = synthetic_clips(2, frames=700, seed=5)
    cells_a, cells_b = contrastive.cells(model, a), contrastive.cells(model, b)
    centre = np.random.default_rng(0).normal(scale=0.05, size=contrastive.EMBEDDING_SIZE)
    ea, eb = (contrastive.embed(model, m).astype(np.float64) - centre for m in (a, b))
    cosine = float(ea @ eb / np.linalg.norm(ea) / np.linalg.norm(eb))
    assert contrastive.pair_contributions(cells_a, cells_b, centre).sum() == pytest.approx(cosine, abs=1e-5)
    # Each dimension is a softmax-weighted mean of the cells' projections: above their plain mean, below their max.
    with torch.inference_mode():
        projected = model.projection(model.last_map(torch.from_numpy(a)[None]).permute(0, 2, 3, 1))[0].numpy()
    pooled = cells_a.reshape(-1, cells_a.shape[-1]).mean(axis=0)
    flat = projected.reshape(-1, projected.shape[-1])
    assert np.all(pooled >= flat.mean(axis=0) - 1e-5) and np.all(pooled <= flat.max(axis=0) + 1e-5)
    assert np.mean(pooled - flat.mean(axis=0) > 0.2 * (flat.max(axis=0) - flat.mean(axis=0))) > 0.5


def test_an_autopool_network_keeps_its_pooling_when_saved_and_learns_its_sharpness():
    config = contrastive.TrainingConfig(seed=1, pooling="auto", **{**TINY, "steps": 2})
    trained = contrastive.train(synthetic_clips(4), config)
    assert trained.model.pooling == "auto" and not torch.all(trained.model.sharpness == 0)  # moved from the mean
    loaded = contrastive.load_bytes(contrastive.save_bytes(trained.model, config=config))
    clip = synthetic_clips(1, frames=300, seed=9)[0]
    assert loaded.pooling == "auto"
    assert np.allclose(contrastive.embed(loaded, clip), contrastive.embed(trained.model, clip), atol=1e-6)
    assert contrastive.load_bytes(contrastive.save_bytes(contrastive.SimilarityCNN().eval())).sharpness is None
    with pytest.raises(ValueError, match="pooling"):
        contrastive.SimilarityCNN(pooling="max")
