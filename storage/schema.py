"""Validation of `playground.session/1` documents: the one check every import and every write passes.

The rules are stated once: the types of storage/document.py, whose JSON Schema (generated from them,
published as docs/session.schema.json) every document and part passes, and, here, what a schema
cannot say:

- plain data: nested at most `MAX_DEPTH` levels, integers within signed 64 bits, every number
  finite, strings valid Unicode (no lone surrogates), only dicts/lists/str/int/float/bool/None;
- every timestamp is a real date;
- timelines: `[ms, characters]` chunks whose times never decrease (the engine rounds them to
  0.1 ms, so two may be equal) and whose lengths add up to the text;
- votes refer to what the session holds (`check_votes`);
- nothing looks like a credential.

`parse(text)` decodes (size-capped, depth-capped, no NaN/Infinity) and `validate(doc)` checks a
whole document; the store runs the same rules on each part it writes (`check_head`, `check_turn`,
`check_output`, `check_votes`), so what is saved always imports again. Every failure is an
`ImportRejected` (or the writer's error type) with a one-line reason. No database access here.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from functools import cache
from itertools import chain
from operator import itemgetter
from typing import Any, NoReturn

from storage.document import MAX_COUNT, MAX_DEPTH, SCHEMA_ID, json_schema
from storage.errors import ImportRejected

__all__ = ["MAX_COUNT", "MAX_DEPTH", "SCHEMA_ID"]  # re-exported: their home is storage.document
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


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of `playground.session/1`, generated once from the types (storage.document)."""
    return json_schema()


def part_schema(name: str) -> dict[str, Any]:
    """The schema of one part (`Vote`, `Output`, `Turn`, ...), self-contained: its `$defs` ride along."""
    return {"$ref": f"#/$defs/{name}", "$defs": schema()["$defs"]}


@cache
def _validator(part: str | None = None) -> Any:
    import jsonschema  # imported on first use: only import, writes and tests need it

    return jsonschema.Draft202012Validator(schema() if part is None else part_schema(part))


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
        raise ImportRejected(_too_deep("document")) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportRejected(f"not valid JSON ({_one_line(str(exc))}); is the file truncated?") from None
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


