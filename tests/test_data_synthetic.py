"""The synthetic Netflix: shape, determinism, and the planted structure."""

import numpy as np
import pytest

from numpy_movievec.data import scaled_sizes, synthetic
from numpy_movievec.data.synthetic import NETFLIX_MAX_USER_ID, NETFLIX_STARS


@pytest.fixture(scope="module")
def ratings():
    return synthetic(50_000, seed=0)


def test_sizes_follow_the_scaling_rule_or_the_arguments():
    assert scaled_sizes(100_480_507) == (17_770, 480_189)
    assert scaled_sizes(1_000_000) == (1773, 19053)
    assert scaled_sizes(1000) == (56, 151)
    r = synthetic(3_000, n_movies=60, n_users=200, seed=0)
    assert (len(r), r.n_movies, r.n_users) == (3_000, 60, 200)
    with pytest.raises(ValueError, match="cannot cover"):
        synthetic(1_000, n_movies=10, n_users=50)  # more than half of all pairs
    with pytest.raises(ValueError, match="cannot cover"):
        synthetic(100, n_movies=200, n_users=200)  # fewer ratings than movies


def test_pairs_are_distinct_sorted_and_cover_every_movie_and_user(ratings):
    r = ratings
    keys = r.movie.astype(np.int64) * r.n_users + r.user
    assert np.all(np.diff(keys) > 0)  # sorted by movie then user, no repeated pair
    assert r.movie_counts.min() >= 1
    assert np.bincount(r.user, minlength=r.n_users).min() >= 1
    assert (r.movie.dtype, r.user.dtype, r.rating.dtype) == (np.int32, np.int32, np.int8)


def test_ids_are_netflix_like(ratings):
    np.testing.assert_array_equal(ratings.movie_ids, np.arange(1, ratings.n_movies + 1))
    ids = ratings.user_ids
    assert np.all(np.diff(ids) > 0) and ids[0] >= 1 and ids[-1] <= NETFLIX_MAX_USER_ID
    assert ids[-1] > 10 * ratings.n_users  # sparse, like Netflix customer ids


def test_star_histogram_is_netflix_like(ratings):
    shares = np.bincount(ratings.rating, minlength=6)[1:] / len(ratings)
    np.testing.assert_allclose(shares, NETFLIX_STARS, atol=0.01)
    assert abs(ratings.rating.mean() - 3.60) < 0.03


def test_popularity_and_activity_are_heavy_tailed(ratings):
    for counts in (ratings.movie_counts, np.bincount(ratings.user)):
        assert counts.max() > 5 * np.median(counts)
        top_share = np.sort(counts)[::-1][: len(counts) // 10].sum() / counts.sum()
        assert top_share > 0.25  # the top tenth has far more than a tenth of the ratings


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = synthetic(5_000, seed=3), synthetic(5_000, seed=3), synthetic(5_000, seed=4)
    for name in ("movie", "user", "rating", "user_ids"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.titles == b.titles and a.titles != c.titles
    assert not np.array_equal(a.user, c.user)


def test_planted_pairs_have_real_titles_and_are_popular(ratings):
    truth = ratings.truth
    assert len(truth.pairs) == 14
    assert ("Ringu", "The Ring") in truth.pairs
    assert ("Yojimbo", "A Fistful of Dollars") in truth.pairs
    for (japanese, american), (j, a) in zip(truth.pairs, truth.pair_index):
        assert ratings.titles[j] == japanese and ratings.titles[a] == american
        assert (truth.origin[j], truth.origin[a]) == (1, 0)
        assert truth.genre[j] == truth.genre[a]
    assert np.all(ratings.movie_counts[truth.pair_index] > 4 * np.median(ratings.movie_counts))
    assert len(set(ratings.titles)) == ratings.n_movies  # titles name movies unambiguously


def test_pairs_share_their_story_and_differ_only_by_origin(ratings):
    truth = ratings.truth
    japanese, american = truth.pair_index.T
    offsets = truth.movie_factors[american] - truth.movie_factors[japanese]
    np.testing.assert_array_equal(offsets, np.broadcast_to(offsets[0], offsets.shape))
    assert np.count_nonzero(offsets[0]) == 1  # the origin coordinate only
    np.testing.assert_array_equal(truth.movie_bias[japanese], truth.movie_bias[american])


@pytest.mark.parametrize("normalise_first, share", [(False, 1.0), (True, 0.75)])
def test_true_factors_rank_the_counterparts_first(ratings, normalise_first, share):
    """vec(A2) ≈ vec(A1) − vec(J1) + vec(J2) on the hidden factors, for every two pairs.

    Exactly so for raw vectors (the "offset" method). On unit vectors ("3cosadd") the strong
    origin coordinate makes normalising bend the offset, so most, not all, come first.
    """
    factors = ratings.truth.movie_factors.astype(np.float64)
    unit = factors / np.linalg.norm(factors, axis=1, keepdims=True)
    vectors = unit if normalise_first else factors
    first = combinations = 0
    for j1, a1 in ratings.truth.pair_index:
        for j2, a2 in ratings.truth.pair_index:
            if j1 == j2:
                continue
            query = vectors[a1] - vectors[j1] + vectors[j2]
            scores = unit @ query
            scores[[a1, j1, j2]] = -np.inf  # the inputs are not answers
            first += np.argmax(scores) == a2
            combinations += 1
    assert first >= share * combinations


def test_true_counterparts_are_not_plain_nearest_neighbours(ratings):
    """The control: without the offset, a Japanese film's closest movies are Japanese too."""
    factors = ratings.truth.movie_factors.astype(np.float64)
    unit = factors / np.linalg.norm(factors, axis=1, keepdims=True)
    missed = 0
    for japanese, american in ratings.truth.pair_index:
        scores = unit @ unit[japanese]
        scores[japanese] = -np.inf
        missed += np.argmax(scores) != american
    assert missed >= 0.8 * len(ratings.truth.pair_index)


def test_ratings_follow_the_hidden_model(ratings):
    """The true model explains the ratings far better than the global mean does."""
    r, truth = ratings, ratings.truth
    latent = (truth.movie_bias[r.movie] + truth.user_bias[r.user]
              + np.einsum("ij,ij->i", truth.movie_factors[r.movie], truth.user_factors[r.user]))
    assert np.corrcoef(latent, r.rating)[0, 1] > 0.5
    fans = truth.user_factors[:, -1] > 1.0  # users who love Japanese cinema
    japanese = truth.origin[r.movie] == 1
    fan_rows = fans[r.user]
    assert r.rating[japanese & fan_rows].mean() > r.rating[japanese & ~fan_rows].mean() + 0.5


def test_same_data_whatever_the_thread_count():
    import numba
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = synthetic(20_000, seed=5)
    finally:
        numba.set_num_threads(threads)
    many = synthetic(20_000, seed=5)
    for name in ("movie", "user", "rating"):
        np.testing.assert_array_equal(getattr(one, name), getattr(many, name))
