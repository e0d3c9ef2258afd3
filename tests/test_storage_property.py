"""Generated hostile documents thrown at import (issue 10): every one either imports and re-exports
identically (export → import → export stable), or is refused with a one-line ImportRejected and
nothing written — never any other exception.

The documents are mutations of a valid export: deep nesting (as JSON text, past json's own
recursion limit too), integers past 64 bits, floats as JSON text (1e400, NaN, Infinity) and as
Python values, negative numbers, wrong types, unicode (lone surrogates, NUL, BOM), votes pointing
nowhere, duplicate votes, extra and missing keys — handed over as text, as bytes and as a dict
(the Python API). One real store per backend for the whole module, emptied of what each example
imported.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from storage import ImportRejected, Store

# A valid export, as `playground sessions export` writes one: every part the format has.
_OUT = {"model": "openai:gpt-4o", "label": "fast", "params": {"temperature": 0.7, "stop": ["\n"], "extra": {"n": [1, 2]}},
        "text": "Crema, body.", "status": "ok", "error": None, "finish_reason": "stop",
        "metrics": {"ttft_ms": 41.2, "total_ms": 130.0, "queue_ms": 0.0, "load_ms": 0.0, "input_tokens": 31,
                    "output_tokens": 4, "tokens_per_s": 99.1, "cost_usd": 0.0001, "estimated": ["cost_usd"],
                    "contention": {"threads": 2, "shared_with": []}},
        "server_metrics": {"eval_duration": 123456}, "timeline": [[41.2, 6], [41.2, 1], [50.8, 5]],
        "reasoning": "think", "retries": [{"attempt": 1, "wait_ms": 250.0, "error": "429"}], "repeat": 1}
BASE: dict[str, Any] = {
    "schema": "playground.session/1", "id": "01JDQX0000000000000000PRP1", "title": "Espresso ☕", "created_at":
    "2026-11-26T09:00:00.500Z", "system": "Answer in one line.", "rerun_of": "01JDQW0000000000000000RG00",
    "tags": ["coffee", "blind"],
    "votes": [
        {"turn": 0, "lanes": [1, 0], "models": ["ollama:llama3.2:3b", "openai:gpt-4o"], "outcome": "a", "winner": 1,
         "blind": True, "judge": None, "created_at": "2026-11-26T09:01:00Z"},
        {"turn": 0, "lanes": [0, 1], "models": ["openai:gpt-4o", "ollama:llama3.2:3b"], "outcome": "tie", "winner": None,
         "blind": True, "judge": {"model": "openai:gpt-4o", "rubric": "r", "reasoning": "same"},
         "created_at": "2026-11-26T09:02:00.250Z"},
    ],
    "turns": [
        {"prompt": "What makes great espresso?", "created_at": "2026-11-26T09:00:01Z", "outputs": [
            _OUT,
            {**_OUT, "model": "ollama:llama3.2:3b", "label": None, "params": {}, "text": "Part", "status": "error",
             "error": {"type": "http", "message": "502"}, "finish_reason": None, "timeline": [[12, 4]],
             "metrics": {"ttft_ms": None, "total_ms": None}},
        ]},
        {"prompt": "And milk?", "created_at": "2026-11-26T09:05:00.123456Z", "outputs": [
            {**_OUT, "text": "", "status": "cancelled", "timeline": []},
        ]},
    ],
}


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*path, i))


PATHS = [p for p in _paths(BASE) if p]


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


DICTS = [p for p in _paths(BASE) if isinstance(_get(BASE, p), dict)]


@dataclass(frozen=True, repr=False)
class Raw:
    """A value written as JSON text by hand (what json.dumps will not write), or built in Python."""

    text: str

    def __repr__(self) -> str:  # a failing example prints it: 200,000 brackets would drown it
        return f"Raw({self.text[:24]!r}{'…' if len(self.text) > 24 else ''}, {len(self.text)} chars)"

    def value(self) -> Any:
        """The same as a Python value, for the dict entry point (built without recursion)."""
        if self.text.startswith("["):
            built: Any = []
            for _ in range(self.text.count("[") - 1):
                built = [built]
            return built
        if self.text.startswith("{"):
            built = 1
            for _ in range(self.text.count("{")):
                built = {"a": built}
            return built
        return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}.get(
            self.text, json.loads(self.text) if "e" not in self.text.lower() else float(self.text))


CHARS = st.one_of(st.characters(), st.sampled_from(["\ud800", "\udfff", "\x00", "\u202e", "\ufeff", "\n", "é"]))
TIMESTAMPS = st.sampled_from(["2026-02-30T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z",
                              "2026-11-26T09:00:00+01:00", "2026-11-26 09:00:00", "yesterday", "2026-11-26T09:00:00Z",
                              "2026-11-26T09:00:00.000Z"])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**30, 2**31, 2**31 - 1, -1, 0]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([-0.0, 5e-324, 1.7976931348623157e308, -1.5, 1e300]),
    st.text(CHARS, max_size=12), TIMESTAMPS,
    st.sampled_from(["x:a", "openai:gpt-4o", "ollama:llama3.2:3b", " ", "api_key", "Bearer abcdefghijklmnop"]),
)
RAWS = st.one_of(
    st.sampled_from(["1e400", "-1e400", "1E999", "NaN", "Infinity", "-Infinity", "1e-400", "1" * 30, "-" + "9" * 25,
                     "18446744073709551616", "9223372036854775808", "0.0e0"]).map(Raw),
    st.integers(1, 400).map(lambda d: Raw("[" * d + "]" * d)),
    st.integers(1, 120).map(lambda d: Raw('{"a":' * d + "1" + "}" * d)),
    st.just(Raw("[" * 100_000 + "]" * 100_000)),
)
VALUES = st.recursive(
    st.one_of(SCALARS, RAWS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(CHARS, max_size=6), inner, max_size=3),
    max_leaves=6,
)
PYTHON_ONLY = st.sampled_from([float("nan"), float("inf"), (1, 2), frozenset({1}), b"bytes", 2**64, 1j])
VOTES = st.fixed_dictionaries({
    "turn": st.one_of(st.integers(-1, 3), st.just(0.0), st.just(0)),
    "lanes": st.lists(st.integers(-1, 3), min_size=0, max_size=4),
    "models": st.lists(st.sampled_from(["openai:gpt-4o", "ollama:llama3.2:3b", "x:other", ""]), max_size=4),
    "outcome": st.sampled_from(["a", "b", "tie", "bothbad", "best", "worse"]),
    "winner": st.one_of(st.none(), st.integers(-1, 5)),
    "blind": st.booleans(),
    "judge": st.one_of(st.none(), st.fixed_dictionaries({"model": st.sampled_from(["j:1", "", " "])})),
    "created_at": TIMESTAMPS,
})
# Places where any text is fine: most documents mutated here import, exercising the round trip.
PROSE = [("title",), ("system",), ("turns", 0, "prompt"), ("turns", 0, "outputs", 0, "reasoning"), ("tags", 0),
         ("turns", 0, "outputs", 1, "error", "message"), ("turns", 0, "outputs", 0, "params", "extra", "note"),
         ("turns", 0, "outputs", 0, "server_metrics", "note"), ("votes", 1, "judge", "reasoning"),
         ("turns", 1, "outputs", 0, "finish_reason"), ("turns", 0, "outputs", 0, "label")]
SOUND_VOTES = st.sampled_from(BASE["votes"]).flatmap(lambda vote: st.fixed_dictionaries({
    **{k: st.just(v) for k, v in vote.items()},
    **{k: st.one_of(st.just(vote[k]), values) for k, values in (
        ("turn", st.sampled_from([0, 1, 2, 0.0, -1, True])),
        ("winner", st.sampled_from([None, 0, 1, 2, 1.0])),
        ("created_at", TIMESTAMPS), ("blind", st.sampled_from([False, 1, None])),
        ("judge", st.sampled_from([None, {"model": "j:2"}, {"model": "j:2", "extra": [1]}, {}])),
    )},
}).map(copy.deepcopy))  # a copy: a later mutation of the drawn document must not reach BASE's own lists
MUTATIONS = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(PROSE), st.text(CHARS, max_size=20)),
    st.tuples(st.just("answer"), st.sampled_from([(0, 0), (0, 1), (1, 0)]),
              st.lists(st.tuples(st.text(CHARS, max_size=5), st.floats(0, 50) | st.integers(0, 50)), max_size=5)),
    st.tuples(st.just("vote"), st.sampled_from([("votes", 0), ("votes", 1), ("votes", 2)]), SOUND_VOTES),
    st.tuples(st.just("set"), st.sampled_from(PATHS), VALUES),
    st.tuples(st.just("set"), st.sampled_from(PATHS), SCALARS),
    st.tuples(st.just("add"), st.sampled_from(DICTS), st.tuples(st.text(CHARS, max_size=8) | st.sampled_from(
        ["surprise", "token", "Timeline", "repeat", "x_extra"]), VALUES)),
    st.tuples(st.just("delete"), st.sampled_from(PATHS), st.none()),
    st.tuples(st.just("vote"), st.sampled_from([("votes", 0), ("votes", 1), ("votes", 2)]), VOTES),
)


@st.composite
def hostile_documents(draw: st.DrawFn) -> tuple[str, Any]:
    """(how it is handed over: text, bytes or dict; the payload)."""
    mode = draw(st.sampled_from(["text", "text", "bytes", "dict"]))
    doc = copy.deepcopy(BASE)
    for kind, path, value in draw(st.lists(MUTATIONS, min_size=1, max_size=3)):
        if mode == "dict" and kind == "set" and draw(st.integers(0, 4)) == 0:
            value = draw(PYTHON_ONLY)
        _mutate(doc, kind, path, value)
    if mode == "dict":
        return mode, _python(doc)
    raws: list[Raw] = []
    placeholders = _placeholders(doc, raws)
    body = json.dumps(placeholders, ensure_ascii=draw(st.booleans()))
    for i, raw in enumerate(raws):
        body = body.replace(f'"@@raw{i}@@"', raw.text, 1)
    return mode, body if mode == "text" else body.encode("utf-8", "surrogatepass")


def _mutate(doc: dict[str, Any], kind: str, path: tuple[Any, ...], value: Any) -> None:
    try:
        parent = _get(doc, path[:-1])
        if kind == "set":
            parent[path[-1]] = value
        elif kind == "add":
            _get(doc, path)[value[0]] = value[1]
        elif kind == "delete":
            del parent[path[-1]]
        elif kind == "answer":  # a new answer whose timeline adds up, chunk times never decreasing
            out = doc["turns"][path[0]]["outputs"][path[1]]
            out["text"] = "".join(chunk for chunk, _ in value)
            times = sorted(ms for _, ms in value)
            out["timeline"] = [[ms, len(chunk)] for ms, (chunk, _) in zip(times, value, strict=True)]
        elif kind == "vote":
            votes = doc.setdefault("votes", [])
            votes[min(path[1], len(votes)):min(path[1], len(votes)) + 1] = [value]
    except (KeyError, IndexError, TypeError):
        pass  # an earlier mutation took the place away


def _placeholders(value: Any, raws: list[Raw]) -> Any:
    if isinstance(value, Raw):
        raws.append(value)
        return f"@@raw{len(raws) - 1}@@"
    if isinstance(value, dict):
        return {k: _placeholders(v, raws) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholders(v, raws) for v in value]
    return value


def _python(value: Any) -> Any:
    if isinstance(value, Raw):
        return value.value()
    if isinstance(value, dict):
        return {k: _python(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_python(v) for v in value]
    return value


# ---- one store per backend for the module --------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def prop_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('prop') / 'playground.db'}"
    else:
        from conftest import postgres_test_url

        from playground.testing.postgres import fresh_schema_url

        url = fresh_schema_url(postgres_test_url(), f"storage_prop_{os.getpid()}")
    store = Store.open(url)
    yield store
    store.close()


def _counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in ("sessions", "turns", "outputs", "model_specs", "arena_battles")}


def _comparable(doc: dict[str, Any], postgres: bool) -> Any:
    """What an import keeps exactly: everything but the id (a clash gets a new one), session and
    turn times in their shortest spelling, and, on PostgreSQL, NUL in text columns as U+FFFD."""
    doc = copy.deepcopy({k: v for k, v in doc.items() if k != "id"})
    doc["created_at"] = datetime.fromisoformat(doc["created_at"])
    for turn in doc["turns"]:
        turn["created_at"] = datetime.fromisoformat(turn["created_at"])
    if postgres:
        doc["title"] = doc["title"].replace("\x00", "\ufffd")
        doc["system"] = doc["system"] and doc["system"].replace("\x00", "\ufffd")
        for turn in doc["turns"]:
            turn["prompt"] = turn["prompt"].replace("\x00", "\ufffd")
            for out in turn["outputs"]:
                for key in ("text", "finish_reason"):
                    out[key] = out[key] and out[key].replace("\x00", "\ufffd")
    return doc


def test_the_base_document_round_trips(prop_store: Store) -> None:
    sid = prop_store.import_document(json.dumps(BASE))
    try:
        assert prop_store.export_document(sid) == {**BASE, "id": sid}
    finally:
        prop_store.delete_session(sid)


def test_a_hostile_document_imports_exactly_or_is_refused_in_one_line(prop_store: Store) -> None:
    postgres = prop_store.engine.dialect.name == "postgresql"
    examples = int(os.environ.get("PLAYGROUND_PROPERTY_EXAMPLES", "50" if postgres else "100"))  # ~5-10 s each

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(case=hostile_documents())
    def check(case: tuple[str, Any]) -> None:
        _imports_exactly_or_is_refused(prop_store, *case, postgres=postgres)

    check()


def _imports_exactly_or_is_refused(store: Store, mode: str, payload: Any, *, postgres: bool) -> None:
    before = _counts(store)
    try:
        sid = store.import_document(payload)
    except ImportRejected as exc:
        event(f"refused ({mode})")
        message = str(exc)
        assert message and "\n" not in message and len(message) < 400, message
        assert _counts(store) == before, "a refused document wrote something"
        return
    event(f"imported ({mode})")
    made = [sid]
    try:
        first = store.export_document(sid)
        made.append(store.import_document(json.dumps(first)))
        second = store.export_document(made[-1])
        assert json.dumps({**second, "id": first["id"]}) == json.dumps(first)  # export → import → export stable
        given_doc = payload if mode == "dict" else json.loads(payload)
        assert _comparable(first, postgres) == _comparable(given_doc, postgres)  # what was given is what is kept
    finally:
        for made_id in made:
            store.delete_session(made_id)
