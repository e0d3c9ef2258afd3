"""Valid pieces of a `playground.session/1` document for tests, from the few fields a test cares about.

The page and the core read documents through their types (storage/document.py), which refuse a
hand-made output that lacks a required key. These fill in the rest the way a finished run writes
it (no figures, no error, one chunk holding the whole text), so a test states only what it checks.

    from playground.testing.documents import output, record, session
    lane = output("m:1", "Hello", metrics={"ttft_ms": 5.0})          # a typed Output
    doc = session([("q?", [record("m:1", "a"), record("m:2", "b")])], tags=["blind"])  # a dict
"""

from __future__ import annotations

from typing import Any

from storage.document import SCHEMA_ID, Output

CREATED = "2026-01-02T03:04:05Z"


def record(model: str = "test:echo", text: str = "", *, status: str = "ok",
           timeline: list[list[float | int]] | None = None, metrics: dict[str, Any] | None = None,
           **fields: Any) -> dict[str, Any]:
    """One output record as the export writes it; `timeline` defaults to one chunk of the whole text."""
    return {"model": model, "label": None, "params": {}, "text": text, "status": status, "error": None,
            "finish_reason": "stop" if status == "ok" else None, "metrics": dict(metrics or {}),
            "server_metrics": {}, "timeline": [[1.0, len(text)]] if timeline is None and text else timeline or [],
            **fields}


def output(model: str = "test:echo", text: str = "", **fields: Any) -> Output:
    """`record(...)` read through its type."""
    return Output.model_validate(record(model, text, **fields))


def session(turns: list[tuple[str, list[dict[str, Any]]]], *, session_id: str = "01J00000000000000000000000",
            **fields: Any) -> dict[str, Any]:
    """A session document with `turns` given as (prompt, output records); `fields` adds tags, votes, ..."""
    return {"schema": SCHEMA_ID, "id": session_id, "title": "test", "created_at": CREATED, "system": None,
            **fields, "turns": [{"prompt": p, "created_at": CREATED, "outputs": list(o)} for p, o in turns]}
