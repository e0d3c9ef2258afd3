"""The session document (``playground.session/1``) as the core builds it: ids, times, titles,
and each lane's conversation history for the next turn.

The document is plain data — the export format of DESIGN.md — so storage and front ends need
no types from here. This module does not run or save anything.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ulid import ULID

from backends.base import Message
from playground.session.aggregate import lanes_of

SCHEMA = "playground.session/1"


def new_id() -> str:
    return str(ULID())


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def title_from(prompt: str, words: int = 8) -> str:
    head = " ".join(prompt.split()[:words])
    return head if len(head) <= 80 else head[:79] + "…"


def new_document(prompt: str, system: str | None, *, session_id: str | None = None) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "id": session_id or new_id(),
        "title": title_from(prompt),
        "created_at": now_iso(),
        "system": system,
        "turns": [],
    }


def session_models(doc: dict[str, Any]) -> list[str]:
    """The models of a session, in lane order (from its first turn)."""
    if not doc["turns"]:
        return []
    return [runs[0]["model"] for runs in lanes_of(doc["turns"][0]["outputs"])]


def lane_output(turn: dict[str, Any], lane: int) -> dict[str, Any] | None:
    """A lane's output in a turn: its first counted run (repeat runs and warm-ups aside)."""
    lanes = lanes_of(turn["outputs"])
    if lane >= len(lanes):
        return None
    counted = [o for o in lanes[lane] if not o.get("warmup")] or lanes[lane]
    return counted[0]


def lane_messages(doc: dict[str, Any], lane: int, prompt: str) -> tuple[Message, ...]:
    """The conversation a lane sends for a new turn: system, earlier turns with *its own*
    answers, then the new prompt."""
    messages: list[Message] = []
    if doc.get("system"):
        messages.append(Message("system", doc["system"]))
    for turn in doc["turns"]:
        messages.append(Message("user", turn["prompt"]))
        out = lane_output(turn, lane)
        if out is not None and out.get("text"):
            messages.append(Message("assistant", out["text"]))
    messages.append(Message("user", prompt))
    return tuple(messages)
