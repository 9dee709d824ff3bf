"""A synthetic Netflix: ratings drawn from a hidden model with planted counterpart pairs.

Neither the Netflix Prize nor MovieLens can be downloaded everywhere, so `synthetic` makes a
stand-in of the same shape (by default 100,480,507 ratings of 17,770 movies by 480,189 users)
with known structure to recover.

The hidden model. Every movie has a factor vector in three parts,

    [ genre loadings (10) | story "style" (6) | origin (1: ORIGIN_LOADING Japanese, 0 otherwise) ]

and a bias; every user has a taste vector of the same length (some users love Japanese cinema,
most mildly prefer home-grown films) and a bias. A rating is an ordered-logit draw:

    latent  = movie bias + user bias + user · movie + logistic noise
    rating  = 1 + (number of cut points below latent)

with the four cut points set so the star histogram is Netflix's (4.6, 10.1, 28.7, 33.6, 23.0 %,
mean 3.60). The noise is a hash of (seed, movie, user), so a pair's rating does not depend on
which other pairs were drawn, nor on the thread count.

Planted pairs. Fourteen Japanese films and their American counterparts (Ringu → The Ring,
Yojimbo → A Fistful of Dollars, ...) get real titles; each pair shares its genre, style and
bias and differs only in origin, so vec(A Fistful of Dollars) − vec(Yojimbo) = vec(The Ring) −
vec(Ringu) holds exactly in the true factors. Origin is a strong taste (``ORIGIN_LOADING``):
a Japanese film's nearest neighbours are other Japanese films, not its American counterpart,
so only the offset crosses over — plain similarity, the control, does not. Measured on the
true factors, that holds clearly in the catalogues of 10M ratings and more, and only loosely
at 1M, where a few hundred candidates leave the counterpart near the top even by plain
similarity. Planted movies are among the most popular, so a model trained on
a few million ratings sees them often enough to learn that offset.

Who rates what. Movie popularity and user activity are log-normal (a few blockbusters and
heavy raters, a long tail of both). Each movie's number of ratings is a multinomial draw, and
each movie draws that many distinct users by activity from an alias table. Every movie and
every user has at least one rating, as in Netflix. The random numbers inside the parallel
kernels are hashes of (seed, movie, draw number), so the data is the same for any thread count.

The ground truth is `Ratings.truth` (a `SyntheticTruth`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from numpy_movievec import checks
from numpy_movievec.data._titles import COUNTERPARTS, GENRE_SHARES, GENRES, filler_titles
from numpy_movievec.data.ratings import Ratings
from numpy_movievec.jit import njit_cached

NETFLIX_RATINGS = 100_480_507
NETFLIX_MOVIES = 17_770
NETFLIX_USERS = 480_189
NETFLIX_MAX_USER_ID = 2_649_429
NETFLIX_STARS = np.array([0.046, 0.101, 0.287, 0.336, 0.230])  # share of 1..5 stars

STYLE_DIMS = 6
ORIGIN_LOADING = 2.0           # the origin coordinate of a Japanese film; story parts are ~1.6 long
JAPANESE_SHARE = 0.06          # of filler movies
MOVIE_POPULARITY_SIGMA = 1.5   # log-normal spread of movie popularity
USER_ACTIVITY_SIGMA = 1.1      # log-normal spread of user activity
NOISE_SCALE = 0.6              # logistic noise scale of the latent rating
PLANTED_POPULARITY = (0.95, 0.995)  # planted movies take popularity from these quantiles


@dataclass(frozen=True)
class SyntheticTruth:
    """The hidden model behind `synthetic` ratings.

    pairs           (japanese title, american title) of each planted counterpart pair
    pair_index      (n_pairs, 2) int32: dense movie indices of (japanese, american)
    movie_factors   (n_movies, 17) float32: [genre loadings | style | origin]
    movie_bias      (n_movies,) float32
    user_factors    (n_users, 17) float32: tastes, same layout
    user_bias       (n_users,) float32
    origin          (n_movies,) int8: 1 Japanese, 0 otherwise
    genre           (n_movies,) int8: index of the main genre in ``genre_names``
    genre_names     the genres
    cut_points      (4,) float32: latent thresholds between 1|2, 2|3, 3|4 and 4|5 stars
    """

    pairs: list
    pair_index: np.ndarray
    movie_factors: np.ndarray
    movie_bias: np.ndarray
    user_factors: np.ndarray
    user_bias: np.ndarray
    origin: np.ndarray
    genre: np.ndarray
    genre_names: tuple
    cut_points: np.ndarray


def synthetic(n_ratings: int = NETFLIX_RATINGS, n_movies: int | None = None,
              n_users: int | None = None, seed: int = 0) -> Ratings:
    """Netflix-shaped synthetic ratings with planted Japanese → American counterpart pairs.

    Deterministic from ``seed``. Given only ``n_ratings``, the catalogue and audience shrink
    with it (see `scaled_sizes`); pass ``n_movies``/``n_users`` to choose them. Movie ids are
    1..n_movies, user ids sparse in 1..2,649,429 like Netflix customer ids. The result's
    ``truth`` is the hidden model (`SyntheticTruth`).

    >>> r = synthetic(20_000, seed=1)
    >>> r
    Ratings(20,000 ratings of 251 movies by 1,232 users, rating int8, source='synthetic(seed=1)')
    >>> r.truth.pairs[5]
    ('Yojimbo', 'A Fistful of Dollars')
    """
    n_movies, n_users = scaled_sizes(n_ratings, n_movies, n_users)
    seed = checks.count(seed, "seed")
    catalogue_rng, audience_rng, draw_rng, noise_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4))
    titles, years, genre, origin, pair_index = _catalogue(n_movies, catalogue_rng)
    movie_factors, movie_bias = _movie_model(genre, origin, pair_index, catalogue_rng)
    popularity = _popularity(n_movies, pair_index, catalogue_rng)
    user_factors, user_bias, activity = _audience(n_users, audience_rng)
    movie, user, starts = _draw_pairs(popularity, activity, n_ratings, draw_rng)
    noise_seed = int(noise_rng.integers(1 << 62))
    cut_points = _calibrate(movie, user, movie_factors, movie_bias, user_factors, user_bias,
                            noise_seed, noise_rng)
    rating = _rate(starts, user, movie_factors, movie_bias, user_factors, user_bias,
                   noise_seed, cut_points)
    truth = SyntheticTruth(
        pairs=[(titles[j], titles[a]) for j, a in pair_index.tolist()], pair_index=pair_index,
        movie_factors=movie_factors, movie_bias=movie_bias, user_factors=user_factors,
        user_bias=user_bias, origin=origin, genre=genre, genre_names=GENRES,
        cut_points=cut_points)
    return Ratings(movie, user, rating, n_movies=n_movies, n_users=n_users, titles=titles,
                   years=years, movie_ids=np.arange(1, n_movies + 1),
                   user_ids=_sparse_user_ids(n_users, audience_rng),
                   source=f"synthetic(seed={seed})", truth=truth, validate=False)


def scaled_sizes(n_ratings: int, n_movies: int | None = None,
                 n_users: int | None = None) -> tuple[int, int]:
    """``(n_movies, n_users)`` for ``n_ratings``, filling in whichever is None.

    With ``s = n_ratings / 100,480,507``: movies = 17,770·√s (at least 40) and
    users = 480,189·s^0.7 (at least 50), so smaller sets stay dense enough to learn from
    (1M ratings: 1,773 movies, 19,053 users). Raises ValueError unless there are enough
    ratings for every movie and user to have one, and few enough that no movie needs more
    than half of the users.

    >>> scaled_sizes(100_480_507)
    (17770, 480189)
    """
    n_ratings = checks.positive_int(n_ratings, "n_ratings")
    n_movies = None if n_movies is None else checks.positive_int(n_movies, "n_movies")
    n_users = None if n_users is None else checks.positive_int(n_users, "n_users")
    scale = n_ratings / NETFLIX_RATINGS
    n_movies = max(40, round(NETFLIX_MOVIES * scale ** 0.5)) if n_movies is None else n_movies
    n_users = max(50, round(NETFLIX_USERS * scale ** 0.7)) if n_users is None else n_users
    fewest, most = n_movies + n_users, n_movies * (n_users // 2)
    if not fewest <= n_ratings <= most:
        raise checks.BadValueError(f"{n_ratings:,} ratings cannot cover {n_movies:,} movies "
                                   f"and {n_users:,} users (need between {fewest:,} and "
                                   f"{most:,})")
    return int(n_movies), int(n_users)


# ---------------------------------------------------------------------- the hidden model

def _catalogue(n_movies, rng):
    """Titles, years, main genre, origin and the planted pairs' dense indices."""
    n_pairs = min(len(COUNTERPARTS), n_movies // 4)
    planted = rng.choice(n_movies, 2 * n_pairs, replace=False).astype(np.int32)
    pair_index = planted.reshape(n_pairs, 2)
    titles = filler_titles(n_movies, rng, taken=_planted_titles())
    years = (1930 + 76 * rng.beta(3.0, 1.2, n_movies)).astype(np.int16)
    filler = np.setdiff1d(np.arange(n_movies), planted)
    unknown_years = max(1, round(7 * n_movies / NETFLIX_MOVIES))  # Netflix has seven NULL years
    years[rng.choice(filler, unknown_years, replace=False)] = 0
    genre = rng.choice(len(GENRES), n_movies, p=GENRE_SHARES).astype(np.int8)
    origin = (rng.random(n_movies) < JAPANESE_SHARE).astype(np.int8)
    for (japanese, american), pair in zip(pair_index.tolist(), COUNTERPARTS):
        titles[japanese], years[japanese] = pair.japanese, pair.japanese_year
        titles[american], years[american] = pair.american, pair.american_year
        genre[[japanese, american]] = GENRES.index(pair.genre)
        origin[japanese], origin[american] = 1, 0
    return titles, years, genre, origin, pair_index


def _planted_titles():
    return {title for pair in COUNTERPARTS for title in (pair.japanese, pair.american)}


def _movie_model(genre, origin, pair_index, rng):
    """Factor vectors and biases; each planted pair shares all but its origin."""
    n_movies = len(genre)
    genres = np.zeros((n_movies, len(GENRES)), np.float32)
    genres[np.arange(n_movies), genre] = 1.0
    has_second = rng.random(n_movies) < 0.5  # a second, weaker genre for half the movies
    genres[np.flatnonzero(has_second), rng.integers(len(GENRES), size=has_second.sum())] += 0.5
    style = rng.normal(0.0, 0.5, (n_movies, STYLE_DIMS)).astype(np.float32)
    factors = np.hstack([genres, style, ORIGIN_LOADING * origin[:, None].astype(np.float32)])
    bias = rng.normal(0.0, 0.5, n_movies).astype(np.float32)
    japanese, american = pair_index[:, 0], pair_index[:, 1]
    story = slice(0, len(GENRES) + STYLE_DIMS)
    factors[american, story] = factors[japanese, story]
    bias[american] = bias[japanese]
    return factors, bias


def _popularity(n_movies, pair_index, rng):
    """Log-normal popularity; planted movies take values from the top quantiles."""
    popularity = np.exp(MOVIE_POPULARITY_SIGMA * np.clip(rng.standard_normal(n_movies), -3, 3))
    low, high = np.quantile(popularity, PLANTED_POPULARITY)
    planted = pair_index.ravel()
    popularity[planted] = rng.uniform(low, high, len(planted))
    return popularity / popularity.sum()


def _audience(n_users, rng):
    """User tastes, biases and log-normal activity."""
    genre_taste = rng.normal(0.0, 0.7, (n_users, len(GENRES)))
    style_taste = rng.normal(0.0, 0.5, (n_users, STYLE_DIMS))
    fans = rng.random(n_users) < 0.15  # who love Japanese cinema; the rest mildly prefer home
    origin_taste = np.where(fans, rng.normal(1.5, 0.4, n_users), rng.normal(-0.3, 0.5, n_users))
    factors = np.hstack([genre_taste, style_taste, origin_taste[:, None]]).astype(np.float32)
    bias = rng.normal(0.0, 0.6, n_users).astype(np.float32)
    activity = np.exp(USER_ACTIVITY_SIGMA * np.clip(rng.standard_normal(n_users), -4, 4))
    return factors, bias, activity / activity.sum()


def _sparse_user_ids(n_users, rng):
    """Distinct increasing ids spread over 1..2,649,429, like Netflix customer ids."""
    largest = max(NETFLIX_MAX_USER_ID, n_users)
    return np.sort(rng.choice(largest, n_users, replace=False)) + 1


# ---------------------------------------------------------------------- who rates what

def _draw_pairs(popularity, activity, n_ratings, rng):
    """``(movie, user)`` columns of distinct pairs, sorted by movie then user.

    Every user gets one rating of a movie drawn by popularity; every movie gets at least one
    rating; the rest are spread over movies by a multinomial draw, capped at half the users per
    movie (the most-rated Netflix movie has 48.5%). Each movie then draws its users by activity
    until it has its count of distinct users. Also returns ``starts``, each movie's first row.
    """
    n_movies, n_users = len(popularity), len(activity)
    first_movie = rng.choice(n_movies, n_users, p=popularity)
    given = np.bincount(first_movie, minlength=n_movies)
    counts = np.maximum(given, 1)
    counts += _capped_multinomial(n_ratings - counts.sum(), popularity, counts,
                                  max(n_users // 2, given.max()), rng)
    starts = np.concatenate([[0], np.cumsum(counts)])
    users_by_first_movie = np.argsort(first_movie, kind="stable").astype(np.int32)
    given_starts = np.concatenate([[0], np.cumsum(given)])
    alias_probability, alias = _alias_table(activity)
    scratch = np.zeros((numba.config.NUMBA_NUM_THREADS, n_users), np.bool_)
    user = _draw_users(starts, users_by_first_movie, given_starts, alias_probability, alias,
                       int(rng.integers(1 << 62)), scratch)
    movie = np.repeat(np.arange(n_movies, dtype=np.int32), counts)
    return movie, user, starts


def _capped_multinomial(total, probability, base, cap, rng):
    """Spread ``total`` over bins by ``probability`` so that no ``base + extra`` exceeds ``cap``."""
    extra = np.zeros(len(probability), np.int64)
    while total > 0:
        room = cap - base - extra
        weights = np.where(room > 0, probability, 0.0)
        draw = np.minimum(rng.multinomial(total, weights / weights.sum()), room)
        extra += draw
        total -= draw.sum()
    return extra


@njit_cached
def _alias_table(probability):
    """Walker/Vose alias table: draw index i with ``probability[i]`` from one uniform number."""
    n = len(probability)
    scaled = probability * n
    alias = np.arange(n)
    small = np.flatnonzero(scaled < 1.0)
    large = np.flatnonzero(scaled >= 1.0)
    s, g = len(small), len(large)
    while s > 0 and g > 0:
        s -= 1
        low = small[s]
        high = large[g - 1]
        alias[low] = high
        scaled[high] -= 1.0 - scaled[low]
        if scaled[high] < 1.0:
            g -= 1
            small[s] = high
            s += 1
    return np.minimum(scaled, 1.0).astype(np.float32), alias.astype(np.int32)


@njit_cached(parallel=True)
def _draw_users(starts, given_users, given_starts, alias_probability, alias, seed, scratch):
    """Each movie's distinct users: its given users, then activity draws; sorted per movie.

    Random numbers are a hash of (seed, movie, draw number), so the result does not depend
    on how movies are shared among threads. ``scratch`` holds one seen-flag row per thread.
    """
    n_users = len(alias)
    user = np.empty(starts[-1], np.int32)
    for movie in numba.prange(len(starts) - 1):
        seen = scratch[numba.get_thread_id()]
        row = starts[movie]
        for k in range(given_starts[movie], given_starts[movie + 1]):
            user[row] = given_users[k]
            seen[given_users[k]] = True
            row += 1
        draw = 0
        while row < starts[movie + 1]:
            scaled = _hash_uniform(seed, movie, draw) * n_users
            draw += 1
            bucket = min(int(scaled), n_users - 1)
            candidate = bucket if scaled - bucket < alias_probability[bucket] else alias[bucket]
            if not seen[candidate]:
                seen[candidate] = True
                user[row] = candidate
                row += 1
        _sorted_and_forgotten(user[starts[movie]:starts[movie + 1]], seen)
    return user


@njit_cached
def _sorted_and_forgotten(block, seen):
    """Sort ``block`` (distinct users) in place and clear their ``seen`` flags."""
    if len(block) * 64 > len(seen):  # a big block: reading all flags in order beats sorting
        row = 0
        for candidate in range(len(seen)):
            if seen[candidate]:
                block[row] = candidate
                seen[candidate] = False
                row += 1
    else:
        for candidate in block:
            seen[candidate] = False
        block.sort()


@njit_cached
def _hash_uniform(seed, a, b):
    """A uniform number in (0, 1) that is a pure function of (seed, a, b) (SplitMix64)."""
    z = np.uint64(seed) + np.uint64(a) * np.uint64(0x9E3779B97F4A7C15) \
        + np.uint64(b) * np.uint64(0xD1B54A32D192ED03)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (np.float64(z >> np.uint64(11)) + 0.5) / 9007199254740992.0


# ---------------------------------------------------------------------- the ratings

@njit_cached
def _latent(movie, user, movie_factors, movie_bias, user_factors, user_bias, noise_seed):
    """One pair's latent rating: biases + taste · factors + logistic noise."""
    value = movie_bias[movie] + user_bias[user]
    for k in range(movie_factors.shape[1]):
        value += movie_factors[movie, k] * user_factors[user, k]
    u = _hash_uniform(noise_seed, movie, user)
    return value + NOISE_SCALE * np.log(u / (1.0 - u))  # logistic noise


@njit_cached(parallel=True)
def _latent_sample(rows, movie, user, movie_factors, movie_bias, user_factors, user_bias,
                   noise_seed):
    out = np.empty(len(rows), np.float64)
    for i in numba.prange(len(rows)):
        r = rows[i]
        out[i] = _latent(movie[r], user[r], movie_factors, movie_bias, user_factors, user_bias,
                         noise_seed)
    return out


def _calibrate(movie, user, movie_factors, movie_bias, user_factors, user_bias, noise_seed,
               rng, sample_size=200_000):
    """Cut points that give the Netflix star histogram, from a sample of latent ratings."""
    rows = rng.integers(len(movie), size=min(sample_size, len(movie)))
    latent = _latent_sample(rows, movie, user, movie_factors, movie_bias, user_factors,
                            user_bias, noise_seed)
    return np.quantile(latent, np.cumsum(NETFLIX_STARS)[:-1]).astype(np.float32)


USER_BLOCK = 8192  # users whose factors (8192 x 68 bytes) stay in a core's L2 cache


@njit_cached(parallel=True)
def _rate(starts, user, movie_factors, movie_bias, user_factors, user_bias, noise_seed,
          cut_points):
    """Stars for rows sorted by movie then user (``starts``: each movie's first row).

    Visiting rows in movie order would fetch user factors from all over memory. Instead the
    users are taken in blocks that fit in cache, and each block is matched against every
    movie's run of rows for those users (contiguous, as users are sorted within a movie).
    """
    rating = np.empty(len(user), np.int8)
    next_row = starts[:-1].copy()
    for block_end in range(USER_BLOCK, len(user_bias) + USER_BLOCK, USER_BLOCK):
        for movie in numba.prange(len(starts) - 1):
            row = next_row[movie]
            while row < starts[movie + 1] and user[row] < block_end:
                latent = _latent(movie, user[row], movie_factors, movie_bias, user_factors,
                                 user_bias, noise_seed)
                stars = 1
                for k in range(len(cut_points)):
                    if latent > cut_points[k]:
                        stars += 1
                rating[row] = stars
                row += 1
            next_row[movie] = row
    return rating
