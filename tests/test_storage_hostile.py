"""Hostile documents and broken rows: the audit's findings (issue 10), each as it was found.

Imports go through the real entry points — ``playground sessions import`` (in process, for its exit
code and stderr; the leaderboard and list warnings in a real subprocess), the page's import
handler and ``Store.import_document`` — against a real SQLite (and PostgreSQL where configured).
Broken rows are written with plain SQL, as an older release or a hand edit would leave them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from playground.arena import make_vote
from playground.cli.main import main
from playground.settings import Settings
from playground.web import arena_tab, blind_runs, history, stats
from playground.web.context import Context
from storage import ImportRejected, StorageError, Store
from storage.schema import MAX_DEPTH

TABLES = ("sessions", "turns", "outputs", "model_specs", "arena_battles")


def _rows(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    store.wait_indexed(30)  # PostgreSQL fills the search column just after a save
    with store.engine.connect() as conn:
        return {t: sorted((tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)  # PostgreSQL's bytea
                           for row in conn.execute(text(f"SELECT * FROM {t}"))), key=repr) for t in TABLES}


def _out(model: str, answer: str = "abcd") -> dict[str, Any]:
    return {"model": model, "label": None, "params": {"temperature": 0.5}, "text": answer, "status": "ok",
            "error": None, "finish_reason": "stop",
            "metrics": {"ttft_ms": 12.5, "total_ms": 40.0, "output_tokens": 2, "tokens_per_s": 50.0,
                        "cost_usd": 0.0},
            "server_metrics": {}, "timeline": [[12.5, 2], [12.5, 1], [30.1, len(answer) - 3]]}


def _voted_session(store: Store) -> str:
    sid = store.create_session(title="voted", system=None, tags=["blind"])
    store.start_turn(sid, prompt="which?", outputs=[_out("x:a"), _out("x:b")])
    store.set_votes(sid, [make_vote(0, [0, 1], ["x:a", "x:b"], "a", created_at="2026-03-01T10:00:00Z")])
    return sid


def _export_text(store: Store) -> str:
    return json.dumps(store.export_document(_voted_session(store)))


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# Each finding as JSON text: (what the audit sent, what the one line must say).
FINDINGS: dict[str, tuple[Any, str]] = {
    "nesting past json's recursion": (
        lambda t: t.replace('"system": null', f'"system": {_nested(100_000)}'), f"deeper than {MAX_DEPTH} levels"),
    "nesting past the limit": (
        lambda t: t.replace('"params": {', f'"params": {{"deep": {_nested(MAX_DEPTH)}, ', 1),
        f"deeper than {MAX_DEPTH} levels"),
    "10**30 tokens": (
        lambda t: t.replace('"output_tokens": 2', f'"output_tokens": {10**30}', 1),
        "metrics.output_tokens: 1000000000000000000000000000000 is out of range"),
    "a duration of 1e400": (
        lambda t: t.replace('"ttft_ms": 12.5', '"ttft_ms": 1e400', 1), "metrics.ttft_ms: 1e400 is out of range"),
    "a negative duration": (
        lambda t: t.replace('"total_ms": 40.0', '"total_ms": -40.0', 1), "metrics.total_ms: -40.0 is less than"),
    "a negative cost": (
        lambda t: t.replace('"cost_usd": 0.0', '"cost_usd": -1.5', 1), "metrics.cost_usd: -1.5 is less than"),
    "a timeline of 1e400": (
        lambda t: t.replace("[30.1, 1]", "[1e400, 1]", 1), "timeline[2]: 1e400 is out of range"),
    "a timeline going back in time": (
        lambda t: t.replace("[30.1, 1]", "[3.0, 1]", 1), "timeline[2]: time 3.0 ms comes before"),
    "a vote whose date is not a date": (
        lambda t: t.replace("2026-03-01T10:00:00Z", "2026-02-30T10:00:00Z"), "votes[0].created_at"),
    "a vote whose date is not even a timestamp": (
        lambda t: t.replace("2026-03-01T10:00:00Z", "last tuesday"), "votes[0].created_at"),
    "a vote whose winner is not one of its lanes": (
        lambda t: t.replace('"outcome": "a", "winner": 0', '"outcome": "best", "winner": 5'),
        "votes[0]: outcome 'best' needs a winner among the lanes [0, 1], got 5"),
    "a vote on a lane the turn does not have": (
        lambda t: t.replace('"lanes": [0, 1]', '"lanes": [0, 7]').replace('"winner": 0', '"winner": 0'),
        "votes[0]: lane 7 is not in turn 0"),
    "a vote naming a model its lane did not run": (
        lambda t: t.replace('"models": ["x:a", "x:b"]', '"models": ["x:a", "x:zzz"]'),
        "lane 1 of turn 0 ran 'x:b', not 'x:zzz'"),
    "a vote on a turn the session does not have": (
        lambda t: t.replace('"turn": 0', '"turn": 3'), "a vote on turn 3, but the session has 1 turn(s)"),
    "a judge vote without a judge model": (
        lambda t: t.replace('"judge": null', '"judge": {"model": " ", "rubric": "", "reasoning": ""}'),
        "votes[0].judge"),
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("PLAYGROUND_DATABASE_URL",):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.mark.parametrize("finding", list(FINDINGS))
def test_the_cli_refuses_each_finding_with_one_line_and_exit_2(home: Path, tmp_path: Path, capsys, finding) -> None:
    mangle, reason = FINDINGS[finding]
    store = Store.open(None, home=home)
    try:
        bad = mangle(_export_text(store))
        before = _rows(store)
    finally:
        store.close()
    path = tmp_path / "bad.json"
    path.write_text(bad, encoding="utf-8")
    capsys.readouterr()
    assert main(["sessions", "import", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("playground: import rejected: ") and len(err) < 400, err
    assert reason in err, err
    store = Store.open(None, home=home)
    try:
        assert _rows(store) == before
    finally:
        store.close()


@pytest.mark.parametrize("finding", ["nesting past json's recursion", "10**30 tokens", "a timeline of 1e400",
                                     "a vote whose winner is not one of its lanes"])
def test_the_page_refuses_them_with_one_line(tmp_path: Path, finding) -> None:
    mangle, reason = FINDINGS[finding]
    store = Store.open(None, home=tmp_path)
    try:
        ctx = Context(Settings.load(env={"PLAYGROUND_HOME": str(tmp_path)}, cwd=tmp_path), None, store)
        path = tmp_path / "bad.json"
        path.write_text(mangle(_export_text(store)), encoding="utf-8")
        before = _rows(store)
        message = history.import_file(ctx, str(path)).message
        # the page shows it as Markdown, every punctuation mark escaped (playground.web.escape.md)
        message = re.sub(r"\\(.)", r"\1", message)
        assert message.startswith("⚠ import rejected: ") and reason in message and "\n" not in message
        assert _rows(store) == before
    finally:
        store.close()


def test_the_python_api_refuses_them_too(store: Store) -> None:
    good = _export_text(store)
    before = _rows(store)
    for finding, (mangle, reason) in FINDINGS.items():
        with pytest.raises(ImportRejected) as refused:
            store.import_document(mangle(good))
        assert reason in str(refused.value) and "\n" not in str(refused.value), finding
    doc = json.loads(good)
    for deep in (MAX_DEPTH, 10**5):  # a dict handed over from Python: no json recursion to stop it
        value: Any = []
        for _ in range(deep):
            value = [value]
        with pytest.raises(ImportRejected, match=f"deeper than {MAX_DEPTH} levels"):
            store.import_document({**doc, "system": value})
    for value, reason in ((float("inf"), "not a finite number"), (2**63, "beyond signed 64-bit"),
                          ({1, 2}, "a set is not JSON data"), ("\ud800", "lone surrogate")):
        with pytest.raises(ImportRejected, match=reason):
            store.import_document({**doc, "title": value})
    assert _rows(store) == before


def test_what_the_app_saves_always_imports_again(store: Store) -> None:
    """The store refuses to write what an import would refuse: its own export always re-imports."""
    sid = store.create_session(title="t", system=None)
    store.start_turn(sid, prompt="p", outputs=[_out("x:a"), _out("x:b")])
    refusals = [
        (lambda: store.update_output(sid, 0, 0, {**_out("x:a"), "timeline": [[float("inf"), 4]]}), "not a finite"),
        (lambda: store.update_output(sid, 0, 0, {**_out("x:a"), "metrics": {"total_ms": -1.0}}), "minimum of 0"),
        (lambda: store.update_output(sid, 0, 0, {**_out("x:a"), "metrics": {"output_tokens": 10**30}}), "beyond"),
        (lambda: store.update_output(sid, 0, 0, {**_out("x:a"), "timeline": [[5.0, 2], [1.0, 2]]}), "never decrease"),
        (lambda: store.start_turn(sid, prompt="\ud800", outputs=[]), "lone surrogate"),
        (lambda: store.create_session(title="x" * 1001, system=None), "title"),
        (lambda: store.set_votes(sid, [{**make_vote(0, [0, 1], ["x:a", "x:b"], "b"),
                                        "created_at": "2026-02-30T00:00:00Z"}]), "not a real date"),
        (lambda: store.set_votes(sid, [make_vote(1, [0, 1], ["x:a", "x:b"], "a")]), "the session has 1 turn"),
        (lambda: store.set_votes(sid, [make_vote(0, [0, 2], ["x:a", "x:c"], "a")]), "lane 2 is not in turn 0"),
        (lambda: store.set_votes(sid, [make_vote(0, [0, 1], ["x:b", "x:a"], "a")]), "ran 'x:a', not 'x:b'"),
        (lambda: store.set_votes(sid, [make_vote(0, [0, 1], ["x:a", "x:b"], "a"),
                                       make_vote(0, [0, 1], ["x:a", "x:b"], "b")]), "a second human vote"),
    ]
    before = _rows(store)
    for write, reason in refusals:
        with pytest.raises(StorageError, match=reason):
            write()
    assert _rows(store) == before
    store.update_output(sid, 0, 0, {**_out("x:a"), "timeline": [[1.0, 2], [1.0, 2]]})  # equal times: the engine's
    store.set_votes(sid, [make_vote(0, [0, 1], ["x:a", "x:b"], "a"),
                          make_vote(0, [1, 0], ["x:b", "x:a"], "b", judge={"model": "x:judge"})])
    first = store.export_document(sid)
    again = store.export_document(store.import_document(json.dumps(first)))
    assert {**again, "id": sid} == first


# ---- a stored session that breaks a reader is skipped, never fatal ---------------------------------

BAD_VOTE = {"turn": 0, "lanes": [0, 1], "models": ["x:a", "x:b"], "outcome": "best", "winner": 9, "blind": True,
            "judge": None, "created_at": "not a date"}


def _break(store: Store) -> dict[str, str]:
    """Sessions left broken by SQL, as an older release or a hand edit would leave them; returns
    what each one breaks, by session id."""
    good = _voted_session(store)
    bad_vote, bad_json, bad_tags, bad_figures = (_voted_session(store) for _ in range(4))
    postgres = store.engine.dialect.name == "postgresql"
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE sessions SET votes = :v WHERE id = :id"), {"v": json.dumps([BAD_VOTE]), "id": bad_vote})
        conn.execute(text("UPDATE sessions SET votes = '[{\"turn\": 0,' WHERE id = :id"), {"id": bad_json})
        conn.execute(text("UPDATE sessions SET tags = '{\"blind\": ' WHERE id = :id"), {"id": bad_tags})
        figure = "'Infinity'::float8" if postgres else "'fast'"
        conn.execute(text(f"UPDATE outputs SET ttft_ms = {figure} WHERE session_id = :id AND lane = 0"),
                     {"id": bad_figures})
        if not postgres:  # SQLite keeps any text in a DATETIME column
            conn.execute(text("UPDATE outputs SET created_at = 'yesterday' WHERE session_id = :id AND lane = 1"),
                         {"id": bad_figures})
    return {"good": good, "vote": bad_vote, "json": bad_json, "tags": bad_tags, "figures": bad_figures}


def test_a_broken_session_is_skipped_by_the_leaderboard_stats_and_list(store: Store, tmp_path: Path, caplog) -> None:
    ids = _break(store)
    ctx = Context(Settings.load(env={"PLAYGROUND_HOME": str(tmp_path)}, cwd=tmp_path), None, store)
    ctx.revealed.update(ids.values())
    caplog.set_level("WARNING")

    table, matrix = arena_tab.render(ctx, "", "", "", True, "human", "exclude")  # what the page's tab shows
    for broken in ("vote", "json"):
        assert f"skipped session {ids[broken]}" in table
    assert "x:a" in table and "100%" in matrix  # the sound votes still count
    assert f"skipped session {ids['tags']}" in table  # its tags are unreadable: its votes cannot be filtered
    assert table.count("skipped session") == 3

    rows = stats.frames(blind_runs.visible_stats(ctx))[0]  # the Stats tab
    # 5 sessions of x:a and x:b; the broken figures of lane 0 (and, on SQLite, the garbled time of lane 1) skipped
    runs_b = 5 if store.engine.dialect.name == "postgresql" else 4
    assert list(rows["model"]) == ["x:a", "x:b"] and list(rows["runs"]) == [4, runs_b]
    assert f"skipped session {ids['figures']}" in caplog.text

    listed = [s["id"] for s in store.list_sessions()]  # History and `sessions list`
    assert ids["tags"] not in listed and {ids["good"], ids["vote"], ids["figures"]} <= set(listed)
    assert f"skipped session {ids['tags']}" in caplog.text
    assert ids["tags"] not in [s["id"] for s in store.search("which")]
    history_ids = history.rows(ctx)[1]
    assert ids["good"] in history_ids and ids["tags"] not in history_ids
    for line in caplog.messages:
        assert "\n" not in line and "playground sessions delete" in line


def test_the_cli_leaderboard_and_list_warn_in_one_line_and_go_on(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = Store.open(None, home=home)
    try:
        ids = _break(store)
    finally:
        store.close()
    env = {k: v for k, v in os.environ.items() if k != "PLAYGROUND_DATABASE_URL"}
    env.update(PLAYGROUND_HOME=str(home), COLUMNS="200")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "playground.cli", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    board = run("arena", "leaderboard", "--json")
    assert board.returncode == 0, board.stderr
    assert json.loads(board.stdout)["battles"] == 2  # the good session's and the one with broken figures
    warnings = board.stderr.strip().splitlines()
    assert len(warnings) == 3 and all(w.startswith("playground: skipped session ") for w in warnings), board.stderr
    assert {ids["vote"], ids["json"], ids["tags"]} == {w.split()[3].rstrip(":") for w in warnings}
    listed = run("sessions", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert ids["tags"] not in listed.stdout and ids["good"] in listed.stdout
    assert listed.stderr.strip().splitlines() == [
        line for line in listed.stderr.strip().splitlines() if line.startswith(f"playground: skipped session {ids['tags']}")]


def test_impossible_token_counts_from_a_provider_cannot_stop_the_save(store: Store) -> None:
    """The record keeps a provider's counts only when a save can hold them: -5 or 10**30 tokens
    (or "12") would otherwise make every save of the lane fail, losing its text."""
    from backends.base import Params, Started, TextDelta, Usage
    from playground.engine.lane import LaneState

    lane = LaneState(model="x:a", params=Params())
    lane.apply(0.0, Started())
    lane.apply(0.01, TextDelta("hello"))
    lane.apply(0.02, Usage(input_tokens=-5, output_tokens=10**30))
    lane.apply(0.02, Usage(input_tokens="12", output_tokens=2.5))  # type: ignore[arg-type]
    lane.finish(0.03, "ok")
    record = lane.record()
    assert (record["metrics"]["input_tokens"], record["metrics"]["output_tokens"]) == (None, 1)  # 1: estimated
    sid = store.create_session(title="t", system=None)
    store.start_turn(sid, prompt="p", outputs=[record])
    assert store.export_document(sid)["turns"][0]["outputs"][0]["text"] == "hello"
