"""What every session document is before any schema applies: plain, safe JSON data.

- `parse(text)` decodes a document given as text or bytes: size-capped (`MAX_DOCUMENT_BYTES`),
  depth-capped, no NaN or Infinity, numbers out of every column's range kept as placeholders so
  that `check_plain` can refuse them with their place in the document;
- `check_plain`: only dicts/lists/str/int/float/bool/None, nested at most `MAX_DEPTH` levels,
  integers within signed 64 bits, every number finite, strings valid Unicode (no lone surrogates);
- `check_timeline`: `[ms, characters]` chunks whose times never decrease (the engine rounds them to
  0.1 ms, so two may be equal), checked at C speed as it runs on every flush of a streaming lane;
- `find_secret`: nothing looks like a credential.

storage/schema.py applies these with the JSON Schema and the document's own rules. Every failure
is the caller's error type (`ImportRejected` by default) with a one-line reason.
"""

from __future__ import annotations

import json
import math
import re
from operator import itemgetter
from typing import Any, NoReturn

from storage.document import MAX_DEPTH
from storage.errors import ImportRejected
from storage.tokens import LOGPROB_LIMIT, split_tokens

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
INT_MIN, INT_MAX = -(2**63), 2**63 - 1  # what SQLite and PostgreSQL integers (and most JSON readers) hold
_MAX_INT_DIGITS = len(str(INT_MIN))  # a longer literal cannot be in range: refused before int() parses it

# Keys that name a credential, anywhere in a record; checked on import and on every write.
_SECRET_KEY = re.compile(
    r"^(x[_-]?)?(api[_-]?key|authorization|proxy[_-]authorization|headers?|cookies?|set[_-]cookie"
    r"|password|passwd|secret|client[_-]secret|access[_-]token|refresh[_-]token|bearer|token)$",
    re.IGNORECASE,
)
_SECRET_VALUE = re.compile(r"^(Bearer|Basic)\s+\S{8,}$|^sk-[A-Za-z0-9_\-]{16,}$")
# Free text written by people or models; may mention keys, so values there are not inspected.
_PROSE_KEYS = frozenset({"text", "prompt", "system", "title", "reasoning", "message"})
_SURROGATE = re.compile("[\ud800-\udfff]")  # JSON can spell them (\ud800); no database can store one

# -- decoding ---------------------------------------------------------------------------------


class _OutOfRange:
    """A number json read whose value no column can hold (10**30, 1e400), kept as written so that
    `check_plain` refuses it with its place in the document (json's hooks do not know the place)."""

    __slots__ = ("literal",)

    def __init__(self, literal: str) -> None:
        self.literal = literal


def parse(doc_or_text: str | bytes | dict[str, Any]) -> dict[str, Any]:
    """Decode a document given as JSON text or bytes (size- and depth-capped); a dict is returned as is.

    What it returns is only for `validate` (out-of-range numbers are placeholders until then)."""
    if isinstance(doc_or_text, dict):
        return doc_or_text
    if not isinstance(doc_or_text, str | bytes):
        raise ImportRejected(f"expected a JSON document, got {type(doc_or_text).__name__}")
    size = len(doc_or_text.encode("utf-8", "surrogatepass") if isinstance(doc_or_text, str) else doc_or_text)
    if size > MAX_DOCUMENT_BYTES:
        raise ImportRejected(
            f"document is {size / 1e6:.1f} MB, over the {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB import limit"
        )
    try:
        doc = json.loads(doc_or_text, parse_constant=_no_constant, parse_int=_int, parse_float=_float)
    except RecursionError:
        # json's decoder recurses per level: a document nested thousands deep ends here, not in a
        # traceback. Shallower excess is caught by `check_plain` with the same words.
        raise ImportRejected(too_deep("document")) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportRejected(f"not valid JSON ({one_line(str(exc))}); is the file truncated?") from None
    if not isinstance(doc, dict):
        raise ImportRejected(f"not a session document: top level is a JSON {type(doc).__name__}, not an object")
    return doc


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _int(literal: str) -> int | _OutOfRange:
    # Longer than any 64-bit integer: not parsed at all (int() of 10,000 digits is slow, and refused).
    return _OutOfRange(literal) if len(literal) > _MAX_INT_DIGITS else int(literal)


def _float(literal: str) -> float | _OutOfRange:
    value = float(literal)
    return value if math.isfinite(value) else _OutOfRange(literal)


def too_deep(where: str) -> str:
    return f"{one_line(where, 80)}: nested deeper than {MAX_DEPTH} levels, the limit for a session document"


# -- plain data -------------------------------------------------------------------------------


def check_plain(value: Any, where: str = "", depth: int = 1, error: type[Exception] = ImportRejected) -> None:
    """Refuse anything but plain, finite, in-range JSON data nested at most `MAX_DEPTH` levels.

    `depth` is the level of `value` itself (the document is level 1). Iterative, so a value nested
    a million deep (possible from Python) is refused as quickly as one nested 65 deep.
    """
    stack: list[tuple[Any, str, int]] = [(value, where, depth)]
    pop, push = stack.pop, stack.append
    while stack:
        item, path, level = pop()
        if isinstance(item, str):
            if not item.isascii() and _SURROGATE.search(item):
                raise error(f"{path or 'document'}: text holds a lone surrogate (e.g. \\ud800), which is not Unicode")
        elif isinstance(item, dict):
            if level > MAX_DEPTH:
                raise error(too_deep(path or "document"))
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise error(f"{path or 'document'}: key {one_line(repr(key), 40)} is not a string")
                if not key.isascii() and _SURROGATE.search(key):
                    raise error(f"{path or 'document'}: a key holds a lone surrogate, which is not Unicode")
                push((sub, f"{path}.{key}" if path else key, level + 1))
        elif isinstance(item, list):
            if level > MAX_DEPTH:
                raise error(too_deep(path or "document"))
            for i, sub in enumerate(item):
                push((sub, f"{path}[{i}]", level + 1))
        elif item is None or isinstance(item, bool):
            pass
        elif isinstance(item, int):
            if not INT_MIN <= item <= INT_MAX:
                raise error(f"{path or 'document'}: {one_line(str(item), 40)} is beyond signed 64-bit integers")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise error(f"{path or 'document'}: {item} is not a finite number (JSON numbers must be, "
                            "e.g. not 1e400)")
        elif isinstance(item, _OutOfRange):
            raise error(f"{path or 'document'}: {one_line(item.literal, 40)} is out of range "
                        "(numbers must be finite floats or integers within signed 64 bits)")
        else:
            raise error(f"{path or 'document'}: a {type(item).__name__} is not JSON data")


