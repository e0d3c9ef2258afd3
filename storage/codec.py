"""Between the session document and table rows: times, JSON columns, the timeline, key order.

Times: the document writes ISO 8601 UTC with a `Z`; the tables hold naive UTC `datetime`s. A time
is written back with no fraction, milliseconds or microseconds, whichever is shortest and exact,
so an exported time survives export → import → export unchanged.

The timeline is stored in one binary column, `outputs.timeline`, as two packed arrays: a format
byte (1), the count, every chunk's time as a little-endian float64, then every chunk's length as
a uint32 (12 bytes a chunk). Why: a row per chunk would be 16,000 rows for one 8-lane turn, far
over a 20 ms save; JSON text is about as large but costs ~2 ms to encode and ~1.5 ms to decode per
2,000 chunks (float formatting), where packing takes ~0.25 ms; float64 keeps the engine's numbers
exactly (float32 would not). A timeline that is not all floats (e.g. `[41, 3]` with an integer
time, from a hand-made import) is kept as compact JSON behind format byte 0, so that it too comes
back exactly as it went in.

Outputs pass through here as the checked dicts the writer gave (storage/schema.py checks them first),
not as `storage.document.Output`s: reading one through the types costs about as much as the whole
check and twice this module's work (~1 ms per 2,000-chunk output), on every flush of every lane.
Their statuses and required keys are the types' own (`STATUSES`, `OUTPUT_KEYS`).

An output's token probabilities (`tokens`: `[[text, logprob, [[alt, logprob], ...]], ...]`, up to 21
strings and numbers a token) go to `outputs.tokens` packed the same way: a format byte, the counts,
a table of the distinct texts (a vocabulary repeats: 2,000 tokens with 20 alternatives hold a few
thousand distinct strings), then per token its text's index, its logprob (float64) and its number
of alternatives (uint8), then every alternative's index and logprob. Format 2 writes the indexes
as uint16 (a table of at most 65,536 texts: always, below ~3,000 tokens of 20 alternatives), 3 as
uint32. Format 1 (written before; still read) held uint32 indexes and logprobs as int32 units of
10⁻⁴: checking that every logprob was on that grid took four passes over them and made packing
~3x slower than float64's one; float64 is exact for any float, so it needs no check (8 bytes a
logprob instead of 4, against 2 saved per index). Rows that are not all strings and floats (an
integer logprob from a hand-made import, more than 255 alternatives) are kept as compact JSON
behind format byte 0. The rows are split into columns once per save (storage/tokens.py), for the
check and the packing both.
"""

from __future__ import annotations

import array
import contextlib
import gc
import hashlib
import json
import math
import struct
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import chain, repeat
from operator import itemgetter, truediv
from typing import Any

from sqlalchemy import ColumnElement, String, type_coerce

from storage.document import STATUSES, Output
from storage.errors import StorageError
from storage.tokens import split_tokens

# Output keys with their own columns, in the order the export writes them: an output's required
# fields. Any other key of an output (repeat, warmup, reasoning, retries, and later additions) goes
# to `outputs.extra`, so an optional field added to the types round-trips with no change here.
OUTPUT_KEYS = ("model", "label", "params", "text", "status", "error", "finish_reason",
               "metrics", "server_metrics", "timeline")
# A required field added to the types needs its column (storage/tables.py, `output_columns`) first.
assert OUTPUT_KEYS == tuple(n for n, f in Output.model_fields.items() if f.is_required()), OUTPUT_KEYS
# Optional keys with a column of their own (packed, not JSON): kept out of `outputs.extra` too.
PACKED_KEYS = ("tokens",)
# Figures copied from metrics into columns of their own, for stats without JSON parsing.
METRIC_COLUMNS = ("ttft_ms", "total_ms", "tokens_per_s", "cost_usd", "output_tokens")


def now() -> datetime:
    """The current time as a naive UTC datetime, at the precision the export writes."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_datetime(value: datetime | str | None, what: str = "time") -> datetime | None:
    """A naive UTC datetime from an aware or naive (taken as UTC) datetime or an ISO 8601 string."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise StorageError(f"{what}: {value!r} is not an ISO 8601 date or time") from None
    if not isinstance(value, datetime):
        raise StorageError(f"{what}: expected a datetime or ISO 8601 string, got {type(value).__name__}")
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def raw_time(column: Any) -> ColumnElement[Any]:
    """A time column read as the driver gives it (no SQLAlchemy parsing, which would fail the whole
    query on one garbled SQLite value): parse each with `stored_time`, row by row."""
    return type_coerce(column, String).label(column.name)


