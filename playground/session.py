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
    """The models of a session, in lane order (from its first turn, counted runs only)."""
    if not doc["turns"]:
        return []
    seen: list[str] = []
    for out in doc["turns"][0]["outputs"]:
        if not out.get("warmup") and out.get("repeat") in (None, 0, 1) and out["model"] not in seen:
            seen.append(out["model"])
    return seen


def _lane_output(turn: dict[str, Any], lane: int, model: str) -> dict[str, Any] | None:
    counted = [o for o in turn["outputs"] if not o.get("warmup")]
    per_model = [o for o in counted if o["model"] == model]
    if not per_model:
        return None
    # the lane's own output when models repeat in a session (two lanes of one model)
    lanes_of_model = [i for i, m in enumerate(_models_of_turn(turn)) if m == model]
    index = lanes_of_model.index(lane) if lane in lanes_of_model else 0
    return per_model[min(index, len(per_model) - 1)]


def _models_of_turn(turn: dict[str, Any]) -> list[str]:
    out: list[str] = []
    first_repeat = None
    for o in turn["outputs"]:
        if o.get("warmup"):
            continue
        if first_repeat is None:
            first_repeat = o.get("repeat")
        if o.get("repeat") == first_repeat:
            out.append(o["model"])
    return out


def lane_messages(doc: dict[str, Any], lane: int, model: str, prompt: str) -> tuple[Message, ...]:
    """The conversation a lane sends for a new turn: system, earlier turns with *its own*
    answers, then the new prompt."""
    messages: list[Message] = []
    if doc.get("system"):
        messages.append(Message("system", doc["system"]))
    for turn in doc["turns"]:
        out = _lane_output(turn, lane, model)
        messages.append(Message("user", turn["prompt"]))
        if out is not None and out.get("text"):
            messages.append(Message("assistant", out["text"]))
    messages.append(Message("user", prompt))
    return tuple(messages)
