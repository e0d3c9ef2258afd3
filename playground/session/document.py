"""The session document (``playground.session/1``) as the core builds it: ids, times, titles,
and each lane's conversation history for the next turn.

The document is plain data — the export format — so storage and front ends pass dicts; its types
(``Session``, ``Turn``, ``Output``: storage/document.py) read it. This module does not run or save
anything.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ulid import ULID

from backends.base import Message
from storage.document import SCHEMA_ID, Session, lane_indexes, round_of

SCHEMA = SCHEMA_ID


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
    """The models of a session, in lane order (from its first turn). Read from the dict, not the
    types: the page asks this of documents it is still building (outputs with a model only)."""
    if not doc["turns"]:
        return []
    outputs = doc["turns"][0]["outputs"]
    return [outputs[lane[0]]["model"] for lane in lane_indexes([round_of(o.get("warmup"), o.get("repeat"))
                                                               for o in outputs])]


def lane_document(session: Session, lane: int, prompt: str, mode: str = "complete",
                  keep: int | None = None) -> tuple[Message, ...]:
    """Complete mode, "continue": the document a lane continues — every earlier turn's text, each
    followed by the continuation kept from it, then the new text, joined as they are (one user
    message, no system prompt). The continuation kept is the lane named by the next turn's outputs
    (``continues``, recorded when the user picked one), else ``keep`` for the last turn, else the
    lane's own. Score mode scores the new text alone."""
    if mode == "score":
        return (Message("user", prompt),)
    parts: list[str] = []
    turns = session.turns
    for t, turn in enumerate(turns):
        parts.append(turn.prompt)
        picked = _picked(turns[t + 1]) if t + 1 < len(turns) else keep
        out = turn.lane_output(lane if picked is None else picked)
        if out is not None and out.text:
            parts.append(out.text)
    parts.append(prompt)
    return (Message("user", "".join(parts)),)


def _picked(turn: Any) -> int | None:
    """The lane whose continuation of the turn before a turn kept (its outputs' ``continues``)."""
    for out in turn.outputs:
        value = getattr(out, "continues", None)
        if isinstance(value, int):
            return value
    return None


def lane_messages(session: Session, lane: int, prompt: str) -> tuple[Message, ...]:
    """The conversation a lane sends for a new turn: system, earlier turns with *its own*
    answers, then the new prompt."""
    messages: list[Message] = []
    if session.system:
        messages.append(Message("system", session.system))
    for turn in session.turns:
        messages.append(Message("user", turn.prompt))
        out = turn.lane_output(lane)
        if out is not None and out.text:
            messages.append(Message("assistant", out.text))
    messages.append(Message("user", prompt))
    return tuple(messages)
