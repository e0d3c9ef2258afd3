"""Blind lanes: "Model A", "Model B", … in place of model ids until a vote is cast.

The lanes of a blind run are shuffled before it starts (the order the user typed gives nothing
away), so letter i is lane i. Votes are recorded with ``playground.arena.make_vote``. A blind
session (tagged ``blind``) keeps its names hidden until a human vote (``names_hidden``).
"""

from __future__ import annotations

import string
import sys
from typing import TYPE_CHECKING, Any

from playground.arena import make_vote, set_vote
from storage.document import Session

if TYPE_CHECKING:
    from storage import Store

BLIND_TAG = "blind"
OUTCOME_WORDS = {"a": "a", "b": "b", "tie": "tie", "t": "tie", "bothbad": "bothbad", "n": "bothbad",
                 "both-bad": "bothbad", "both_bad": "bothbad"}


def blind_names(n: int) -> list[str]:
    return [f"Model {string.ascii_uppercase[i]}" for i in range(n)]


def names_hidden(doc: dict[str, Any] | None) -> bool:
    """A blind session with turns and no human vote yet: nothing shown of it may name a model."""
    return (bool(doc) and BLIND_TAG in (doc.get("tags") or []) and bool(doc.get("turns"))
            and not any(v.get("judge") is None for v in doc.get("votes") or ()))


def vote_from_answer(answer: str, turn: int, models: list[str], *, blind: bool = True) -> dict[str, Any]:
    """A vote from what the user typed: a, b, tie, bothbad — or a letter (the best of 3+ lanes)."""
    word = answer.strip().lower()
    lanes = list(range(len(models)))
    if word in OUTCOME_WORDS and (len(models) == 2 or OUTCOME_WORDS[word] in ("tie", "bothbad")):
        return make_vote(turn, lanes, models, OUTCOME_WORDS[word], blind=blind)
    if len(word) == 1 and word in string.ascii_lowercase[: len(models)]:
        winner = string.ascii_lowercase.index(word)
        outcome = ("a" if winner == 0 else "b") if len(models) == 2 else "best"
        return make_vote(turn, lanes, models, outcome, winner, blind=blind)
    letters = "/".join(string.ascii_uppercase[: len(models)])
    raise ValueError(f"answer {letters}, tie or bothbad, not {answer!r}")


def record_vote(store: Store, doc: dict[str, Any], vote: dict[str, Any]) -> dict[str, Any]:
    updated = set_vote(doc, vote)
    store.set_votes(doc["id"], updated["votes"])
    return updated


def vote_in_terminal(store: Store, doc: dict[str, Any], names: list[str]) -> None:
    """Ask for a vote on the last turn (when a person is at the terminal), then reveal the names."""
    session = Session.of(doc)
    turn = len(session.turns) - 1
    models = [o.model for o in session.turns[turn].counted][: len(names)]
    if store is not None and sys.stdin.isatty():
        letters = "/".join(string.ascii_uppercase[: len(names)])
        while True:
            answer = input(f"Which is better? [{letters}/tie/bothbad, Enter to skip] ").strip()
            if not answer:
                break
            try:
                record_vote(store, doc, vote_from_answer(answer, turn, models))
                break
            except ValueError as exc:
                print(exc, file=sys.stderr)
    else:
        if store is not None:  # names stay hidden until `arena vote` reveals them
            print(f"vote: playground arena vote {doc['id']} A|B|tie|bothbad", file=sys.stderr)
        return
    for name, model in zip(names, models, strict=False):
        print(f"{name} was {model}", file=sys.stderr)
