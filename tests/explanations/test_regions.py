import numpy as np
import pytest

from explanations import regions
from recommender import audio

SECONDS_PER_FRAME = audio.frame_seconds()
FREQUENCIES = audio.mel_frequencies()
SEGMENT_FRAMES = int(round(regions.SEGMENT_SECONDS / SECONDS_PER_FRAME))


def noise_mel(rng, segments):
    return rng.normal(-40, 12, size=(128, segments * SEGMENT_FRAMES)).astype(np.float32)


def test_the_outlined_regions_are_the_pairs_the_similarity_measure_ranks_highest():
    rng = np.random.default_rng(3)
    liked, recommended = noise_mel(rng, 8), noise_mel(rng, 8)
    found = regions.matching_regions(liked, recommended, frequencies=FREQUENCIES, seconds_per_frame=SECONDS_PER_FRAME)

    similarity = regions.segment_similarity(
        regions.segment_descriptors(liked, FREQUENCIES, SEGMENT_FRAMES),
        regions.segment_descriptors(recommended, FREQUENCIES, SEGMENT_FRAMES),
    )
    best = np.unravel_index(np.argmax(similarity), similarity.shape)
    segment_s = SEGMENT_FRAMES * SECONDS_PER_FRAME
    assert found[0].label == "A"
    assert found[0].liked[0] == pytest.approx(best[0] * segment_s, abs=1e-3)
    assert found[0].recommended[0] == pytest.approx(best[1] * segment_s, abs=1e-3)
    assert found[0].score == pytest.approx(similarity.max(), abs=1e-4)
    assert found[0].score >= found[1].score
    assert found[1].liked != found[0].liked and found[1].recommended != found[0].recommended


def test_a_passage_both_tracks_share_is_found_where_each_plays_it():
    rng = np.random.default_rng(5)
    liked, recommended = noise_mel(rng, 8), noise_mel(rng, 8)
    shared = slice(2 * SEGMENT_FRAMES, 3 * SEGMENT_FRAMES)
    passage = liked[:, shared].copy()
    passage[20:30] += 35  # a loud, distinctive band
    liked[:, shared] = passage
    recommended[:, 5 * SEGMENT_FRAMES : 6 * SEGMENT_FRAMES] = passage

    best = regions.matching_regions(liked, recommended, frequencies=FREQUENCIES, seconds_per_frame=SECONDS_PER_FRAME)[0]
    segment_s = SEGMENT_FRAMES * SECONDS_PER_FRAME
    assert best.liked[0] == pytest.approx(2 * segment_s, abs=1e-3)
    assert best.recommended[0] == pytest.approx(5 * segment_s, abs=1e-3)
    assert best.score > 0.99


def test_a_clip_shorter_than_a_segment_is_one_region():
    rng = np.random.default_rng(1)
    short = rng.normal(-40, 10, size=(128, SEGMENT_FRAMES // 2)).astype(np.float32)
    found = regions.matching_regions(short, short, frequencies=FREQUENCIES, seconds_per_frame=SECONDS_PER_FRAME)
    assert len(found) == 1 and found[0].liked[0] == 0