def _too_deep(where: str) -> str:
    return f"{_one_line(where, 80)}: nested deeper than {MAX_DEPTH} levels, the limit for a session document"


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
                raise error(_too_deep(path or "document"))
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise error(f"{path or 'document'}: key {_one_line(repr(key), 40)} is not a string")
                if not key.isascii() and _SURROGATE.search(key):
                    raise error(f"{path or 'document'}: a key holds a lone surrogate, which is not Unicode")
                push((sub, f"{path}.{key}" if path else key, level + 1))
        elif isinstance(item, list):
            if level > MAX_DEPTH:
                raise error(_too_deep(path or "document"))
            for i, sub in enumerate(item):
                push((sub, f"{path}[{i}]", level + 1))
        elif item is None or isinstance(item, bool):
            pass
        elif isinstance(item, int):
            if not INT_MIN <= item <= INT_MAX:
                raise error(f"{path or 'document'}: {_one_line(str(item), 40)} is beyond signed 64-bit integers")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise error(f"{path or 'document'}: {item} is not a finite number (JSON numbers must be, "
                            "e.g. not 1e400)")
        elif isinstance(item, _OutOfRange):
            raise error(f"{path or 'document'}: {_one_line(item.literal, 40)} is out of range "
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
        raise error(f"{where}: expected a list of [ms, characters] pairs, got {_json_type(timeline)}")
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
            raise error(f"{where}[{i}]: time {_one_line(str(times[i]), 40)} is beyond signed 64-bit integers")
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
    """`[[text, logprob, [[alt, logprob], ...]], ...]`: strings and finite numbers, in C-speed passes
    (an 8-lane turn may hold 16,000 rows of 21 pairs; a per-item walk would dominate the save)."""
    if type(tokens) is not list:
        raise error(f"{where}: expected a list of [text, logprob, alternatives] rows, got {_json_type(tokens)}")
    if not tokens:
        return
    ok = set(map(type, tokens)) == {list} and set(map(len, tokens)) == {3}
    tops = list(map(itemgetter(2), tokens)) if ok else []
    ok = ok and set(map(type, tops)) == {list}
    flat = list(chain.from_iterable(tops)) if ok else []
    ok = ok and set(map(type, flat)) <= {list} and set(map(len, flat)) <= {2}
    texts = list(map(itemgetter(0), tokens)) + list(map(itemgetter(0), flat)) if ok else []
    numbers = list(map(itemgetter(1), tokens)) + list(map(itemgetter(1), flat)) if ok else []
    ok = ok and set(map(type, texts)) == {str} and set(map(type, numbers)) <= {float, int}
    if not ok:
        i = next((i for i, row in enumerate(tokens) if not (
            type(row) is list and len(row) == 3 and type(row[0]) is str and type(row[1]) in (int, float)
            and type(row[2]) is list and all(type(p) is list and len(p) == 2 and type(p[0]) is str
                                             and type(p[1]) in (int, float) for p in row[2]))), 0)
        raise error(f"{where}[{i}]: expected [text, logprob, [[alternative, logprob], ...]], "
                    f"got {_one_line(_short_repr(tokens[i]), 80)}")
    if not math.isfinite(math.fsum(map(float, numbers))) or max(map(abs, numbers)) > 1e9:
        i = next(i for i, row in enumerate(tokens)
                 if not all(math.isfinite(v) and abs(v) <= 1e9 for v in [row[1], *(p[1] for p in row[2])]))
        raise error(f"{where}[{i}]: a logprob that is not a finite number")


def _refuse_chunk(timeline: list[Any], where: str, error: type[Exception]) -> NoReturn:
    i = next(i for i, c in enumerate(timeline)
             if not (type(c) is list and len(c) == 2 and type(c[0]) in (int, float) and type(c[1]) is int))
    odd = next((v for v in timeline[i] if isinstance(v, _OutOfRange)), None) if type(timeline[i]) is list else None
    if odd is not None:
        raise error(f"{where}[{i}]: {_one_line(odd.literal, 40)} is out of range (times are finite numbers)")
    raise error(f"{where}[{i}]: expected [ms >= 0, characters >= 0], got {_one_line(_short_repr(timeline[i]), 80)}")


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def _short_repr(value: Any) -> str:
    """repr of at most a few levels: the value may be nested thousands deep."""
    if type(value) is list:
        return "[" + ", ".join("[…]" if isinstance(v, list | dict) else repr(v) for v in value[:4]) + "]"
    return _json_type(value) if isinstance(value, dict) else repr(value)


# -- the document and its parts ---------------------------------------------------------------


def validate(doc: Any) -> None:
    """Raise `ImportRejected` with a one-line reason unless `doc` is a valid session document."""
    if not isinstance(doc, dict):
        raise ImportRejected(f"not a session document: expected an object, got {type(doc).__name__}")
    found = doc.get("schema")
    if found != SCHEMA_ID:
        if isinstance(found, str) and found.startswith("playground.session/"):
            raise ImportRejected(f"unsupported schema version {found!r}; this release reads {SCHEMA_ID!r}")
        raise ImportRejected(f"not a {SCHEMA_ID} document (schema field is {_one_line(repr(found), 60)})")
    _check_data(doc)  # first: the schema check and what follows recurse, and trust the types
    error = _first_schema_error(_without_timelines(doc))
    if error:
        raise ImportRejected(error)
    check_timestamp(doc["created_at"], "created_at")
    for t, turn in enumerate(doc["turns"]):
        check_timestamp(turn["created_at"], f"turns[{t}].created_at")
        for o, output in enumerate(turn["outputs"]):
            _output_rules(output, f"turns[{t}].outputs[{o}]", ImportRejected)
    check_votes(doc.get("votes", []), lane_models(doc), ImportRejected)
    secret = find_secret({k: v for k, v in doc.items() if k != "turns"}, "")
    if secret:
        raise ImportRejected(f"{secret} looks like a credential; remove it before importing")


def lane_models(doc: dict[str, Any]) -> list[list[str]]:
    """The model of each output, per turn: what a vote's turn, lanes and models must refer to."""
    return [[o["model"] for o in turn["outputs"]] for turn in doc["turns"]]


def _check_data(doc: dict[str, Any]) -> None:
    """`check_plain` over the whole document, each timeline by `check_timeline` (no per-chunk walk)."""
    check_plain({k: v for k, v in doc.items() if k != "turns"})
    turns = doc.get("turns")
    if type(turns) is not list:
        check_plain(turns, "turns", 2)
        return
    for t, turn in enumerate(turns):
        where = f"turns[{t}]"
        if type(turn) is not dict or type(turn.get("outputs")) is not list:
            check_plain(turn, where, 3)
            continue
        check_plain({k: v for k, v in turn.items() if k != "outputs"}, where, 3)
        for o, output in enumerate(turn["outputs"]):
            _output_data(output, f"{where}.outputs[{o}]", 5, ImportRejected)


def check_head(head: dict[str, Any], error: type[Exception]) -> None:
    """A session's own fields as a writer stores them (a document with no turns yet)."""
    try:
        validate({**head, "turns": []})
    except ImportRejected as exc:
        raise error(str(exc)) from None


def check_turn(prompt: Any, created_at: str, where: str, error: type[Exception]) -> None:
    """A new turn's own fields (its outputs are checked one by one with `check_output`)."""
    turn = {"prompt": prompt, "created_at": created_at, "outputs": []}
    check_plain(turn, where, 3, error)
    _schema_check(turn, "Turn", where, error)
    _timestamp(created_at, f"{where}.created_at", error)


def check_output(output: dict[str, Any], where: str, error: type[Exception], *, flush: bool = False) -> None:
    """Every rule of one output: what each write of a lane passes.

    ``flush``: a mid-stream save of a running lane, superseded within a second, skips the JSON
    Schema (jsonschema costs ~1 ms an output, which once a second per lane is more than the save
    itself); the Python rules (plain data, timeline, text, secrets) still hold, and the schema is
    checked when the lane's output is first written and when its final record is."""
    if not isinstance(output, dict):
        raise error(f"{where}: an output must be an object, got {_json_type(output)}")
    chars = _output_data(output, where, 5, error)
    if not flush:
        _schema_check({**output, "timeline": [], **({"tokens": []} if "tokens" in output else {})},
                      "Output", where, error)
    _output_rules(output, where, error, chars)


def _output_data(output: Any, where: str, depth: int, error: type[Exception]) -> int | None:
    """Plain data, and a sound timeline: the characters its chunks add up to (None: it has none)."""
    if type(output) is not dict:
        check_plain(output, where, depth, error)
        return None
    check_plain({k: v for k, v in output.items() if k not in ("timeline", "tokens")}, where, depth, error)
    if "tokens" in output:
        check_tokens(output["tokens"], f"{where}.tokens", error)
    return check_timeline(output["timeline"], f"{where}.timeline", error) if "timeline" in output else None


def _output_rules(output: dict[str, Any], where: str, error: type[Exception], chars: int | None = None) -> None:
    """The rules of one output that the JSON Schema cannot state (its data already checked)."""
    if chars is None:
        chars = sum(map(itemgetter(1), output.get("timeline") or []))
    text = output.get("text") or ""
    if chars != len(text):
        raise error(f"{where}: timeline chunks add up to {chars} characters but text has {len(text)}")
    secret = find_secret({k: v for k, v in output.items() if k not in ("timeline", "text", "tokens")}, where)
    if secret:
        raise error(f"{secret} looks like a credential; records never hold keys or headers")


def _schema_check(value: Any, part: str, where: str, error: type[Exception]) -> None:
    message = _first_schema_error(value, part, where)
    if message:
        raise error(message)


# -- votes ------------------------------------------------------------------------------------


def vote_problem(vote: Any, where: str = "vote") -> str | None:
    """What is wrong with one vote on its own (schema, winner against outcome, date), or None."""
    if isinstance(vote, dict):
        missing = [k for k in schema()["$defs"]["Vote"]["required"] if k not in vote]
        if missing:
            return f"{where} lacks {', '.join(missing)}"
    message = _first_schema_error(vote, "Vote", where)
    if message:
        return message
    lanes, models, outcome, winner = vote["lanes"], vote["models"], vote["outcome"], vote["winner"]
    # JSON Schema counts 1.0 as an integer; a turn or lane is an index, so it must be a true one.
    if any(type(n) is not int for n in (vote["turn"], *lanes, *([] if winner is None else [winner]))):
        return f"{where}: turn, lanes and winner must be whole numbers written without a fraction"
    if len(lanes) != len(models):
        return f"{where}: a vote needs one model id per lane, got {len(lanes)} lanes and {len(models)} models"
    if outcome in ("a", "b"):
        if len(lanes) != 2:
            return f"{where}: outcomes 'a'/'b' are for two lanes; use 'best' with a winner for more"
        expected = lanes[0] if outcome == "a" else lanes[1]
        if winner != expected:
            return f"{where}: outcome {outcome!r} means winner lane {expected}, got {winner}"
    elif outcome == "best":
        if winner not in lanes:
            return f"{where}: outcome 'best' needs a winner among the lanes {lanes}, got {winner}"
    elif winner is not None:
        return f"{where}: outcome {outcome!r} has no winner; set winner to null"
    try:
        datetime.fromisoformat(vote["created_at"])
    except ValueError:
        return f"{where}.created_at: {_one_line(repr(vote['created_at']), 60)} is not a real date and time"
    return None


def check_votes(votes: Any, lanes_of_turns: list[list[str]], error: type[Exception]) -> None:
    """Votes that refer to what the session holds: `lanes_of_turns[turn][lane]` is the model of
    that output. Each vote's turn exists, each of its lanes is an output of that turn whose model
    is the vote's model at that position, and a turn has one human vote and one per judge model."""
    check_plain(votes, "votes", 2, error)
    if type(votes) is not list:
        raise error(f"votes: expected a list, got {_json_type(votes)}")
    seen: set[tuple[int, str | None]] = set()
    for i, vote in enumerate(votes):
        where = f"votes[{i}]"
        problem = vote_problem(vote, where)
        if problem:
            raise error(problem)
        turn = vote["turn"]
        if turn >= len(lanes_of_turns):
            raise error(f"{where}: a vote on turn {turn}, but the session has {len(lanes_of_turns)} turn(s)")
        outputs = lanes_of_turns[turn]
        for lane, model in zip(vote["lanes"], vote["models"], strict=True):
            if lane >= len(outputs):
                raise error(f"{where}: lane {lane} is not in turn {turn}, which has {len(outputs)} output(s)")
            if outputs[lane] != model:
                raise error(f"{where}: lane {lane} of turn {turn} ran {_one_line(repr(outputs[lane]), 60)}, "
                            f"not {_one_line(repr(model), 60)}")
        voter = None if vote["judge"] is None else vote["judge"]["model"]
        if (turn, voter) in seen:
            raise error(f"{where}: a second {'human vote' if voter is None else 'vote by ' + repr(voter)} "
                        f"on turn {turn}; one per voter")
        seen.add((turn, voter))


# -- small rules ------------------------------------------------------------------------------


def check_timestamp(value: str, where: str) -> None:
    _timestamp(value, where, ImportRejected)


def _timestamp(value: str, where: str, error: type[Exception]) -> None:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise error(f"{where}: {_one_line(repr(value), 60)} is not a real date and time") from None


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


def _without_timelines(doc: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy with empty timelines: jsonschema takes ~40 ms per 1,000 chunks; Python far less."""
    turns = doc.get("turns")
    if not isinstance(turns, list):
        return doc
    copy_turns = []
    for turn in turns:
        if isinstance(turn, dict) and isinstance(turn.get("outputs"), list):
            outputs = [_light(o) for o in turn["outputs"]]
            turn = {**turn, "outputs": outputs}
        copy_turns.append(turn)
    return {**doc, "turns": copy_turns}


def _light(output: Any) -> Any:
    """An output without its timeline and token rows (checked in Python by `_output_data`)."""
    if not isinstance(output, dict):
        return output
    light = {**output}
    if isinstance(light.get("timeline"), list):
        light["timeline"] = []
    if isinstance(light.get("tokens"), list):
        light["tokens"] = []
    return light


def _first_schema_error(value: Any, part: str | None = None, where: str = "") -> str | None:
    """The clearest schema error of `value` (the document, or one part of it at `where`), or None."""
    import jsonschema

    best = jsonschema.exceptions.best_match(_validator(part).iter_errors(value))
    if best is None:
        return None
    path = (where + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in best.absolute_path)).lstrip(".")
    return f"{path or 'document'}: {_one_line(best.message)}"


def _one_line(message: str, limit: int = 200) -> str:
    line = " ".join(message.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
