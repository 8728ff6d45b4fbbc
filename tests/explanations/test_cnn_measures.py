"""What the CNN's explanation shows is measured: the score spreads once centred, the outlined regions carry a
stated share, and an untrained network explains differently from a trained one."""
import numpy as np
import pytest
import torch

from explanations import cnn_measures
from recommender.cnn import contrastive
from tests.recommender.test_contrastive import TINY, synthetic_clips

pytestmark = pytest.mark.xdist_group("cnn-measures")


@pytest.fixture(scope="module")
def model_and_clips():
    clips = synthetic_clips(8, frames=600, seed=31)
    return contrastive.train(clips, contrastive.TrainingConfig(seed=4, **TINY)).model, clips


def test_centred_scores_spread_around_zero_where_raw_cosines_bunch():
    rng = np.random.default_rng(0)
    common = rng.normal(size=16)
    embeddings = common + 0.2 * rng.normal(size=(30, 16))  # every track mostly the same direction
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    raw = embeddings @ embeddings.T
    centred = cnn_measures.centred_scores(embeddings)
    upper = np.triu_indices(30, 1)
    assert raw[upper].min() > 0.8  # bunched near 1
    assert abs(centred[upper].mean()) < 0.1 and centred[upper].std() > 3 * raw[upper].std()
    assert np.allclose(np.diag(centred), 1.0)


def test_each_clip_s_top_recommendations_exclude_itself_highest_first():
    scores = np.array([[1, 0.2, 0.9], [0.2, 1, 0.1], [0.9, 0.1, 1.0]])
    assert cnn_measures.top_recommendations(scores, 1) == [(0, 2), (1, 0), (2, 0)]


def test_what_is_shown_is_reported_with_its_share_and_spread(model_and_clips):
    model, clips = model_and_clips
    shown = cnn_measures.shown(model, clips, k=2)
    assert shown.recommendations == 16
    assert 0 <= shown.top_share_median <= 1 and 0 <= shown.outlined_none <= 1
    assert shown.score_iqr > shown.score_iqr_uncentred  # centring spreads the score a participant reads


def test_an_untrained_network_explains_differently_from_the_trained_one(model_and_clips):
    model, clips = model_and_clips
    pairs = [(0, 1), (2, 3), (4, 5), (6, 7)]
    correlation = cnn_measures.randomisation_rank_correlation(model, clips, pairs, seed=1)
    assert -1 <= correlation <= 1
    torch.manual_seed(5)
    same = cnn_measures.randomisation_rank_correlation(model, clips, pairs, seed=1)
    assert same == correlation  # deterministic from its seed
