"""The leaderboard over what the store holds: votes of saved sessions plus imported battle files.

One home for the filters the terminal and the page both offer (dates, tags, blind-only, human /
judge / both, how both-bad counts). The maths is ``playground.arena``; this module only gathers.
A saved session whose votes are not sound (stored by hand, or by a release that checked less) is
reported and left out: it never takes the leaderboard down with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
from playground.arena.votes import validate_vote
from storage.errors import skipped

if TYPE_CHECKING:
    from storage import Store


@dataclass(frozen=True)
class Filters:
    since: str | None = None
    until: str | None = None
    tags: tuple[str, ...] | None = None
    blind_only: bool = True
    source: str = "human"  # human, judge, both
    bothbad: str = "exclude"  # exclude, tie


def sound_sessions(sessions: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The voted sessions whose every vote is sound, and a reported line for each one left out."""
    sound, notes = [], []
    for session in sessions:
        votes, tags = session.get("votes"), session.get("tags")
        try:
            if not isinstance(votes, list):
                raise ValueError(f"its votes are not a list: {str(votes)[:60]!r}")
            if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
                raise ValueError(f"its tags are not a list of strings: {str(tags)[:60]!r}")
            for i, vote in enumerate(votes):
                try:
                    validate_vote(vote)
                except ValueError as exc:
                    raise ValueError(f"votes[{i}]: {exc}") from None
        except ValueError as exc:
            notes.append(skipped(str(session.get("id")), str(exc)))
            continue
        sound.append(session)
    return sound, notes


def gathered(store: Store, filters: Filters) -> tuple[list[Battle], list[str]]:
    """The battles the filters keep, and a line for each saved session left out as unsound."""
    sessions, notes = sound_sessions(store.voted_sessions())
    battles = votes_from_sessions(sessions, blind_only=False, source="both")
    imported = store.imported_battles()
    if imported:
        battles += read_battles("\n".join(imported))
    return filter_battles(battles, since=filters.since, until=filters.until, tags=filters.tags,
                          blind_only=filters.blind_only, source=filters.source), notes


def all_battles(store: Store, filters: Filters) -> list[Battle]:
    return gathered(store, filters)[0]


def board(store: Store, filters: Filters, *, rounds: int = 200, seed: int = 0) -> dict[str, Any]:
    """Ratings with 95% intervals, votes per model, the win-rate matrix, and the sessions skipped."""
    battles, notes = gathered(store, filters)
    pairs = battles_to_pairs(battles, bothbad=filters.bothbad)
    models = sorted({b.model_a for b in battles} | {b.model_b for b in battles})
    ratings = leaderboard(pairs, models, rounds=rounds, seed=seed)
    names, rates, games = win_rate_matrix(pairs, models)
    return {"ratings": ratings, "battles": len(battles), "pairs": len(pairs),
            "matrix": {"models": names, "rates": rates, "games": games}, "skipped": notes}


def import_battle_text(store: Store, text: str) -> int:
    """Check a battle file (JSON lines, or Chatbot Arena's JSON array) and keep its rows."""
    battles = read_battles(text)
    store.add_imported_battles([json.dumps(battle_to_row(b), ensure_ascii=False) for b in battles])
    return len(battles)
