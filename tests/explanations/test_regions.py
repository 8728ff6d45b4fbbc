import numpy as np
import pytest

from explanations import regions
from recommender import audio, similarity

SEGMENT_S = audio.SEGMENT_FRAMES * audio.frame_seconds()


@pytest.fixture
def catalog():
    rng = np.random.default_rng(2)
    return similarity.build_index(rng.normal(size=(80, len(audio.FEATURE_NAMES))))


def test_passages_are_compared_exactly_as_the_recommender_compares_whole_tracks(catalog):
    """A segment whose features equal a whole track's gets that track's cosine in the index."""
    rng = np.random.default_rng(4)
    raw = rng.normal(size=(4, len(audio.FEATURE_NAMES)))
    matrix = regions.segment_similarity(raw[:2], raw[2:], mean=catalog.mean, std=catalog.std)
    units = catalog.standardise(raw)
    assert matrix.shape == (2, 2)
    assert matrix[1, 0] == pytest.approx(float(units[1] @ units[2]), abs=1e-6)


def test_only_pairs_at_or_above_the_threshold_are_outlined_each_segment_once():
    matrix = np.array([
        [0.9, 0.8, 0.1],
        [0.7, 0.49, 0.2],
        [0.5, 0.3, 0.45],
    ])
    found = regions.matching_regions(matrix, segment_seconds=SEGMENT_S, threshold=0.5, count=3)
    # (0, 0) first; row 0 and column 0 are then used, and nothing else left reaches 0.5.
    assert [(r.label, r.score) for r in found] == [("A", 0.9)]
    assert found[0].liked == (0.0, round(SEGMENT_S, 3)) and found[0].recommended == (0.0, round(SEGMENT_S, 3))

    found = regions.matching_regions(matrix, segment_seconds=SEGMENT_S, threshold=0.3, count=3)
    assert [r.score for r in found] == [0.9, 0.49, 0.45]
    assert found[2].liked[0] == pytest.approx(2 * SEGMENT_S, abs=1e-3)
    assert found[2].recommended[0] == pytest.approx(2 * SEGMENT_S, abs=1e-3)
    liked = [r.liked for r in found]
    assert len(set(liked)) == len(liked)


def test_no_region_is_outlined_when_no_pair_reaches_the_threshold():
    matrix = np.full((3, 4), regions.REGION_MIN_SIMILARITY - 1e-6)
    assert regions.matching_regions(matrix, segment_seconds=SEGMENT_S) == []


def test_at_most_max_regions_are_outlined_best_first():
    matrix = np.eye(5) * np.linspace(1.0, 0.6, 5)[:, None]
    found = regions.matching_regions(matrix, segment_seconds=SEGMENT_S)
    assert len(found) == regions.MAX_REGIONS
    assert [r.label for r in found] == ["A", "B"] and found[0].score >= found[1].score


def test_a_passage_both_clips_share_is_found_where_each_plays_it(catalog):
    rng = np.random.default_rng(5)
    liked, recommended = rng.normal(size=(6, 31)), rng.normal(size=(6, 31))
    recommended[4] = liked[1]
    matrix = regions.segment_similarity(liked, recommended, mean=catalog.mean, std=catalog.std)
    best = regions.matching_regions(matrix, segment_seconds=SEGMENT_S)[0]
    assert best.liked[0] == pytest.approx(1 * SEGMENT_S, abs=1e-3)
    assert best.recommended[0] == pytest.approx(4 * SEGMENT_S, abs=1e-3)
    assert best.score == pytest.approx(1.0, abs=1e-4)
