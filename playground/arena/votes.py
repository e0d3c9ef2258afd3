"""Votes: the record kept in a session document, and the pairwise battles derived from it.

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

This module does not fit ratings (``fit``), draw battles (``sampling``) or read files (``battles``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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
_SCORE_A: dict[str, float | None] = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": None}

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


def _positional_winners(vote: Mapping[str, Any]) -> list[tuple[int, int, Winner]]:
    """(position a, position b, arena winner) for each pair the vote decides, in display order."""
    lanes, outcome = vote["lanes"], vote["outcome"]
    n = len(lanes)
    if outcome in ("tie", "bothbad"):
        label: Winner = "tie" if outcome == "tie" else "tie (bothbad)"
        return [(i, j, label) for i in range(n) for j in range(i + 1, n)]
    w = lanes.index(vote["winner"])
    return [(min(w, k), max(w, k), "model_a" if w < k else "model_b") for k in range(n) if k != w]


def vote_to_pairs(vote: Mapping[str, Any], *, bothbad: BothBad = "exclude") -> list[tuple[str, str, float]]:
    """The vote as ``(model_a, model_b, score_a)`` triples: 1 a won, 0 b won, 0.5 tie.

    ``a`` is the lane shown first. ``bothbad`` pairs are dropped unless ``bothbad="tie"``.
    Pairs of a model with itself are dropped.
    """
    models = vote["models"]
    pairs = []
    for i, j, winner in _positional_winners(vote):
        score = _SCORE_A[winner]
        if score is None:
            if bothbad != "tie":
                continue
            score = 0.5
        if models[i] != models[j]:
            pairs.append((models[i], models[j], score))
    return pairs


@dataclass(frozen=True)
class Battle:
    """One pairwise comparison, as in Chatbot Arena's battle files, with references back to its vote.

    ``judge`` is ``"human"`` (or an arena user id on import) for people, else the judge model id;
    ``source`` says which. ``turn`` is the 0-based turn index; ``lane_a``/``lane_b`` are the lanes.
    """

    model_a: str
    model_b: str
    winner: Winner
    tstamp: float
    judge: str = "human"
    source: Source = "human"
    anony: bool = True
    session_id: str | None = None
    turn: int | None = None
    lane_a: int | None = None
    lane_b: int | None = None
    question_id: str | None = None
    tags: tuple[str, ...] = ()

    def score_a(self, bothbad: BothBad = "exclude") -> float | None:
        """1, 0 or 0.5 for model_a; None for a both-bad battle that the fit should skip."""
        score = _SCORE_A[self.winner]
        if score is None and bothbad == "tie":
            return 0.5
        return score


def vote_to_battles(
    vote: Mapping[str, Any], *, session_id: str | None = None, tags: Iterable[str] = ()
) -> list[Battle]:
    """The vote as battles (both-bad kept as ``tie (bothbad)``; same-model pairs dropped)."""
    judge = vote.get("judge")
    lanes, models = vote["lanes"], vote["models"]
    tstamp = parse_time(vote["created_at"])
    battles = []
    for i, j, winner in _positional_winners(vote):
        if models[i] == models[j]:
            continue
        battles.append(
            Battle(
                model_a=models[i],
                model_b=models[j],
                winner=winner,
                tstamp=tstamp,
                judge="human" if judge is None else judge["model"],
                source="human" if judge is None else "judge",
                anony=bool(vote["blind"]),
                session_id=session_id,
                turn=vote["turn"],
                lane_a=lanes[i],
                lane_b=lanes[j],
                question_id=f"{session_id}/{vote['turn']}/{lanes[i]}v{lanes[j]}",
                tags=tuple(tags),
            )
        )
    return battles


def filter_battles(
    battles: Iterable[Battle],
    *,
    since: str | datetime | float | None = None,
    until: str | datetime | float | None = None,
    tags: Iterable[str] | None = None,
    blind_only: bool = True,
    source: SourceFilter = "human",
) -> list[Battle]:
    """Battles cast in [since, until), from sessions with any of ``tags``, blind only, by source."""
    lo = None if since is None else parse_time(since)
    hi = None if until is None else parse_time(until)
    wanted = None if tags is None else set(tags)
    return [
        b
        for b in battles
        if (lo is None or b.tstamp >= lo)
        and (hi is None or b.tstamp < hi)
        and (wanted is None or wanted.intersection(b.tags))
        and (b.anony or not blind_only)
        and (source == "both" or b.source == source)
    ]


def votes_from_sessions(
    docs: Iterable[Mapping[str, Any]],
    *,
    since: str | datetime | float | None = None,
    until: str | datetime | float | None = None,
    tags: Iterable[str] | None = None,
    blind_only: bool = True,
    source: SourceFilter = "human",
) -> list[Battle]:
    """All battles of the session documents' ``votes``, filtered as ``filter_battles``.

    Tags are read from a session's ``tags`` list when it has one. Votes with names visible are
    kept in the documents but left out here unless ``blind_only=False``.
    """
    battles: list[Battle] = []
    for doc in docs:
        for vote in doc.get("votes") or ():
            battles.extend(vote_to_battles(vote, session_id=doc.get("id"), tags=doc.get("tags") or ()))
    return filter_battles(battles, since=since, until=until, tags=tags, blind_only=blind_only, source=source)


def battles_to_pairs(
    battles: Iterable[Battle], *, bothbad: BothBad = "exclude"
) -> list[tuple[str, str, float]]:
    """``(model_a, model_b, score_a)`` triples for ``fit``; both-bad dropped unless ``bothbad="tie"``."""
    pairs = []
    for b in battles:
        score = b.score_a(bothbad)
        if score is not None:
            pairs.append((b.model_a, b.model_b, score))
    return pairs


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
