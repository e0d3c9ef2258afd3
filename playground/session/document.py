"""The session document (``playground.session/1``) as the core builds it: ids, times, titles.
Which models a session has and what each lane sends as its history is ``history`` (re-exported here:
``session_models``).

The document is plain data — the export format — so storage and front ends pass dicts; its types
(``Session``, ``Turn``, ``Output``: storage/document.py) read it. This module does not run or save
anything.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ulid import ULID

from playground.session.history import session_models
from storage.document import SCHEMA_ID

SCHEMA = SCHEMA_ID
__all__ = ["SCHEMA", "new_document", "new_id", "now_iso", "session_models", "title_from"]


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
