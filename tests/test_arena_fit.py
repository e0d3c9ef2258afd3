"""Bradley–Terry fit: recovers known strengths, covers them with its intervals, reports unrated models."""

import math

import numpy as np
import pytest

from playground.arena import fit_ratings, leaderboard, win_rate_matrix

MODELS = [f"sim:m{k}" for k in range(10)]
TRUE = np.linspace(750.0, 1250.0, 10)  # Elo-like, mean 1000; a 55-point step between neighbours
TIE_RATE = 0.1


def simulate(n_votes: int, seed: int) -> list[tuple[str, str, float]]:
    """Votes between random pairs whose expected score for A is the Bradley–Terry probability.

    A tenth are ties; the rest are decided so that E[score] = P(A beats B) exactly, which is what
    the half-win treatment of ties estimates.
    """
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 10, n_votes)
    b = (a + rng.integers(1, 10, n_votes)) % 10
    p = 1.0 / (1.0 + 10.0 ** ((TRUE[b] - TRUE[a]) / 400.0))
    decided = np.where(rng.random(n_votes) < (p - TIE_RATE / 2) / (1 - TIE_RATE), 1.0, 0.0)
    score = np.where(rng.random(n_votes) < TIE_RATE, 0.5, decided)
    return [(MODELS[i], MODELS[j], float(s)) for i, j, s in zip(a, b, score, strict=True)]


def test_ratings_recover_the_order_and_scale_of_known_strengths():
    board = leaderboard(simulate(6000, seed=1), rounds=200, seed=0)
    assert [r.model for r in board] == MODELS[::-1]
    truth = dict(zip(MODELS, TRUE, strict=True))
    assert all(abs(r.rating - truth[r.model]) < 40 for r in board)
    assert sum(r.rating for r in board) / 10 == pytest.approx(1000.0)
    assert all(r.lower < r.rating < r.upper for r in board)


def test_intervals_cover_the_true_values_in_most_trials():
    covered = total = 0
    for trial in range(20):
        board = leaderboard(simulate(4000, seed=100 + trial), rounds=200, seed=trial)
        truth = dict(zip(MODELS, TRUE, strict=True))
        covered += sum(r.lower <= truth[r.model] <= r.upper for r in board)
        total += len(board)
    # nominal 95%: about 190 of 200; a binomial(200, 0.95) falls below 170 with probability < 1e-6
    assert covered / total >= 0.85


def test_model_without_votes_is_unrated_not_average():
    board = leaderboard(simulate(2000, seed=2), models=["sim:never", *MODELS], rounds=50)
    last = board[-1]
    assert (last.model, last.rating, last.lower, last.upper, last.votes, last.rank) == (
        "sim:never",
        None,
        None,
        None,
        0,
        None,
    )
    assert sum(r.rating for r in board[:-1]) / 10 == pytest.approx(1000.0)


def test_unbeaten_and_unlinked_models_stay_finite():
    pairs = [("x:a", "x:b", 1.0)] * 5 + [("x:c", "x:d", 0.5)] * 3
    ratings = fit_ratings(pairs)
    assert all(math.isfinite(v) for v in ratings.values())
    assert ratings["x:c"] == pytest.approx(ratings["x:d"])
    assert ratings["x:a"] > ratings["x:c"] > ratings["x:b"]
    board = leaderboard(pairs, rounds=100)
    assert all(math.isfinite(r.lower) and math.isfinite(r.upper) for r in board)


def test_counts_ties_as_half_wins_and_is_deterministic_given_a_seed():
    pairs = simulate(1000, seed=3)
    assert leaderboard(pairs, seed=7) == leaderboard(pairs, seed=7)
    assert leaderboard(pairs, seed=7) != leaderboard(pairs, seed=8)
    even = fit_ratings([("x:a", "x:b", 0.5)] * 4)
    assert even["x:a"] == pytest.approx(even["x:b"])
    row = next(
        r for r in leaderboard([("x:a", "x:b", 1.0), ("x:b", "x:a", 0.5)], rounds=0) if r.model == "x:a"
    )
    assert (row.votes, row.wins, row.ties, row.losses, row.lower) == (2, 1, 1, 0, None)


def test_no_votes_at_all_gives_an_empty_or_all_unrated_board():
    assert fit_ratings([]) == {}
    assert [r.rating for r in leaderboard([], models=["x:a", "x:b"])] == [None, None]


def test_win_rate_matrix_counts_ties_half_and_leaves_unmet_pairs_empty():
    pairs = [("x:a", "x:b", 1.0), ("x:b", "x:a", 0.5), ("x:a", "x:c", 0.0)]
    models, rates, games = win_rate_matrix(pairs, models=["x:a", "x:b", "x:c", "x:d"])
    assert models == ["x:a", "x:b", "x:c", "x:d"]
    assert rates[0, 1] == pytest.approx(0.75) and rates[1, 0] == pytest.approx(0.25)
    assert rates[2, 0] == 1.0 and games[0, 1] == 2
    assert np.isnan(rates[1, 2]) and np.isnan(rates[3]).all()