def stored_time(value: Any) -> datetime:
    """A time read through `raw_time`: PostgreSQL gives a datetime, SQLite its text; ValueError if neither."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    raise ValueError(f"{value!r} is not a stored time")


def to_iso(value: datetime) -> str:
    """`2026-11-26T09:00:00Z`, `...:00.123Z` or `...:00.123456Z`: the shortest exact form."""
    # Not strftime: its %Y gives "1", not "0001", for early years, which the schema's pattern refuses.
    base = (f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
            f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}")
    micro = value.microsecond
    if micro == 0:
        return base + "Z"
    if micro % 1000 == 0:
        return f"{base}.{micro // 1000:03d}Z"
    return f"{base}.{micro:06d}Z"


def dumps(value: Any) -> str:
    """Compact JSON, key order kept, non-ASCII kept: what the JSON columns hold."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


_PACKED, _JSON = 1, 0
_HEADER = struct.Struct("<BI")


def pack_timeline(timeline: list[list[float | int]]) -> bytes:
    """`[[ms, chars], ...]` as bytes: packed float64/uint32 arrays, or JSON when not all floats."""
    try:
        ms = list(map(itemgetter(0), timeline))
        counts = list(map(itemgetter(1), timeline))
        # set(map(...)) runs in C: a per-item generator here would cost more than the packing.
        exact = not timeline or (set(map(type, ms)) == {float} and set(map(type, counts)) == {int}
                                 and set(map(len, timeline)) == {2})
        times, chars = array.array("d", ms), array.array("I", counts)
    except (TypeError, OverflowError, IndexError, KeyError):
        exact = False
    if not exact or chars.itemsize != 4:
        return bytes([_JSON]) + dumps(timeline).encode("utf-8")
    if sys.byteorder == "big":
        times.byteswap()
        chars.byteswap()
    return _HEADER.pack(_PACKED, len(timeline)) + times.tobytes() + chars.tobytes()


def unpack_timeline(data: bytes) -> list[list[float | int]]:
    data = bytes(data)  # PostgreSQL gives a memoryview
    if data[0] == _JSON:
        return json.loads(data[1:].decode("utf-8"))
    _, count = _HEADER.unpack_from(data)
    times, chars = array.array("d"), array.array("I")
    start = _HEADER.size
    times.frombytes(data[start:start + 8 * count])
    chars.frombytes(data[start + 8 * count:start + 12 * count])
    if sys.byteorder == "big":
        times.byteswap()
        chars.byteswap()
    return [[ms, n] for ms, n in zip(times.tolist(), chars.tolist(), strict=True)]


_TOKENS_HEADER = struct.Struct("<BII")
_GRID = 10000  # format 1 stored logprobs in units of 1e-4
_WIDE, _NARROW = 3, 2  # formats of today's writer: text indexes as uint32 / as uint16


def pack_tokens(tokens: list[Any] | None) -> bytes | None:
    """An output's token rows as bytes (see the module docstring); None when it has none."""
    if tokens is None:
        return None
    columns = split_tokens(tokens)
    if columns is None or not columns.floats or max(columns.counts, default=0) > 255:
        return bytes([_JSON]) + dumps(tokens).encode("utf-8")
    distinct = dict.fromkeys(chain(columns.texts, columns.alt_texts))  # first-seen order; C-speed passes
    table = dict(zip(distinct, range(len(distinct)), strict=True))
    fmt, code = (_NARROW, "H") if len(table) <= 0x10000 else (_WIDE, "I")
    index = array.array(code, map(table.__getitem__, columns.texts))
    alt_index = array.array(code, map(table.__getitem__, columns.alt_texts))
    encoded = [t.encode("utf-8", "surrogatepass") for t in table]
    lengths = array.array("I", map(len, encoded))
    counts = array.array("B", columns.counts)
    parts = [lengths, index, columns.logprobs, counts, alt_index, columns.alt_logprobs]
    if sys.byteorder == "big":
        parts = [array.array(p.typecode, p) for p in parts]  # copies: the columns are shared
        for part in parts:
            part.byteswap()
    return b"".join([_TOKENS_HEADER.pack(fmt, len(tokens), len(table)), parts[0].tobytes(),
                     b"".join(encoded), *(p.tobytes() for p in parts[1:])])


