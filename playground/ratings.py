"""The leaderboard over what the store holds: votes of saved sessions plus imported battle files.

One home for the filters the terminal and the page both offer (dates, tags, blind-only, human /
judge / both, how both-bad counts). The maths is ``playground.arena``; this module only gathers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from playground.arena import (
    Battle,
    battles_to_pairs,
    filter_battles,
    leaderboard,
    read_battles,
    votes_from_sessions,
    win_rate_matrix,
)
from playground.arena.battles import battle_to_row


@dataclass(frozen=True)
class Filters:
    since: str | None = None
    until: str | None = None
    tags: tuple[str, ...] | None = None
    blind_only: bool = True
    source: str = "human"  # human, judge, both
    bothbad: str = "exclude"  # exclude, tie


def all_battles(store: Any, filters: Filters) -> list[Battle]:
    battles = votes_from_sessions(store.voted_sessions(), blind_only=False, source="both")
    imported = store.imported_battles()
    if imported:
        battles += read_battles("\n".join(imported))
    return filter_battles(battles, since=filters.since, until=filters.until, tags=filters.tags,
                          blind_only=filters.blind_only, source=filters.source)


def board(store: Any, filters: Filters, *, rounds: int = 200, seed: int = 0) -> dict[str, Any]:
    """Ratings with 95% intervals, votes per model, and the win-rate matrix."""
    battles = all_battles(store, filters)
    pairs = battles_to_pairs(battles, bothbad=filters.bothbad)
    models = sorted({b.model_a for b in battles} | {b.model_b for b in battles})
    ratings = leaderboard(pairs, models, rounds=rounds, seed=seed)
    names, rates, games = win_rate_matrix(pairs, models)
    return {"ratings": ratings, "battles": len(battles), "pairs": len(pairs),
            "matrix": {"models": names, "rates": rates, "games": games}}


def import_battle_text(store: Any, text: str) -> int:
    """Check a battle file (JSON lines, or Chatbot Arena's JSON array) and keep its rows."""
    battles = read_battles(text)
    store.add_imported_battles([json.dumps(battle_to_row(b), ensure_ascii=False) for b in battles])
    return len(battles)
