"""Validation of `playground.session/1` documents.

`validate(doc)` checks a document against the published JSON Schema (the copy shipped in this
package, identical to docs/session.schema.json) and then the rules a schema cannot say: timestamps
are real dates, every timeline adds up to its text, and nothing in the document looks like a
credential. Every failure is an `ImportRejected` with a one-line reason.

This module does not touch the database; `parse(text)` only decodes and size-checks.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from importlib import resources
from operator import itemgetter
from typing import Any

from storage.errors import ImportRejected

SCHEMA_ID = "playground.session/1"
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024

# Keys that name a credential, anywhere in a record; checked on import and on every write.
_SECRET_KEY = re.compile(
    r"^(x[_-]?)?(api[_-]?key|authorization|proxy[_-]authorization|headers?|cookies?|set[_-]cookie"
    r"|password|passwd|secret|client[_-]secret|access[_-]token|refresh[_-]token|bearer|token)$",
    re.IGNORECASE,
)
_SECRET_VALUE = re.compile(r"^(Bearer|Basic)\s+\S{8,}$|^sk-[A-Za-z0-9_\-]{16,}$")
# Free text written by people or models; may mention keys, so values there are not inspected.
_PROSE_KEYS = frozenset({"text", "prompt", "system", "title", "reasoning", "message"})


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of `playground.session/1` (storage/session.schema.json)."""
    return json.loads(resources.files("storage").joinpath("session.schema.json").read_text("utf-8"))


@cache
def _validator() -> Any:
    import jsonschema  # imported on first use: only import and tests need it

    return jsonschema.Draft202012Validator(schema())


def parse(doc_or_text: str | bytes | dict[str, Any]) -> dict[str, Any]:
    """Decode a document given as JSON text or bytes (size-capped); a dict is returned as is."""
    if isinstance(doc_or_text, dict):
        return doc_or_text
    if not isinstance(doc_or_text, str | bytes):
        raise ImportRejected(f"expected a JSON document, got {type(doc_or_text).__name__}")
    size = len(doc_or_text.encode("utf-8") if isinstance(doc_or_text, str) else doc_or_text)
    if size > MAX_DOCUMENT_BYTES:
        raise ImportRejected(
            f"document is {size / 1e6:.1f} MB, over the {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB import limit"
        )
    try:
        doc = json.loads(doc_or_text, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportRejected(f"not valid JSON ({_one_line(str(exc))}); is the file truncated?") from None
    if not isinstance(doc, dict):
        raise ImportRejected(f"not a session document: top level is a JSON {type(doc).__name__}, not an object")
    return doc


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def validate(doc: Any) -> None:
    """Raise `ImportRejected` with a one-line reason unless `doc` is a valid session document."""
    if not isinstance(doc, dict):
        raise ImportRejected(f"not a session document: expected an object, got {type(doc).__name__}")
    found = doc.get("schema")
    if found != SCHEMA_ID:
        if isinstance(found, str) and found.startswith("playground.session/"):
            raise ImportRejected(f"unsupported schema version {found!r}; this release reads {SCHEMA_ID!r}")
        raise ImportRejected(f"not a {SCHEMA_ID} document (schema field is {found!r})")
    error = _first_schema_error(_without_timelines(doc))
    if error:
        raise ImportRejected(error)
    for name in ("created_at",):
        check_timestamp(doc[name], name)
    for t, turn in enumerate(doc["turns"]):
        check_timestamp(turn["created_at"], f"turns[{t}].created_at")
        for o, output in enumerate(turn["outputs"]):
            _check_timeline(output["timeline"], f"turns[{t}].outputs[{o}].timeline")
            check_output(output, f"turns[{t}].outputs[{o}]", ImportRejected)
    secret = find_secret({k: v for k, v in doc.items() if k != "turns"}, "")
    if secret:
        raise ImportRejected(f"{secret} looks like a credential; remove it before importing")


def _without_timelines(doc: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy with empty timelines: jsonschema takes ~40 ms per 1,000 chunks; Python far less."""
    turns = doc.get("turns")
    if not isinstance(turns, list):
        return doc
    copy_turns = []
    for turn in turns:
        if isinstance(turn, dict) and isinstance(turn.get("outputs"), list):
            outputs = [{**o, "timeline": []} if isinstance(o, dict) and isinstance(o.get("timeline"), list) else o
                       for o in turn["outputs"]]
            turn = {**turn, "outputs": outputs}
        copy_turns.append(turn)
    return {**doc, "turns": copy_turns}


def _check_timeline(timeline: list[Any], where: str) -> None:
    """What the schema says of a timeline, checked in Python: `[[ms >= 0, chars >= 0], ...]`."""
    for i, chunk in enumerate(timeline):
        if not (isinstance(chunk, list) and len(chunk) == 2
                and type(chunk[0]) in (int, float) and chunk[0] >= 0
                and type(chunk[1]) is int and chunk[1] >= 0):
            raise ImportRejected(f"{where}[{i}]: expected [ms >= 0, characters >= 0], got {_one_line(repr(chunk), 80)}")


def check_output(output: dict[str, Any], where: str, error: type[Exception]) -> None:
    """The rules of one output that the JSON Schema cannot state (cheap: used on every write)."""
    timeline = output.get("timeline") or []
    try:
        chars = sum(map(itemgetter(1), timeline))
    except (TypeError, IndexError):
        raise error(f"{where}.timeline must be a list of [ms, characters] pairs") from None
    if chars != len(output.get("text") or ""):
        raise error(
            f"{where}: timeline chunks add up to {chars} characters but text has {len(output.get('text') or '')}"
        )
    secret = find_secret({k: v for k, v in output.items() if k not in ("timeline", "text")}, where)
    if secret:
        raise error(f"{secret} looks like a credential; records never hold keys or headers")


def check_timestamp(value: str, where: str) -> None:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ImportRejected(f"{where}: {value!r} is not a real date and time") from None


def find_secret(value: Any, path: str) -> str | None:
    """The path of the first key or value in `value` that looks like a credential, else None."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _SECRET_KEY.match(key):
                return where
            if key in _PROSE_KEYS and isinstance(item, str):
                continue
            found = find_secret(item, where)
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = find_secret(item, f"{path}[{i}]")
            if found:
                return found
    elif isinstance(value, str) and _SECRET_VALUE.match(value.strip()):
        return path
    return None


def _first_schema_error(doc: dict[str, Any]) -> str | None:
    import jsonschema

    best = jsonschema.exceptions.best_match(_validator().iter_errors(doc))
    if best is None:
        return None
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in best.absolute_path).lstrip(".")
    return f"{where or 'document'}: {_one_line(best.message)}"


def _one_line(message: str, limit: int = 200) -> str:
    line = " ".join(message.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
