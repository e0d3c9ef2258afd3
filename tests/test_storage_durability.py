"""Durability across processes: a killed writer, two writers at once, and schema migrations."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from storage import StorageError, Store
from storage.db import make_engine
from storage.migrations import LATEST, migrate
from storage.tables import SQLModel

ROOT = Path(__file__).resolve().parent.parent

_OUTPUT = """
def output(text, status):
    return {"model": "gguf:smollm2", "label": None, "params": {}, "text": text, "status": status,
            "error": None, "finish_reason": None, "metrics": {}, "server_metrics": {},
            "timeline": [[10.0 * i, 1] for i in range(len(text))]}
"""


def _python(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(_OUTPUT) + textwrap.dedent(script), *args],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_killed_run_keeps_its_text_and_is_marked_interrupted(store_url: str) -> None:
    writer = _python("""
        import sys, time
        from storage import Store
        store = Store.open(sys.argv[1])
        sid = store.create_session(title="killed", system=None)
        store.start_turn(sid, prompt="p", outputs=[output("", "running"), output("", "running")])
        store.update_output(sid, 0, 0, output("what the user saw", "running"))
        print(sid, flush=True)
        time.sleep(60)
    """, store_url)
    sid = writer.stdout.readline().strip()
    assert sid, writer.stderr.read()
    writer.send_signal(signal.SIGKILL)
    writer.wait()

    store = Store.open(store_url)
    try:
        assert store.recovered == 2
        outputs = store.get_session(sid)["turns"][0]["outputs"]
        assert [(o["status"], o["text"]) for o in outputs] == [
            ("interrupted", "what the user saw"), ("interrupted", "")]
        assert len(outputs[0]["timeline"]) == len("what the user saw")
    finally:
        store.close()
    assert Store.open(store_url).recovered == 0


def test_a_live_writers_running_outputs_are_left_alone(store_url: str) -> None:
    live = Store.open(store_url)
    sid = live.create_session(title="live", system=None)
    live.start_turn(sid, prompt="p", outputs=[{"model": "gguf:smollm2", "status": "running"}])
    other = Store.open(store_url)  # e.g. the CLI starting while the UI streams
    assert other.recovered == 0
    assert other.get_session(sid)["turns"][0]["outputs"][0]["status"] == "running"
    other.close()
    live.close()  # a store closed mid-run cannot finish: its lanes become interrupted
    reopened = Store.open(store_url)
    assert reopened.get_session(sid)["turns"][0]["outputs"][0]["status"] == "interrupted"
    reopened.close()


def test_two_processes_write_at_once_and_nothing_is_lost(store_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    script = """
        import os, sys, time
        from storage import Store
        url, go, name = sys.argv[1:4]
        while not os.path.exists(go):
            time.sleep(0.005)
        store = Store.open(url)  # both open a new database at once: migrated once
        for i in range(30):
            sid = store.create_session(title=f"{name}-{i}", system=None)
            store.start_turn(sid, prompt=f"prompt {name} {i}", outputs=[output("", "running")] * 3)
            for flush in range(1, 4):
                for lane in range(3):
                    status = "ok" if flush == 3 else "running"
                    store.update_output(sid, 0, lane, output(f"{name} {i} " * flush, status))
            store.list_sessions(limit=10)
        store.close()
        print("done")
    """
    writers = [_python(script, store_url, str(go), name) for name in ("ui", "cli")]
    go.touch()
    results = [w.communicate(timeout=120) for w in writers]
    for writer, (out, err) in zip(writers, results, strict=True):
        assert writer.returncode == 0 and out.strip() == "done", err[-2000:]
        assert "locked" not in err
    store = Store.open(store_url)
    try:
        sessions = store.list_sessions(limit=100)
        assert sorted(s["title"] for s in sessions) == sorted(f"{n}-{i}" for n in ("ui", "cli") for i in range(30))
        assert all(s["statuses"] == {"ok": 3} for s in sessions)
        doc = store.get_session(next(s["id"] for s in sessions if s["title"] == "cli-7"))
        assert doc["turns"][0]["outputs"][2]["text"] == "cli 7 " * 3
    finally:
        store.close()


def test_migrations_are_recorded_and_the_tables_match_the_models(store: Store) -> None:
    with store.engine.connect() as conn:
        versions = conn.execute(text("SELECT version, name FROM schema_migrations ORDER BY version")).all()
    assert [tuple(v) for v in versions] == [(1, "tables"), (2, "full-text search"), (3, "imported arena battles"),
                                            (4, "search indexed after the save"),
                                            (5, "token probabilities"), (6, "substring search")] and LATEST == 6
    assert migrate(store.engine) == []  # re-opening is a no-op
    inspector = inspect(store.engine)
    for table in SQLModel.metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)} - {"search"}
        assert columns == set(table.columns.keys()), table.name


def test_an_old_database_is_brought_forward(store_url: str, output) -> None:
    engine = make_engine(store_url)
    assert migrate(engine, upto=1) == [1]
    old = Store(engine)  # what an older release wrote: tables, no search index yet
    sid = old.create_session(title="old", system=None)
    old.start_turn(sid, prompt="ristretto question", outputs=[output("a short pull")])
    old.close()
    store = Store.open(store_url)
    try:
        assert [s["id"] for s in store.search("ristretto")] == [sid]
        assert [s["id"] for s in store.search("pull")] == [sid]
    finally:
        store.close()


def test_a_version_3_database_keeps_its_search_after_migration_4(store_url: str, output) -> None:
    engine = make_engine(store_url)
    assert migrate(engine, upto=3) == [1, 2, 3]
    old = Store(engine)  # search indexed inside the save, as releases up to 3 did
    sid = old.create_session(title="old", system=None)
    old.start_turn(sid, prompt="lungo question", outputs=[output("a long crema pull"), output("x", status="running")])
    old.indexing.pause()  # its indexing drained and stopped, its running lane left as a killed writer's
    engine.dispose()
    store = Store.open(store_url)
    try:
        assert [s["id"] for s in store.search("crema")] == [sid] and [s["id"] for s in store.search("lungo")] == [sid]
        if store.engine.dialect.name == "postgresql":  # the saved answer was re-indexed, the running one waits
            with store.engine.connect() as conn:
                indexed = conn.execute(text("SELECT status, search IS NOT NULL FROM outputs ORDER BY lane")).all()
            assert [tuple(r) for r in indexed] == [("ok", True), ("running", False)]
    finally:
        store.close()


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_postgres_answers_are_found_before_and_after_their_deferred_indexing(store: Store, output) -> None:
    def unindexed() -> int:
        with store.engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM outputs WHERE search IS NULL")).scalar_one()

    store.indexing.pause()  # what a search sees between a save and its indexing
    sid = store.create_session(title="deferred", system=None)
    store.start_turn(sid, prompt="q", outputs=[output("", status="running")])
    store.update_output(sid, 0, 0, output("streaming macchiato so far", status="running"))
    assert [s["id"] for s in store.search("macchiato")] == [sid]  # a running lane is found from its text
    store.update_output(sid, 0, 0, output("the final cortado answer"))
    assert unindexed() == 1
    assert [s["id"] for s in store.search("cortado")] == [sid] and store.search("macchiato") == []
    assert store.search("cortado")[0]["snippet"] == "the final **cortado** answer"

    store.indexing.resume()  # the store's own thread indexes what was saved meanwhile
    assert store.wait_indexed(10) and unindexed() == 0
    assert [s["id"] for s in store.search("cortado")] == [sid]
    store.update_output(sid, 0, 0, output("a corrected ristretto answer"))  # new text: stale until re-indexed
    assert store.wait_indexed(10) and unindexed() == 0
    assert [s["id"] for s in store.search("ristretto")] == [sid] and store.search("cortado") == []


def test_a_database_from_a_newer_release_is_refused(store_url: str) -> None:
    Store.open(store_url).close()
    engine = make_engine(store_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO schema_migrations (version, name, applied_at) "
                          "VALUES (99, 'future', CURRENT_TIMESTAMP)"))
    engine.dispose()
    with pytest.raises(StorageError, match="schema version 99, newer than this release knows"):
        Store.open(store_url)


def test_default_location_is_the_home(tmp_path: Path) -> None:
    store = Store.open(home=tmp_path / "home")
    store.close()
    assert (tmp_path / "home" / "playground.db").exists()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
