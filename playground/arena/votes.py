"""Votes: the record kept in a session document (the pairwise battles derived from it: ``pairs``).

A session document (``playground.session/1``) may carry an optional top-level ``votes`` list.
Each entry is a plain dict (documents stay plain JSON; storage needs no types from here)::

    {
      "turn": 0,                          # index into the session's "turns"
      "lanes": [2, 0],                    # the lanes shown, in display order (A, B, ...)
      "models": ["openai:gpt-4o", "gguf:smollm2"],   # model id of each shown lane, same order
      "outcome": "a",                     # "a" | "b" | "tie" | "bothbad" | "best"
      "winner": 2,                        # lane index of the winner, or null (tie, bothbad)
      "blind": true,                      # names were hidden when the vote was cast
      "judge": null,                      # null for a human; {"model", "rubric", "reasoning"} for an LLM judge
      "created_at": "2026-11-26T09:00:00Z"
    }

Outcomes: with two lanes, ``a`` / ``b`` (A or B better), ``tie`` and ``bothbad``. With more lanes the
voter picks the best (``best``; recorded as the winner beating each of the others), or marks all
as equal (``tie``) or all bad (``bothbad``), both read as every shown pair tied / tied-bad.

A turn holds at most one human vote and one vote per judge model: casting again replaces
(``set_vote``), ``withdraw_vote`` removes it.

Both-bad: **excluded from the fit by default** (it says nothing about which model is better, and
counting it as a tie would pull the pair together); ``bothbad="tie"`` counts it as a tie instead.
It is always kept in the record and in the battle export (``winner: "tie (bothbad)"``).

Two lanes with the same model id yield no pair (a model compared with itself tells nothing).

This module does not derive battles (``pairs``), fit ratings (``fit``), draw battles (``sampling``) or
read files (``battles``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from storage.schema import part_schema, vote_problem

Outcome = Literal["a", "b", "tie", "bothbad", "best"]
Winner = Literal["model_a", "model_b", "tie", "tie (bothbad)"]
Source = Literal["human", "judge"]
SourceFilter = Literal["human", "judge", "both"]
BothBad = Literal["exclude", "tie"]

OUTCOMES: tuple[str, ...] = ("a", "b", "tie", "bothbad", "best")
WINNERS: tuple[str, ...] = ("model_a", "model_b", "tie", "tie (bothbad)")

# JSON Schema of one entry of the optional top-level "votes" list: the published session schema's
# own (generated from storage/document.py), self-contained. The vote's rules live there and in
# storage.schema (one home for every document rule); ``validate_vote`` applies both.
VOTE_JSON_SCHEMA: dict[str, Any] = part_schema("Vote")


def utc_now_iso() -> str:
    """The current time as ISO 8601 UTC with a ``Z`` suffix (seconds precision, like the sessions)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(value: str | datetime | float | int) -> float:
    """Unix seconds from an ISO string (``Z`` allowed), an aware/naive-UTC datetime, or a number."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def make_vote(
    turn: int,
    lanes: Sequence[int],
    models: Sequence[str],
    outcome: Outcome,
    winner: int | None = None,
    *,
    blind: bool = True,
    judge: Mapping[str, str] | None = None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """Build and validate a vote dict.

    For ``a`` / ``b`` the winner lane is filled in from ``lanes`` when not given; ``best`` needs
    ``winner`` (a lane index from ``lanes``). ``judge`` is ``{"model", "rubric", "reasoning"}``.
    """
    lanes = [int(lane) for lane in lanes]
    if winner is None and outcome in ("a", "b") and len(lanes) == 2:
        winner = lanes[0] if outcome == "a" else lanes[1]
    vote: dict[str, Any] = {
        "turn": int(turn),
        "lanes": lanes,
        "models": list(models),
        "outcome": outcome,
        "winner": winner,
        "blind": bool(blind),
        "judge": None if judge is None else {"rubric": "", "reasoning": "", **judge},
        "created_at": created_at or utc_now_iso(),
    }
    validate_vote(vote)
    return vote


def validate_vote(vote: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` saying what is wrong with a vote dict; return quietly if it is sound.

    The vote on its own (``storage.schema.vote_problem``); what it refers to in its session is
    checked when it is stored (``storage.schema.check_votes``)."""
    problem = vote_problem(dict(vote) if isinstance(vote, Mapping) else vote)
    if problem:
        raise ValueError(problem)


def _voter(vote: Mapping[str, Any]) -> str | None:
    judge = vote.get("judge")
    return None if judge is None else judge["model"]


def set_vote(doc: Mapping[str, Any], vote: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the session document with ``vote`` cast: it replaces the same voter's vote on that turn."""
    validate_vote(vote)
    turns = doc.get("turns") or []
    if not 0 <= vote["turn"] < len(turns):
        raise ValueError(f"vote for turn {vote['turn']}, but the session has {len(turns)} turn(s)")
    kept = [v for v in doc.get("votes") or () if (v["turn"], _voter(v)) != (vote["turn"], _voter(vote))]
    return {**doc, "votes": sorted([*kept, dict(vote)], key=lambda v: v["turn"])}


def withdraw_vote(doc: Mapping[str, Any], turn: int, *, judge: str | None = None) -> dict[str, Any]:
    """A copy of the session document without the human vote (or ``judge`` model's vote) on ``turn``.

    When no vote is left the ``votes`` key is dropped, so the document is as if never voted on.
    """
    kept = [v for v in doc.get("votes") or () if (v["turn"], _voter(v)) != (turn, judge)]
    out = {k: v for k, v in doc.items() if k != "votes"}
    if kept:
        out["votes"] = kept
    return out
