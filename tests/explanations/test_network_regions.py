"""Regions of the networks' spectrograms: where each CNN cell falls, which pairs are outlined, and what
covering a region does to the tagger's similarity."""
import numpy as np
import pytest

from explanations import network_regions
from recommender.cnn import contrastive, frontend, tagger
from tests.recommender.test_contrastive import synthetic_clips

# One process trains or loads this module's shared model once (a session fixture), not one per xdist worker.
pytestmark = pytest.mark.xdist_group("network-regions")


def test_a_clip_is_cut_into_six_second_passages_in_three_pitch_bands():
    mel = np.zeros((1876, frontend.N_MELS), dtype=np.float32)  # 30 s
    grid = network_regions.grid_of(mel)
    assert grid.passage_frames % contrastive.TIME_STRIDE == 0
    assert grid.seconds(0)[1] == pytest.approx(6.0, abs=0.15)
    assert len(grid) == grid.n_passages * 3 and grid.n_passages == 6  # the last one shorter
    assert network_regions.grid_of(mel, passage_seconds=3.0).n_passages == 10
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


def test_the_recommended_track_s_regions_that_add_most_are_outlined_each_with_its_own_best_partner():
    grid = network_regions.grid_of(np.zeros((1876, frontend.N_MELS), dtype=np.float32))  # 18 regions
    pairs = np.full((len(grid), len(grid)), 0.0005)
    pairs[2, 7], pairs[2, 3], pairs[5, 3], pairs[9, 11] = 0.12, 0.10, 0.04, 0.05
    pairs[:, 0] -= 0.001  # a region that counts against the score
    outlined = network_regions.recommended_regions(pairs, grid, grid)
    assert outlined.by_region.sum() == pytest.approx(pairs.sum())  # the regions add up to the score exactly
    assert [r.label for r in outlined.regions] == ["A", "B", "C"]
    # Region 3 adds most (0.10 + 0.04 with 2 and 5) and takes 2, its best partner; 7's best partner is then taken,
    # so it gets the best of the rest; no liked region is outlined twice.
    assert outlined.indices == [(2, 3), (0, 7), (9, 11)]
    first = outlined.regions[0]
    assert first.recommended == grid.seconds(3) and first.recommended_hz == grid.hertz(3)
    assert first.score == pytest.approx(pairs[:, 3].sum(), abs=1e-4)
    positive = outlined.by_region[outlined.by_region > 0].sum()
    assert outlined.share == pytest.approx(sum(r.score for r in outlined.regions) / positive, abs=1e-3)
    assert 0 < outlined.share <= 1


def test_no_region_is_outlined_when_the_likeness_is_spread_evenly_or_there_is_none():
    grid = network_regions.grid_of(np.zeros((1876, frontend.N_MELS), dtype=np.float32))
    even = network_regions.recommended_regions(np.full((len(grid), len(grid)), 0.001), grid, grid)
    assert even.regions == [] and even.share == 0.0
    negative = network_regions.recommended_regions(np.full((len(grid), len(grid)), -0.001), grid, grid)
    assert negative.regions == []


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
