"""Benchmark: Bradley–Terry fit + bootstrap intervals for 100,000 votes over 50 models, 200 rounds.

Target (issue 7): at most 2 s. Times ``leaderboard`` end to end, from the list of
``(model_a, model_b, score_a)`` triples (the reduction to unique rows included), median of the
repeats, then prints the figures and writes them as JSON to ``--out``.

    python bench/arena.py [--votes 100000] [--models 50] [--rounds 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

# bench/ is sys.path[0] when a script runs, and bench/storage.py would shadow the storage package
sys.path[0:1] = [str(Path(__file__).resolve().parent.parent)]

from playground.arena import fit_ratings, leaderboard


def simulate(n_votes: int, n_models: int, seed: int = 0) -> tuple[list[tuple[str, str, float]], np.ndarray]:
    """Random pairs, outcomes from Bradley–Terry with true ratings ~ N(1000, 150²).

    Ties (about 1 in 8, more between close models) are drawn with probability 0.6 min(p, 1 - p), so
    that E[score] = p exactly, the quantity the half-win treatment of ties estimates.
    """
    rng = np.random.default_rng(seed)
    true = rng.normal(1000.0, 150.0, n_models)
    a = rng.integers(0, n_models, n_votes)
    b = (a + rng.integers(1, n_models, n_votes)) % n_models
    p = 1.0 / (1.0 + 10.0 ** ((true[b] - true[a]) / 400.0))
    tie = 0.6 * np.minimum(p, 1.0 - p)
    u = rng.random(n_votes)
    score = np.where(u < tie, 0.5, np.where(u < tie + p - tie / 2, 1.0, 0.0))
    names = [f"bench:m{k:02d}" for k in range(n_models)]
    return [(names[i], names[j], float(s)) for i, j, s in zip(a, b, score, strict=True)], true


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=100_000)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("bench/results/arena.json"))
    args = parser.parse_args()

    pairs, true = simulate(args.votes, args.models)
    leaderboard(pairs[:1000], rounds=2)  # warm-up: imports, BLAS threads
    fit_times, total_times = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        fit_ratings(pairs)
        fit_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        board = leaderboard(pairs, rounds=args.rounds, seed=0)
        total_times.append(time.perf_counter() - start)

    truth = dict(
        zip((f"bench:m{k:02d}" for k in range(args.models)), true - true.mean() + 1000.0, strict=True)
    )
    figures = {
        "votes": args.votes,
        "models": args.models,
        "rounds": args.rounds,
        "repeat": args.repeat,
        "fit_s_median": statistics.median(fit_times),
        "fit_and_bootstrap_s_median": statistics.median(total_times),
        "fit_and_bootstrap_s_max": max(total_times),
        "max_abs_error_elo": max(abs(r.rating - truth[r.model]) for r in board),
        "intervals_covering_truth": int(sum(r.lower <= truth[r.model] <= r.upper for r in board)),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }
    print(
        f"arena: {args.votes:,} votes, {args.models} models, {args.rounds} bootstrap rounds: "
        f"fit+bootstrap {figures['fit_and_bootstrap_s_median']:.3f} s median of {args.repeat} "
        f"(max {figures['fit_and_bootstrap_s_max']:.3f} s), point fit alone {figures['fit_s_median']:.3f} s; "
        f"max error {figures['max_abs_error_elo']:.1f} Elo, "
        f"{figures['intervals_covering_truth']}/{args.models} intervals cover the truth "
        f"(numpy {np.__version__}, {os.cpu_count()} CPUs)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