def unpack_tokens(data: bytes | None) -> list[Any] | None:
    if data is None:
        return None
    with paused_gc():
        return _unpack_tokens(data)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic collection while many new lists are built (token rows: ~44,000 for 2,000 tokens
    with 20 alternatives): the collector would walk the growing heap again and again (3x the
    unpacking itself); none of them can form a cycle."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _unpack_tokens(data: bytes) -> list[Any]:
    data = bytes(data)  # PostgreSQL gives a memoryview
    if data[0] == _JSON:
        return json.loads(data[1:].decode("utf-8"))
    fmt, n, n_texts = _TOKENS_HEADER.unpack_from(data)
    at = _TOKENS_HEADER.size

    def take(code: str, count: int) -> list[Any]:
        nonlocal at
        part = array.array(code)
        part.frombytes(data[at:at + part.itemsize * count])
        at += part.itemsize * count
        if sys.byteorder == "big":
            part.byteswap()
        return part.tolist()

    lengths = take("I", n_texts)
    texts = []
    for size in lengths:
        texts.append(data[at:at + size].decode("utf-8", "surrogatepass"))
        at += size
    if fmt == _PACKED:  # format 1 (before issue 13's storage fix): uint32 indexes, int32 units of 1e-4
        index, lps, counts = take("I", n), list(map(truediv, take("i", n), repeat(_GRID))), take("B", n)
        m = sum(counts)
        alt_index, alt_lps = take("I", m), list(map(truediv, take("i", m), repeat(_GRID)))
    else:
        code = "H" if fmt == _NARROW else "I"
        index, lps, counts = take(code, n), take("d", n), take("B", n)
        m = sum(counts)
        alt_index, alt_lps = take(code, m), take("d", m)
    pairs = list(map(list, zip(map(texts.__getitem__, alt_index), alt_lps, strict=True)))
    rows, k = [], 0
    for text, lp, c in zip(map(texts.__getitem__, index), lps, counts, strict=True):
        rows.append([text, lp, pairs[k:k + c]])
        k += c
    return rows


def spec_key(model: str, label: str | None, params: dict[str, Any]) -> str:
    """The identity of a model spec: sha256 of model, label and params (keys sorted)."""
    try:
        canonical = json.dumps([model, label, params], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise StorageError(f"output params are not plain JSON data: {exc}") from None
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def complete_output(output: dict[str, Any]) -> dict[str, Any]:
    """An output with every required key present (defaults for the ones a writer left out)."""
    if not isinstance(output, dict):
        raise StorageError(f"an output must be a dict, got {type(output).__name__}")
    model = output.get("model")
    if not isinstance(model, str) or not model.strip():
        raise StorageError(f"output model must be a model id (provider:model or a named model), got {model!r}")
    full = {"model": model, "label": None, "params": {}, "text": "", "status": "running", "error": None,
            "finish_reason": None, "metrics": {}, "server_metrics": {}, "timeline": []}
    full.update(output)
    if full["status"] not in STATUSES:
        raise StorageError(f"output status must be one of {', '.join(STATUSES)}, got {full['status']!r}")
    for key in ("params", "metrics", "server_metrics"):
        if not isinstance(full[key], dict):
            raise StorageError(f"output {key} must be a dict, got {type(full[key]).__name__}")
    if not isinstance(full["text"], str):
        raise StorageError(f"output text must be a string, got {type(full['text']).__name__}")
    return full


def output_columns(output: dict[str, Any]) -> dict[str, Any]:
    """The column values of one (complete) output, except ids, spec and times."""
    metrics = output["metrics"]
    extra = {k: v for k, v in output.items() if k not in OUTPUT_KEYS and k not in PACKED_KEYS}
    try:
        row = {
            "text": output["text"],
            "status": output["status"],
            "error": None if output["error"] is None else dumps(output["error"]),
            "finish_reason": output["finish_reason"],
            "metrics": dumps(metrics),
            "server_metrics": dumps(output["server_metrics"]),
            "timeline": pack_timeline(output["timeline"]),
            "extra": dumps(extra) if extra else None,
        }
    except (TypeError, ValueError) as exc:
        raise StorageError(f"output is not plain JSON data: {exc}") from None
    if output.get("tokens") is not None:
        row["tokens"] = pack_tokens(output["tokens"])
    for name in METRIC_COLUMNS:
        value = metrics.get(name)
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        row[name] = (int(value) if name == "output_tokens" else float(value)) if ok else None
    return row


def output_document(row: Any) -> dict[str, Any]:
    """One output of the export, from a row joined with its model spec."""
    doc = {
        "model": row.model,
        "label": row.label,
        "params": json.loads(row.params),
        "text": row.text,
        "status": row.status,
        "error": loads(row.error),
        "finish_reason": row.finish_reason,
        "metrics": json.loads(row.metrics),
        "server_metrics": json.loads(row.server_metrics),
        "timeline": unpack_timeline(row.timeline),
    }
    if row.extra:
        doc.update(json.loads(row.extra))
    tokens = unpack_tokens(getattr(row, "tokens", None))
    if tokens is not None:
        doc["tokens"] = tokens
    return doc
