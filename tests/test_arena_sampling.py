"""Battle sampling keeps the pairs' vote counts balanced."""

from collections import Counter

import numpy as np
import pytest

from playground.arena import choose_battle, pair_counts
from playground.arena.sampling import pair_key

POOL = [f"x:m{k}" for k in range(10)]
ALL_PAIRS = [pair_key(a, b) for k, a in enumerate(POOL) for b in POOL[k + 1 :]]


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_many_voted_draws_stay_balanced_within_two_votes_per_pair(temperature):
    """45 pairs, 4,500 draws each voted on: every pair ends at 100 +/- 2 (uniform draws: about +/- 20)."""
    rng = np.random.default_rng(0)
    counts: Counter = Counter()
    seen_first: Counter = Counter()
    for _ in range(4500):
        a, b = choose_battle(POOL, counts, temperature=temperature, rng=rng)
        counts[pair_key(a, b)] += 1
        seen_first[a] += 1
    assert all(98 <= counts[p] <= 102 for p in ALL_PAIRS)
    # display order is random: each model is shown first about half of its 900 appearances
    assert all(abs(seen_first[m] - 450) < 90 for m in POOL)


def test_an_over_voted_pair_is_left_alone_until_the_others_catch_up():
    rng = np.random.default_rng(1)
    counts = Counter({("x:m0", "x:m1"): 30})
    for _ in range(200):
        drawn = pair_key(*choose_battle(POOL, counts, rng=rng))
        assert drawn != ("x:m0", "x:m1")
        counts[drawn] += 1


def test_more_lanes_draw_distinct_models_and_stay_balanced():
    rng = np.random.default_rng(2)
    counts: Counter = Counter()
    for _ in range(3000):
        drawn = choose_battle(POOL, counts, lanes=3, rng=rng)
        assert len(set(drawn)) == 3
        counts.update(pair_key(a, b) for k, a in enumerate(drawn) for b in drawn[k + 1 :])
    assert all(195 <= counts[p] <= 205 for p in ALL_PAIRS)  # 3 pairs a draw: 200 each on average


def test_counts_from_votes_ignore_order_and_bad_requests_are_refused():
    assert pair_counts([("x:b", "x:a", 1.0), ("x:a", "x:b", 0.5)]) == Counter({("x:a", "x:b"): 2})
    with pytest.raises(ValueError):
        choose_battle(["x:a", "x:a"], {})
    with pytest.raises(ValueError):
        choose_battle(POOL[:3], {}, lanes=4)
