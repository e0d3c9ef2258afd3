"""Validation of `playground.session/1` documents: the one check every import and every write passes.

The rules are stated once: the types of storage/document.py, whose JSON Schema (generated from them
by storage/document_schema.py, published as docs/session.schema.json) every document and part
passes; what every document is as data (storage/plain.py: plain JSON, sound timelines, no
credentials); and, here, what neither can say:

- every timestamp is a real date;
- an output's timeline adds up to its text;
- votes refer to what the session holds (`check_votes`).

`validate(doc)` checks a whole document (decoded by `storage.plain.parse`); the store runs the same
rules on each part it writes (`check_head`, `check_turn`, `check_output`, `check_votes`), so what is
saved always imports again. Every failure is an `ImportRejected` (or the writer's error type) with a
one-line reason. No database access here.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from operator import itemgetter
from typing import Any

from storage.document import MAX_COUNT, MAX_DEPTH, SCHEMA_ID
from storage.document_schema import json_schema
from storage.errors import ImportRejected
from storage.plain import check_plain, check_timeline, check_tokens, find_secret, json_type, one_line

__all__ = ["MAX_COUNT", "MAX_DEPTH", "SCHEMA_ID"]  # re-exported: their home is storage.document


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

# -- the document and its parts ---------------------------------------------------------------


def validate(doc: Any) -> None:
    """Raise `ImportRejected` with a one-line reason unless `doc` is a valid session document."""
    if not isinstance(doc, dict):
        raise ImportRejected(f"not a session document: expected an object, got {type(doc).__name__}")
    found = doc.get("schema")
    if found != SCHEMA_ID:
        if isinstance(found, str) and found.startswith("playground.session/"):
            raise ImportRejected(f"unsupported schema version {found!r}; this release reads {SCHEMA_ID!r}")
        raise ImportRejected(f"not a {SCHEMA_ID} document (schema field is {one_line(repr(found), 60)})")
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
        raise error(f"{where}: an output must be an object, got {json_type(output)}")
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
        return f"{where}.created_at: {one_line(repr(vote['created_at']), 60)} is not a real date and time"
    return None


def check_votes(votes: Any, lanes_of_turns: list[list[str]], error: type[Exception]) -> None:
    """Votes that refer to what the session holds: `lanes_of_turns[turn][lane]` is the model of
    that output. Each vote's turn exists, each of its lanes is an output of that turn whose model
    is the vote's model at that position, and a turn has one human vote and one per judge model."""
    check_plain(votes, "votes", 2, error)
    if type(votes) is not list:
        raise error(f"votes: expected a list, got {json_type(votes)}")
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
                raise error(f"{where}: lane {lane} of turn {turn} ran {one_line(repr(outputs[lane]), 60)}, "
                            f"not {one_line(repr(model), 60)}")
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
        raise error(f"{where}: {one_line(repr(value), 60)} is not a real date and time") from None

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
    return f"{path or 'document'}: {one_line(best.message)}"
