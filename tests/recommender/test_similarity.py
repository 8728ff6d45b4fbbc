import numpy as np
import pytest

from recommender import similarity


@pytest.fixture
def raw():
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(300, 8))
    matrix[:, 0] = rng.uniform(60, 200, size=300)  # tempo dwarfs the other features
    return matrix


def cosine(a, b):
    return a @ b / np.linalg.norm(a) / np.linalg.norm(b)


def test_unscaled_cosine_calls_everything_similar_but_the_standardised_one_does_not(raw):
    unscaled = [cosine(raw[0], raw[i]) for i in range(1, 300)]
    index = similarity.build_index(raw)
    scaled = index.vectors[1:] @ index.vectors[0]
    assert min(unscaled) > 0.97
    assert scaled.min() < -0.3 and scaled.max() > 0.3


def test_index_rows_have_unit_length_and_standardise_new_rows_alike(raw):
    index = similarity.build_index(raw)
    np.testing.assert_allclose(np.linalg.norm(index.vectors, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(index.standardise(raw[5])[0], index.vectors[5], atol=1e-5)


def test_a_constant_feature_does_not_break_the_index(raw):
    raw[:, 3] = 4.2
    index = similarity.build_index(raw)
    assert np.all(np.isfinite(index.vectors))
    assert np.all(index.vectors[:, 3] == 0)


def test_recommend_returns_the_brute_force_top_k_without_liked_or_excluded_rows(raw):
    vectors = similarity.build_index(raw).vectors
    liked, excluded = [3, 40], {7}
    matches = similarity.recommend(vectors, liked, k=10, exclude_rows=excluded)

    best = np.max(vectors @ vectors[liked].T, axis=1)
    best[liked + list(excluded)] = -np.inf
    expected = list(np.argsort(-best)[:10])
    assert [m.row for m in matches] == expected
    assert all(m.row not in liked and m.row not in excluded for m in matches)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


def test_each_match_names_the_liked_track_it_is_closest_to(raw):
    vectors = similarity.build_index(raw).vectors
    for match in similarity.recommend(vectors, [3, 40, 77], k=20):
        scores = {seed: float(vectors[seed] @ vectors[match.row]) for seed in (3, 40, 77)}
        assert match.seed_row == max(scores, key=scores.get)
        assert match.score == pytest.approx(scores[match.seed_row], abs=1e-6)


def test_contributions_sum_exactly_to_the_cosine(raw):
    vectors = similarity.build_index(raw).vectors
    for a, b in [(0, 1), (5, 200), (17, 18)]:
        shares = similarity.contributions(vectors[a], vectors[b])
        assert shares.sum() == pytest.approx(float(vectors[a] @ vectors[b]), abs=1e-6)


def test_recommend_needs_liked_tracks_and_handles_a_tiny_catalog(raw):
    vectors = similarity.build_index(raw[:3]).vectors
    with pytest.raises(ValueError, match="at least one liked track"):
        similarity.recommend(vectors, [], k=5)
    assert len(similarity.recommend(vectors, [0], k=5)) == 2


def test_distance_shares_sum_exactly_to_one_minus_the_cosine(raw):
    index = similarity.build_index(raw)
    for a, b in [(0, 1), (5, 200), (17, 18)]:
        shares = similarity.distance_shares(*index.zscores(raw[[a, b]]))
        assert shares.min() >= 0
        assert shares.sum() == pytest.approx(1 - float(index.vectors[a] @ index.vectors[b]), abs=1e-6)


@pytest.mark.parametrize("tempo", [61.0, 130.0, 199.0])
def test_a_feature_two_tracks_share_adds_nothing_to_their_distance_wherever_it_lies(raw, tempo):
    raw[0, 0] = raw[1, 0] = tempo
    index = similarity.build_index(raw)
    shares = similarity.distance_shares(*index.zscores(raw[:2]))
    assert shares[0] == 0
    assert shares.sum() == pytest.approx(1 - float(index.vectors[0] @ index.vectors[1]), abs=1e-6)


def test_distance_shares_decompose_the_score_they_are_given(raw):
    index = similarity.build_index(raw)
    shares = similarity.distance_shares(*index.zscores(raw[:2]), cosine=0.25)
    assert shares.sum() == pytest.approx(0.75)
    identical = similarity.distance_shares(*index.zscores(raw[[3, 3]]))
    assert not identical.any()
