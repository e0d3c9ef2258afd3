"""Pairwise battles derived from the votes of session documents (the record itself: ``votes``).

Each vote decides one or more pairs of shown lanes (``vote_to_pairs``, ``vote_to_battles``): A or
B better, a tie, both bad, or — with more lanes — the best beating each of the others. Both-bad is
excluded from the fit unless ``bothbad="tie"``; two lanes of the same model yield no pair.
This module does not fit ratings (``fit``) or read files (``battles``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .votes import BothBad, Source, SourceFilter, Winner, parse_time

_SCORE_A: dict[str, float | None] = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": None}


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
