"""The store's API on SQLite and PostgreSQL: sessions, turns, flushes, listing, votes, stats."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from storage import NotFound, StorageError, Store


def test_a_turn_is_written_at_start_and_completed_lane_by_lane(store: Store, output) -> None:
    sid = store.create_session(title="espresso", system="Be brief.")
    running = [output("", status="running", model=m, finish_reason=None, metrics={})
               for m in ("gguf:smollm2", "hf:smollm2")]
    assert store.start_turn(sid, prompt="What makes great espresso?", outputs=running) == 0

    doc = store.get_session(sid)
    assert [o["status"] for o in doc["turns"][0]["outputs"]] == ["running", "running"]

    store.update_output(sid, 0, 1, output("Crema", status="running", model="hf:smollm2"))  # a flush
    store.update_output(sid, 0, 0, output("Crema, body and sweetness.", model="gguf:smollm2"))
    outputs = store.get_session(sid)["turns"][0]["outputs"]
    assert [(o["model"], o["status"], o["text"]) for o in outputs] == [
        ("gguf:smollm2", "ok", "Crema, body and sweetness."), ("hf:smollm2", "running", "Crema")]
    assert outputs[0]["timeline"] == output("Crema, body and sweetness.")["timeline"]


def test_multi_turn_sessions_keep_their_order(store: Store, output) -> None:
    sid = store.create_session(title="chat", system=None)
    for i in range(3):
        assert store.start_turn(sid, prompt=f"question {i}", outputs=[output(f"answer {i}")]) == i
    doc = store.get_session(sid)
    assert [t["prompt"] for t in doc["turns"]] == ["question 0", "question 1", "question 2"]
    assert [t["outputs"][0]["text"] for t in doc["turns"]] == ["answer 0", "answer 1", "answer 2"]
    assert store.list_sessions()[0]["turns"] == 3
    store.start_turn(sid, prompt="q", outputs=[], created_at="2026-11-26T10:13:26.370Z")
    assert store.get_session(sid)["turns"][3]["created_at"] == "2026-11-26T10:13:26.370Z"


def test_document_shape_and_optional_fields(store: Store, output) -> None:
    origin = store.create_session(title="first", system=None)
    sid = store.create_session(title="again", system="sys", tags=["coffee", "demo"], rerun_of=origin,
                               created_at="2026-11-26T09:00:00Z")
    store.start_turn(sid, prompt="p", outputs=[output("hi", repeat=2, warmup=False, reasoning="think",
                                                      retries=[{"after_ms": 500}]), output("yo")])
    vote = {"turn": 0, "lanes": [0, 1], "models": ["gguf:smollm2", "gguf:smollm2"], "outcome": "tie",
            "winner": None, "blind": True, "judge": None, "created_at": "2026-11-26T09:01:00Z", "by": "me"}
    store.set_votes(sid, [vote])
    doc = store.get_session(sid)
    assert list(doc) == ["schema", "id", "title", "created_at", "system", "rerun_of", "tags", "votes", "turns"]
    assert (doc["created_at"], doc["rerun_of"], doc["tags"], doc["votes"]) == (
        "2026-11-26T09:00:00Z", origin, ["coffee", "demo"], [vote])
    out = doc["turns"][0]["outputs"][0]
    assert list(out)[:10] == ["model", "label", "params", "text", "status", "error", "finish_reason",
                              "metrics", "server_metrics", "timeline"]
    assert (out["repeat"], out["warmup"], out["reasoning"], out["retries"]) == (2, False, "think", [{"after_ms": 500}])
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", sid) and sid.startswith("01")
    plain = store.get_session(origin)
    assert "tags" not in plain and "votes" not in plain and "rerun_of" not in plain


def test_tagged_sessions_match_the_whole_tag_and_count_turns(store: Store, output) -> None:
    blind = store.create_session(title="b", system=None, tags=["blind", "battle"])
    store.start_turn(blind, prompt="p", outputs=[output("x"), output("y")])
    votes = [{"turn": 0, "lanes": [0, 1], "models": ["gguf:smollm2", "gguf:smollm2"], "outcome": "bothbad",
              "winner": None, "blind": True, "judge": None, "created_at": "2026-11-26T09:01:00Z"}]
    store.set_votes(blind, votes)
    empty = store.create_session(title="e", system=None, tags=["blind"])
    store.create_session(title="f", system=None, tags=["blindfold"])
    store.create_session(title="n", system=None)
    found = {s["id"]: s for s in store.tagged_sessions("blind")}
    assert set(found) == {blind, empty}
    assert (found[blind]["turns"], found[blind]["votes"], found[blind]["tags"]) == (1, votes, ["blind", "battle"])
    assert (found[empty]["turns"], found[empty]["votes"]) == (0, [])


def test_missing_things_are_not_found(store: Store, output) -> None:
    with pytest.raises(NotFound, match="no session 01"):
        store.get_session("01JAAAAAAAAAAAAAAAAAAAAAAA")
    with pytest.raises(KeyError):
        store.delete_session("01JAAAAAAAAAAAAAAAAAAAAAAA")
    with pytest.raises(NotFound):
        store.start_turn("01JAAAAAAAAAAAAAAAAAAAAAAA", prompt="p", outputs=[output("x")])
    sid = store.create_session(title="t", system=None)
    store.start_turn(sid, prompt="p", outputs=[output("x")])
    with pytest.raises(NotFound, match="no lane 3 in turn 0"):
        store.update_output(sid, 0, 3, output("y"))
    with pytest.raises(NotFound):
        store.set_votes("01JAAAAAAAAAAAAAAAAAAAAAAA", [])


def _counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in ("sessions", "turns", "outputs", "model_specs")}


def test_a_failed_write_leaves_no_half_turn(store: Store, output) -> None:
    sid = store.create_session(title="t", system=None)
    before = _counts(store)
    bad = output("ok", params={"stop": {"not", "json"}})  # lane 1 is refused: nothing of the turn is written
    with pytest.raises(StorageError, match=r"lane 1\.params\.stop: a set is not JSON data"):
        store.start_turn(sid, prompt="p", outputs=[output("fine"), bad])
    assert _counts(store) == before
    assert store.start_turn(sid, prompt="p", outputs=[output("fine")]) == 0


def test_bad_writes_are_refused_and_keep_the_last_flush(store: Store, output) -> None:
    sid = store.create_session(title="t", system=None)
    store.start_turn(sid, prompt="p", outputs=[output("abc", status="running")])
    with pytest.raises(StorageError, match="add up to 2 characters but text has 5"):
        store.update_output(sid, 0, 0, output("abcde", timeline=[[1.0, 2]]))
    with pytest.raises(StorageError, match="status must be one of"):
        store.update_output(sid, 0, 0, output("abc", status="done"))
    with pytest.raises(StorageError, match="output model must be a model id"):
        store.update_output(sid, 0, 0, output("abc", model="  "))
    assert store.get_session(sid)["turns"][0]["outputs"][0]["text"] == "abc"


def test_secrets_are_never_stored(store: Store, output) -> None:
    sid = store.create_session(title="t", system=None)
    for leak in ({"params": {"temperature": 0, "api_key": "abc"}},
                 {"server_metrics": {"headers": {"x": "y"}}},
                 {"params": {"extra_body": {"auth": "Bearer abcdefghijklmnop"}}},
                 {"metrics": {"Authorization": "x"}}):
        with pytest.raises(StorageError, match="looks like a credential"):
            store.start_turn(sid, prompt="p", outputs=[output("x", **leak)])
    with pytest.raises(StorageError, match="credential"):
        store.set_votes(sid, [{"token": "abc"}])
    # A normal run stores nothing shaped like a key or header anywhere.
    store.start_turn(sid, prompt="How do I set OPENAI_API_KEY?", outputs=[output("export it")])
    with store.engine.connect() as conn:
        rows = [str(v) for t in ("sessions", "turns", "outputs", "model_specs")
                for row in conn.execute(text(f"SELECT * FROM {t}")) for v in row]
    leaked = [v for v in rows if re.search(r"(?i)bearer |authorization|x-api-key|\bsk-[a-z0-9]{8}", v)]
    assert leaked == []


def test_list_newest_first_with_filters(store: Store, output) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    ids = []
    for day in range(5):
        sid = store.create_session(title=f"day {day}", system=None, created_at=base + timedelta(days=day))
        model = "openai:gpt-4o" if day % 2 else "gguf:smollm2"
        store.start_turn(sid, prompt=f"prompt {day}", outputs=[output("a", model=model), output(
            "", model="hf:smollm2", status="error", error={"type": "Boom", "message": "x"})])
        ids.append(sid)
    listed = store.list_sessions()
    assert [s["id"] for s in listed] == ids[::-1]
    assert listed[0] == {"id": ids[4], "title": "day 4", "created_at": "2026-01-05T00:00:00Z",
                         "models": ["gguf:smollm2", "hf:smollm2"], "turns": 1,
                         "statuses": {"ok": 1, "error": 1}, "prompt": "prompt 4", "rerun_of": None, "tags": []}
    assert [s["title"] for s in store.list_sessions(limit=2, offset=1)] == ["day 3", "day 2"]
    assert [s["title"] for s in store.list_sessions(model="openai:gpt-4o")] == ["day 3", "day 1"]
    assert [s["title"] for s in store.list_sessions(since="2026-01-02", until=base + timedelta(days=3))] == [
        "day 2", "day 1"]


def test_delete_removes_the_whole_session(store: Store, output) -> None:
    keep = store.create_session(title="keep", system=None)
    store.start_turn(keep, prompt="p", outputs=[output("kept")])
    sid = store.create_session(title="gone", system=None)
    store.start_turn(sid, prompt="p", outputs=[output("x"), output("y")])
    store.delete_session(sid)
    assert [s["id"] for s in store.list_sessions()] == [keep]
    assert _counts(store)["outputs"] == 1
    assert store.search("kept")[0]["id"] == keep and store.search("x y") == []


def test_model_stats_one_row_per_output(store: Store, output) -> None:
    sid = store.create_session(title="t", system=None)
    store.start_turn(sid, prompt="p", outputs=[output("a"), output("b", model="openai:gpt-4o", metrics={
        "ttft_ms": 300, "tokens_per_s": 50.5, "cost_usd": 0.0012})])
    rows = store.model_stats(model="openai:gpt-4o")
    assert len(rows) == 1
    assert {k: rows[0][k] for k in ("model", "ttft_ms", "tokens_per_s", "cost_usd", "status")} == {
        "model": "openai:gpt-4o", "ttft_ms": 300.0, "tokens_per_s": 50.5, "cost_usd": 0.0012, "status": "ok"}
    assert rows[0]["created_at"].endswith("Z")
    assert len(store.model_stats()) == 2


def test_threads_share_one_store(store: Store, output) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(5):
                sid = store.create_session(title=f"t{n}-{i}", system=None)
                store.start_turn(sid, prompt="p", outputs=[output("", status="running")] * 2)
                for lane in range(2):
                    store.update_output(sid, 0, lane, output(f"answer {n} {i}"))
                store.list_sessions(limit=5)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.list_sessions(limit=100)) == 30
    assert all(s["statuses"] == {"ok": 2} for s in store.list_sessions(limit=100))


def test_one_flush_writes_several_lanes_at_once(store: Store, output) -> None:
    sid = store.create_session(title="t", system=None)
    store.start_turn(sid, prompt="p", outputs=[output("", status="running")] * 3)
    store.update_outputs(sid, 0, {0: output("zero"), 2: output("two so far", status="running")})
    outputs = store.get_session(sid)["turns"][0]["outputs"]
    assert [(o["text"], o["status"]) for o in outputs] == [("zero", "ok"), ("", "running"), ("two so far", "running")]
    with pytest.raises(NotFound):  # all or nothing: lane 0 is not changed when lane 7 does not exist
        store.update_outputs(sid, 0, {0: output("changed"), 7: output("x")})
    assert store.get_session(sid)["turns"][0]["outputs"][0]["text"] == "zero"


def test_the_environment_names_the_database(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PLAYGROUND_DATABASE_URL", raising=False)
    Store.open().close()
    assert (tmp_path / "home" / "playground.db").exists()
    monkeypatch.setenv("PLAYGROUND_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    Store.open().close()
    assert (tmp_path / "other.db").exists()
    with pytest.raises(StorageError, match="not a database URL"):
        Store.open("nonsense")
