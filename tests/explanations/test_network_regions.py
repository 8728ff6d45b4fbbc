"""Regions of the networks' spectrograms: where each CNN cell falls, which pairs are outlined, and what
covering a region does to the tagger's similarity."""
import numpy as np
import pytest

from explanations import network_regions
from recommender.cnn import contrastive, frontend, tagger
from tests.recommender.test_contrastive import synthetic_clips

# One process trains or loads this module's shared model once (a session fixture), not one per xdist worker.
pytestmark = pytest.mark.xdist_group("network-regions")


def test_a_clip_is_cut_into_three_second_passages_in_three_pitch_bands():
    mel = np.zeros((1876, frontend.N_MELS), dtype=np.float32)  # 30 s
    grid = network_regions.grid_of(mel)
    assert grid.passage_frames % contrastive.TIME_STRIDE == 0
    assert grid.seconds(0)[1] == pytest.approx(3.0, abs=0.1)
    assert len(grid) == grid.n_passages * 3 and grid.n_passages == 10
    low, middle, high = (grid.hertz(b) for b in range(3))
    assert low[0] == 0 and low[1] < middle[1] < high[1] == pytest.approx(frontend.SAMPLE_RATE / 2, rel=1e-3)
    assert grid.frames(len(grid) - 1)[1] == 1876  # the last passage ends with the clip


def test_every_cell_of_the_last_map_belongs_to_the_region_over_it():
    mel = np.zeros((700, frontend.N_MELS), dtype=np.float32)
    grid = network_regions.grid_of(mel)
    rows, columns = contrastive.FREQUENCY_ROWS, -(-700 // contrastive.TIME_STRIDE)
    regions = network_regions.region_of_cells(grid, rows, columns)
    assert regions.shape == (rows * columns,)
    for cell in (0, columns - 1, rows * columns - 1, 5 * columns + 20):
        row, column = divmod(cell, columns)
        region = regions[cell]
        f0, f1 = grid.frames(region)
        b0, b1 = grid.mel_bands(region)
        assert f0 <= column * contrastive.TIME_STRIDE < max(f1, f0 + 1)
        assert b0 <= row * contrastive.MEL_ROWS_PER_CELL < b1


def test_only_pairs_above_the_threshold_are_outlined_each_region_once_best_first():
    grid = network_regions.grid_of(np.zeros((400, frontend.N_MELS), dtype=np.float32))
    pairs = np.zeros((len(grid), len(grid)))
    pairs[0, 4], pairs[0, 5], pairs[2, 4], pairs[3, 1] = 0.05, 0.04, 0.03, 0.001
    found = network_regions.top_pairs(pairs, grid, grid, threshold=0.01)
    assert [r.score for r in found] == [0.05]  # (0, 5) and (2, 4) reuse a region; (3, 1) is below the threshold
    assert found[0].label == "A" and found[0].liked_hz == grid.hertz(0) and found[0].recommended_hz == grid.hertz(4)
    assert network_regions.top_pairs(pairs, grid, grid, threshold=0.1) == []


def test_the_cnn_threshold_is_a_multiple_of_an_even_share_of_the_score():
    pairs = np.full((6, 10), 0.8 / 60)
    assert network_regions.cnn_threshold(0.8, pairs) == pytest.approx(network_regions.PAIR_MIN_TIMES_EVEN_SHARE * 0.8 / 60)
    assert network_regions.cnn_threshold(-0.3, pairs) > 0  # a negative score outlines nothing positive-less


@pytest.fixture(scope="session")  # kept for the whole run: its module shares one xdist worker
def musicnn():
    return tagger.load_tagger("cpu")


def test_covering_a_tagger_region_changes_the_similarity_exactly_as_recomputing_the_whole_clip(musicnn):
    """The occlusion reruns only the covered 3-s patch; the result equals embedding the covered clip afresh."""
    a, b = synthetic_clips(2, frames=3 * frontend.PATCH_FRAMES, seed=8)
    mean, std = np.zeros(200), np.ones(200)
    score, drops_a, drops_b = network_regions.tagger_occlusion(musicnn, a, b, mean=mean, std=std)
    grid = network_regions.tagger_grid(a)
    assert drops_a.shape == drops_b.shape == (len(grid),) == (9,)

    def clip(mel):
        return network_regions.tagger_patch_embeddings(musicnn, mel).mean(axis=0).astype(np.float64)

    def cosine(x, y):
        return float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))

    assert score == pytest.approx(cosine(clip(a), clip(b)), abs=1e-5)
    for region in (0, 4, 8):
        covered = grid.covered(a, [region])
        assert drops_a[region] == pytest.approx(score - cosine(clip(covered), clip(b)), abs=1e-5)
    top = network_regions.top_regions(drops_a, grid, threshold=-1.0)
    assert top == list(np.argsort(-drops_a, kind="stable")[:3])
