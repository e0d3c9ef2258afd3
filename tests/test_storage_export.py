"""Export and import of `playground.session/1`: exact round trips, the schema, and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from sqlalchemy import text

from storage import ImportRejected, Store
from storage.document_schema import schema_text
from storage.markdown import to_markdown
from storage.plain import MAX_DOCUMENT_BYTES
from storage.schema import MAX_DEPTH, schema, validate

ROOT = Path(__file__).resolve().parent.parent


def _full_session(store: Store, output) -> str:
    origin = store.create_session(title="origin", system=None)
    sid = store.create_session(title="Espresso — ☕ «test»", system="Answer in one line.", tags=["coffee"],
                               rerun_of=origin, created_at="2026-11-26T09:00:00.5Z")
    store.start_turn(sid, prompt="What are the features of great espresso?", outputs=[
        output("Crema, body, sweetness.", label="fast", params={"temperature": 0.7, "seed": 1}, repeat=0,
               warmup=False, reasoning="Think of crema.", retries=[{"error": "429", "after_ms": 250}]),
        output("Partial", status="error", finish_reason=None, error={"type": "HTTPError", "message": "502"},
               server_metrics={"eval_duration": 123456}, model="ollama:llama3.2:3b"),
        output("", status="cancelled", timeline=[], model="openai:gpt-4o", metrics={"ttft_ms": None}),
    ])
    store.start_turn(sid, prompt="And milk?", outputs=[output("Microfoam 🥛.")])
    store.set_votes(sid, [{"turn": 0, "lanes": [1, 0], "models": ["ollama:llama3.2:3b", "gguf:smollm2"],
                           "outcome": "a", "winner": 1, "blind": True, "judge": None,
                           "created_at": "2026-11-26T09:01:00Z"}])
    return sid


def test_export_import_export_is_identical(store: Store, output) -> None:
    sid = _full_session(store, output)
    first = json.dumps(store.export_document(sid), ensure_ascii=False)
    copy = store.import_document(first)  # the id exists here: the copy gets a new one
    assert copy != sid
    second = store.export_document(copy)
    assert json.dumps({**second, "id": sid}, ensure_ascii=False) == first
    store.delete_session(sid)
    assert store.import_document(json.loads(first)) == sid  # free again: the id is kept
    assert json.dumps(store.export_document(sid), ensure_ascii=False) == first


def test_exports_validate_against_the_published_schema(store: Store, output) -> None:
    sid = _full_session(store, output)
    store.start_turn(sid, prompt="still going", outputs=[output("so far", status="running")])
    doc = store.export_document(sid)
    jsonschema.Draft202012Validator(json.loads((ROOT / "docs/session.schema.json").read_text())).validate(doc)
    validate(doc)
    assert doc["turns"][2]["outputs"][0]["status"] == "running"


def test_published_schema_is_generated_from_the_types() -> None:
    # Stale when the types changed and `python -m storage > docs/session.schema.json` was not re-run.
    assert (ROOT / "docs/session.schema.json").read_text("utf-8") == schema_text(), \
        "docs/session.schema.json is stale: run `python -m storage > docs/session.schema.json`"
    assert json.loads(schema_text()) == schema()  # what import validates with is what is published
    assert not (ROOT / "storage/session.schema.json").exists()  # one copy
    jsonschema.Draft202012Validator.check_schema(schema())
    assert f"nested at most {MAX_DEPTH} levels" in schema()["description"]  # the Python rules, stated there too


def _table_counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in ("sessions", "turns", "outputs", "model_specs")}


def _good(store: Store, output) -> dict:
    return store.export_document(_full_session(store, output))


@pytest.mark.parametrize(("mangle", "reason"), [
    (lambda d: json.dumps(d)[:-40], "not valid JSON"),
    (lambda d: "", "not valid JSON"),
    (lambda d: "[1, 2]", "top level is a JSON list"),
    (lambda d: {**d, "schema": "playground.session/2"}, "unsupported schema version 'playground.session/2'"),
    (lambda d: {**d, "schema": "other/1"}, "not a playground.session/1 document"),
    (lambda d: {k: v for k, v in d.items() if k != "turns"}, "'turns' is a required property"),
    (lambda d: {**d, "id": "not-a-ulid"}, "id:"),
    (lambda d: {**d, "created_at": "2026-13-40T09:00:00Z"}, "not a real date"),
    (lambda d: {**d, "created_at": "2026-11-26 09:00"}, "created_at"),
    (lambda d: {**d, "surprise": 1}, "Additional properties"),
    (lambda d: _set_output(d, status="done"), "turns[0].outputs[0].status"),
    (lambda d: _set_output(d, timeline=[[1.0, 3]]), "timeline chunks add up to 3"),
    (lambda d: _set_output(d, params={"api_key": "sk-abc"}), "params.api_key looks like a credential"),
    (lambda d: _set_output(d, metrics={"Authorization": "Bearer x"}), "credential"),
    (lambda d: "x" * (MAX_DOCUMENT_BYTES + 1), "over the 20 MB import limit"),
])
def test_bad_documents_are_refused_whole_with_one_line(store: Store, output, mangle, reason) -> None:
    bad = mangle(_good(store, output))
    before = _table_counts(store)
    with pytest.raises(ImportRejected) as refused:
        store.import_document(bad)
    message = str(refused.value)
    assert reason in message and "\n" not in message and len(message) < 300
    assert _table_counts(store) == before


def _set_output(doc: dict, **fields) -> dict:
    doc = json.loads(json.dumps(doc))
    doc["turns"][0]["outputs"][0].update(fields)
    return doc


def test_markdown_has_a_side_by_side_table_and_the_answers(store: Store, output) -> None:
    md = to_markdown(store.export_document(_full_session(store, output)))
    assert md.startswith("# Espresso — ☕ «test»\n")
    assert "| | fast (`gguf:smollm2`) #0 | ollama:llama3.2:3b | openai:gpt-4o |".replace("| |", "|  |") in md
    assert "| status | ok | **error** | **cancelled** |" in md
    assert "| TTFT (ms) | 41 | 41 | – |" in md
    assert "Crema, body, sweetness." in md and "> **HTTPError:** 502" in md
    assert "## Turn 2" in md and "Microfoam 🥛." in md


def test_integer_times_and_empty_timelines_round_trip_exactly(store: Store, output) -> None:
    doc = _good(store, output)
    doc["turns"][0]["outputs"][0].update(text="abc", timeline=[[41, 1], [50.5, 2]])
    doc["turns"][0]["outputs"][1].update(text="", timeline=[])
    sid = store.import_document(json.dumps(doc))
    again = store.export_document(sid)
    assert again["turns"][0]["outputs"][0]["timeline"] == [[41, 1], [50.5, 2]]
    assert json.dumps(again["turns"][0]["outputs"][0]["timeline"]) == "[[41, 1], [50.5, 2]]"
    assert again["turns"][0]["outputs"][1]["timeline"] == []


def test_published_vote_schema_is_the_arenas():
    import json
    from pathlib import Path

    from playground.arena import VOTE_JSON_SCHEMA

    schema = json.loads((Path(__file__).parent.parent / "docs" / "session.schema.json").read_text())
    assert VOTE_JSON_SCHEMA == {"$ref": "#/$defs/Vote", "$defs": schema["$defs"]}


def test_importing_a_session_already_here_opens_it(store: Store, output) -> None:
    sid = _full_session(store, output)
    exported = json.dumps(store.export_document(sid), ensure_ascii=False)
    assert store.import_or_open(exported) == (sid, False)  # the same session: nothing written
    assert store.import_or_open(json.loads(exported)) == (sid, False)
    before = len(store.list_sessions())  # the session and the one it re-ran
    store.start_turn(sid, prompt="one more", outputs=[output("and more")])  # it went on after the export
    copy, created = store.import_or_open(exported)
    assert created and copy != sid and len(store.list_sessions()) == before + 1  # the file beside it
    store.delete_session(sid)
    store.delete_session(copy)
    assert store.import_or_open(exported) == (sid, True)  # gone: imported again under its own id