def check_timeline(timeline: Any, where: str, error: type[Exception] = ImportRejected) -> int:
    """`[[ms >= 0, characters >= 0], ...]` with times that never decrease, all finite and in range;
    returns the characters the chunks add up to.

    Checked with C-speed passes (map/set/all) rather than per chunk in Python: it runs on every
    flush of a streaming lane, whose timeline has thousands of chunks.
    """
    if type(timeline) is not list:
        raise error(f"{where}: expected a list of [ms, characters] pairs, got {json_type(timeline)}")
    if not timeline:
        return 0
    times: list[Any] = []
    counts: list[Any] = []
    kinds: set[type] = set()
    if set(map(type, timeline)) == {list} and set(map(len, timeline)) == {2}:
        times, counts = list(map(itemgetter(0), timeline)), list(map(itemgetter(1), timeline))
        kinds = set(map(type, times))
    if not times or not kinds <= {float, int} or set(map(type, counts)) != {int}:
        _refuse_chunk(timeline, where, error)
    if int in kinds:  # hand-made imports: `[41, 3]`; keep them within 64 bits
        i = next((i for i, t in enumerate(times) if type(t) is int and not INT_MIN <= t <= INT_MAX), None)
        if i is not None:
            raise error(f"{where}[{i}]: time {one_line(str(times[i]), 40)} is beyond signed 64-bit integers")
    # A sum is finite unless a time is not (or the times are near 1e308: then the scan finds none).
    if not math.isfinite(sum(times)):
        i = next((i for i, t in enumerate(times) if not math.isfinite(t)), None)
        if i is not None:
            raise error(f"{where}[{i}]: time {times[i]} is not a finite number")
    if times != sorted(times):  # timsort checks sorted floats in one C pass, 10x `all(map(le, ...))`
        i = next(i for i in range(1, len(times)) if not times[i - 1] <= times[i])
        raise error(f"{where}[{i}]: time {times[i]} ms comes before the chunk ahead of it ({times[i - 1]} ms); "
                    "times never decrease")
    if times[0] < 0:
        raise error(f"{where}[0]: time {times[0]} ms is negative")
    if min(counts) < 0:
        i = counts.index(min(counts))
        raise error(f"{where}[{i}]: a chunk of {counts[i]} characters")
    return sum(counts)


def check_tokens(tokens: Any, where: str, error: type[Exception] = ImportRejected) -> None:
    """`[[text, logprob, [[alt, logprob], ...]], ...]`: strings and finite numbers, split into columns
    in C-speed passes (storage/tokens.py: an 8-lane turn may hold 16,000 rows of 21 pairs; a per-item
    walk would dominate the save); rows are walked one by one only to name the one refused."""
    if type(tokens) is not list:
        raise error(f"{where}: expected a list of [text, logprob, alternatives] rows, got {json_type(tokens)}")
    if split_tokens(tokens) is not None:
        return
    for i, row in enumerate(tokens):
        if not (type(row) is list and len(row) == 3 and type(row[0]) is str and type(row[1]) in (int, float)
                and type(row[2]) is list and all(type(p) is list and len(p) == 2 and type(p[0]) is str
                                                 and type(p[1]) in (int, float) for p in row[2])):
            raise error(f"{where}[{i}]: expected [text, logprob, [[alternative, logprob], ...]], "
                        f"got {one_line(_short_repr(row), 80)}")
        if not all(map(_logprob, [row[1], *(p[1] for p in row[2])])):
            raise error(f"{where}[{i}]: a logprob that is not a finite number")
    raise error(f"{where}: not a list of [text, logprob, [[alternative, logprob], ...]] rows")


def _logprob(value: float) -> bool:
    try:
        return math.isfinite(value) and abs(value) <= LOGPROB_LIMIT
    except OverflowError:  # an integer past any float
        return False


def _refuse_chunk(timeline: list[Any], where: str, error: type[Exception]) -> NoReturn:
    i = next(i for i, c in enumerate(timeline)
             if not (type(c) is list and len(c) == 2 and type(c[0]) in (int, float) and type(c[1]) is int))
    odd = next((v for v in timeline[i] if isinstance(v, _OutOfRange)), None) if type(timeline[i]) is list else None
    if odd is not None:
        raise error(f"{where}[{i}]: {one_line(odd.literal, 40)} is out of range (times are finite numbers)")
    raise error(f"{where}[{i}]: expected [ms >= 0, characters >= 0], got {one_line(_short_repr(timeline[i]), 80)}")


def json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def _short_repr(value: Any) -> str:
    """repr of at most a few levels: the value may be nested thousands deep."""
    if type(value) is list:
        return "[" + ", ".join("[…]" if isinstance(v, list | dict) else repr(v) for v in value[:4]) + "]"
    return json_type(value) if isinstance(value, dict) else repr(value)


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


def one_line(message: str, limit: int = 200) -> str:
    line = " ".join(message.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
