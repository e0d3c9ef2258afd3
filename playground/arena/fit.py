"""Bradley–Terry ratings from pairwise votes, with bootstrap intervals, on an Elo-like scale.

Model: P(i beats j) = sigmoid(theta_i - theta_j). A tie counts as half a win for each side (the
pair's score enters the likelihood as a fractional win count). The fit is a damped Newton ascent
of the penalised log-likelihood, run for the point estimate and for every bootstrap round at once
(arrays of shape rounds x models x models), so 200 rounds cost about as much as a handful of fits.

Prior: each rated model is credited with ``prior_games`` virtual games (default 1) tied against a
fixed reference player at theta = 0. With thousands of votes this moves nothing; it keeps a model
that won (or lost) every game finite and pins the level of groups of models never compared with
each other (their ratings are then only comparable within the group).

Scale: rating = 400 / ln 10 * theta + 1000, with theta shifted so the rated models average 1000.
A 400-point gap means 10:1 odds, as in Elo.

Intervals: the votes are resampled with replacement (a multinomial draw of counts over the unique
(model_a, model_b, score) rows, not a loop over votes), each round is refitted and anchored the
same way, and the 2.5th and 97.5th percentiles are reported. Deterministic given ``seed``.

Models with no votes are listed as unrated (``rating=None``), never as average.
Filtering votes (dates, tags, blind, human/judge) happens before, in ``votes``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

SCALE = 400.0 / math.log(10.0)
BASE = 1000.0

Pair = tuple[str, str, float]


@dataclass(frozen=True)
class Rating:
    """One leaderboard row. ``rating``/``lower``/``upper`` are None for an unrated model.

    ``rank`` is 1 + the number of models whose lower bound is above this model's upper bound
    (Chatbot Arena's convention: models that cannot be told apart share a rank).
    """

    model: str
    rating: float | None
    lower: float | None
    upper: float | None
    votes: int
    wins: int
    ties: int
    losses: int
    rank: int | None = None


@dataclass(frozen=True)
class _Table:
    """Votes reduced to unique rows (i, j, score) with counts; i, j index ``models``."""

    models: list[str]
    i: np.ndarray
    j: np.ndarray
    score: np.ndarray
    count: np.ndarray


def _table(pairs: Iterable[Pair], models: Sequence[str] | None) -> _Table:
    rows: dict[tuple[str, str, float], int] = {}
    for (a, b, s), n in Counter(map(tuple, pairs)).items():  # counted in C; checked once per row
        if s not in (0.0, 0.5, 1.0):
            raise ValueError(f"score_a must be 0, 0.5 or 1, got {s!r} for {a} vs {b}")
        if a != b:
            key = (a, b, float(s))
            rows[key] = rows.get(key, 0) + n
    names = list(dict.fromkeys([*(models or ()), *(m for a, b, _ in rows for m in (a, b))]))
    index = {m: k for k, m in enumerate(names)}
    keys = list(rows)
    return _Table(
        models=names,
        i=np.array([index[a] for a, _, _ in keys], dtype=np.intp),
        j=np.array([index[b] for _, b, _ in keys], dtype=np.intp),
        score=np.array([s for _, _, s in keys], dtype=float),
        count=np.array([rows[k] for k in keys], dtype=float),
    )


def _aggregate(t: _Table, counts: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Per round: games matrix N (R, m, m), symmetric, and score totals S (R, m)."""
    rounds = counts.shape[0]
    offset = (np.arange(rounds) * m)[:, None]
    flat_ij = (offset + t.i) * m + t.j
    flat_ji = (offset + t.j) * m + t.i
    games = np.bincount(flat_ij.ravel(), counts.ravel(), rounds * m * m)
    games += np.bincount(flat_ji.ravel(), counts.ravel(), rounds * m * m)
    won = np.bincount((offset + t.i).ravel(), (counts * t.score).ravel(), rounds * m)
    won += np.bincount((offset + t.j).ravel(), (counts * (1.0 - t.score)).ravel(), rounds * m)
    return games.reshape(rounds, m, m), won.reshape(rounds, m)


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x)


def _objective(theta: np.ndarray, games: np.ndarray, won: np.ndarray, prior: float) -> np.ndarray:
    """Penalised log-likelihood per round, written with the symmetric N: for a pair with n games,
    score w for i and d = t_i - t_j it is (w - n/2) d - n log(2 cosh(d/2)), summed over pairs."""
    diff = theta[:, :, None] - theta[:, None, :]
    pair_term = 0.5 * np.einsum("rij,rij->r", games, np.logaddexp(0.0, -diff))
    prior_term = prior * (_log_sigmoid(theta) + _log_sigmoid(-theta)).sum(axis=1) / 2.0
    return (won * theta).sum(axis=1) - 0.5 * (games.sum(axis=2) * theta).sum(axis=1) - pair_term + prior_term


def _newton(
    games: np.ndarray, won: np.ndarray, prior: float, tol: float = 1e-9, max_iter: int = 100
) -> np.ndarray:
    """Maximise the penalised log-likelihood for every round at once; returns theta (R, m)."""
    rounds, m = won.shape
    theta = np.zeros((rounds, m))
    value = _objective(theta, games, won, prior)
    eye = np.eye(m)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(theta[:, None, :] - theta[:, :, None]))  # P(i beats j)
        q = 1.0 / (1.0 + np.exp(-theta))
        grad = won - (games * p).sum(axis=2) + prior * (0.5 - q)
        w = games * p * (1.0 - p)
        hess = w - eye * (w.sum(axis=2) + prior * q * (1.0 - q))[:, :, None]  # negative definite
        step = -np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        scale = np.ones(rounds)
        for _ in range(30):  # halve the step where it would lower the objective
            trial = theta + scale[:, None] * step
            new_value = _objective(trial, games, won, prior)
            worse = new_value < value - 1e-12 * np.abs(value)
            if not worse.any():
                break
            scale = np.where(worse, scale / 2.0, scale)
        theta, value = trial, new_value
        if np.max(np.abs(scale[:, None] * step)) < tol:
            break
    return theta


def _to_elo(theta: np.ndarray) -> np.ndarray:
    return SCALE * (theta - theta.mean(axis=-1, keepdims=True)) + BASE


def fit_ratings(pairs: Iterable[Pair], *, prior_games: float = 1.0) -> dict[str, float]:
    """Point estimate only: Elo-like rating per model that has votes (mean 1000)."""
    if prior_games <= 0:
        raise ValueError("prior_games must be > 0: it keeps unbeaten models and unlinked groups finite")
    t = _table(pairs, None)
    if not t.models:
        return {}
    games, won = _aggregate(t, t.count[None, :], len(t.models))
    return dict(zip(t.models, _to_elo(_newton(games, won, prior_games))[0].tolist(), strict=True))


def leaderboard(
    pairs: Iterable[Pair],
    models: Sequence[str] | None = None,
    *,
    rounds: int = 200,
    seed: int = 0,
    prior_games: float = 1.0,
    level: float = 0.95,
) -> list[Rating]:
    """Ratings with ``level`` percentile-bootstrap intervals, best first, then the unrated ones.

    ``pairs`` are ``(model_a, model_b, score_a)`` (see ``pairs.battles_to_pairs``); ``models`` lists
    models to show even without votes (the battle pool). ``rounds=0`` skips the bootstrap.
    """
    if prior_games <= 0:
        raise ValueError("prior_games must be > 0: it keeps unbeaten models and unlinked groups finite")
    t = _table(pairs, models)
    m = len(t.models)
    counts = np.zeros((m, 3), dtype=int)  # wins, ties, losses
    for col, (won_a, won_b) in enumerate(((1.0, 0.0), (0.5, 0.5), (0.0, 1.0))):
        np.add.at(counts[:, col], t.i[t.score == won_a], t.count[t.score == won_a].astype(int))
        np.add.at(counts[:, col], t.j[t.score == won_b], t.count[t.score == won_b].astype(int))
    rated = np.flatnonzero(counts.sum(axis=1) > 0)
    elo = np.full(m, np.nan)
    lower = np.full(m, np.nan)
    upper = np.full(m, np.nan)
    if rated.size:
        remap = np.full(m, -1)
        remap[rated] = np.arange(rated.size)
        sub = _Table([t.models[k] for k in rated], remap[t.i], remap[t.j], t.score, t.count)
        games, won = _aggregate(sub, sub.count[None, :], rated.size)
        elo[rated] = _to_elo(_newton(games, won, prior_games))[0]
        if rounds > 0:
            rng = np.random.default_rng(seed)
            total = int(sub.count.sum())
            draws = rng.multinomial(total, sub.count / total, size=rounds).astype(float)
            games, won = _aggregate(sub, draws, rated.size)
            boot = _to_elo(_newton(games, won, prior_games))
            tail = (1.0 - level) / 2.0 * 100.0
            lower[rated], upper[rated] = np.percentile(boot, [tail, 100.0 - tail], axis=0)
    rows = []
    for k in sorted(range(m), key=lambda k: (np.isnan(elo[k]), -np.nan_to_num(elo[k]), t.models[k])):
        has = not np.isnan(elo[k])
        ci = has and not np.isnan(lower[k])
        rank = 1 + int(np.sum(lower > upper[k])) if ci else None
        rows.append(
            Rating(
                model=t.models[k],
                rating=float(elo[k]) if has else None,
                lower=float(lower[k]) if ci else None,
                upper=float(upper[k]) if ci else None,
                votes=int(counts[k].sum()),
                wins=int(counts[k, 0]),
                ties=int(counts[k, 1]),
                losses=int(counts[k, 2]),
                rank=rank,
            )
        )
    return rows


def win_rate_matrix(
    pairs: Iterable[Pair], models: Sequence[str] | None = None
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Observed score rate of each row model against each column model (ties count half).

    Returns ``(models, rates, games)``; ``rates[i, j]`` is NaN where the two never met. Pass the
    leaderboard's order as ``models`` to draw the heat-map sorted by rating.
    """
    t = _table(pairs, models)
    m = len(t.models)
    games, won = np.zeros((m, m)), np.zeros((m, m))
    np.add.at(games, (t.i, t.j), t.count)
    np.add.at(games, (t.j, t.i), t.count)
    np.add.at(won, (t.i, t.j), t.count * t.score)
    np.add.at(won, (t.j, t.i), t.count * (1.0 - t.score))
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(games > 0, won / games, np.nan)
    return t.models, rates, games
