"""The ``playground`` command as a user runs it: a real process, real models, a real database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage.schema import validate


@pytest.fixture
def env(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    clean.update(PLAYGROUND_HOME=str(tmp_path / "home"), COLUMNS="120")
    return clean


def run(env, *args, stdin=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "playground.cli", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def test_compare_json_is_the_session_document(env):
    res = run(env, "compare", "--json", "-m", "gguf:smollm2", "-m", "test:chunks=5&delay_ms=5",
              "--temperature", "0", "--seed", "1", "--max-tokens", "8", "Name a fruit.")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)  # stdout holds the document and nothing else
    validate(doc)
    assert doc["schema"] == "playground.session/1" and len(doc["turns"]) == 1
    gguf, scripted = doc["turns"][0]["outputs"]
    assert gguf["model"] == "gguf:smollm2" and gguf["status"] == "ok"
    assert gguf["params"] == {"temperature": 0.0, "max_tokens": 8, "seed": 1}
    for out in (gguf, scripted):
        assert sum(n for _, n in out["timeline"]) == len(out["text"])
    assert f"session {doc['id']}" in res.stderr
    listed = run(env, "sessions", "list", "--json")
    assert [s["id"] for s in json.loads(listed.stdout)] == [doc["id"]]


def test_prompt_from_stdin_and_exit_1_when_a_lane_fails(env):
    res = run(env, "compare", "--json", "--no-save", "-m", "test:echo=1", "-m", "test:fail_at=1", "-",
              stdin="hello from stdin")
    assert res.returncode == 1
    ok, failed = json.loads(res.stdout)["turns"][0]["outputs"]
    assert ok["text"] == "hello from stdin"
    assert failed["status"] == "error" and failed["text"] == "tok0 "
    assert "session" not in res.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["-m", "nope:x", "hi"], "unknown provider 'nope'"),
    (["-m", "test:chunks=2", "  "], "empty prompt"),
    (["-m", "openai:gpt-4o-mini", "hi"], "no API key for openai: set OPENAI_API_KEY"),
    (["-m", "gguf:/no/such/model.gguf", "hi"], "file not found: /no/such/model.gguf"),
    (["-m", "anthropic", "hi"], "is not provider:model"),
    (["hi"], "no models"),
    (["-m", "test:chunks=20000000", "--max-tokens", "1", "hi"],
     "test:chunks=20000000: chunks must be from 0 to 100,000, not 20000000"),
])
def test_unusable_input_is_one_line_and_exit_2(env, args, message):
    res = run(env, "compare", "--no-save", *args)
    assert res.returncode == 2
    assert message in res.stderr and res.stderr.count("\n") == 1
    assert res.stdout == ""


@pytest.mark.parametrize(("args", "message"), [
    (["compare", "--session", "01NOSUCHSESSION0000000000", "hi"], "01NOSUCHSESSION0000000000"),
    (["arena", "vote", "01NOSUCHSESSION0000000000", "A"], "01NOSUCHSESSION0000000000"),
])
def test_an_unknown_session_anywhere_is_one_line_and_exit_2(env, args, message):
    res = run(env, *args)
    assert res.returncode == 2, res.stderr
    assert message in res.stderr and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr


def test_an_unusable_database_url_is_one_line_and_exit_2(env):
    res = run({**env, "PLAYGROUND_DATABASE_URL": "nosuchdb://x/y"}, "compare", "-m", "test:chunks=2", "hi")
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr


def _wait_until_saved(env, proc, enough, timeout_s=90.0) -> str:
    """The id of the session `proc` is running, once its saved texts are `enough`. Polls the store
    (saves flush every second) instead of sleeping a fixed time: on a loaded machine starting the
    process alone took longer than the fixed sleeps did."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "compare ended before the test could stop it"
        listed = json.loads(run(env, "sessions", "list", "--json").stdout or "[]")
        if listed:
            saved = json.loads(run(env, "sessions", "export", listed[0]["id"]).stdout)
            if enough([o["text"] for o in saved["turns"][0]["outputs"]]):
                return listed[0]["id"]
        time.sleep(0.3)
    raise AssertionError("compare saved too little in time")


def test_ctrl_c_stops_every_lane_and_keeps_what_arrived(env):
    proc = subprocess.Popen([sys.executable, "-m", "playground.cli", "compare", "--json",
                             "--max-tokens", "5000",
                             "-m", "test:chunks=3000&delay_ms=20", "-m", "test:chunks=3000&delay_ms=30", "hi"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_until_saved(env, proc, lambda texts: all(t.startswith("tok0 tok1 ") for t in texts))
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 1, err
    doc = json.loads(out)
    for lane in doc["turns"][0]["outputs"]:
        assert lane["status"] == "cancelled" and lane["text"].startswith("tok0 tok1 ")
    saved = json.loads(run(env, "sessions", "export", doc["id"]).stdout)
    assert [o["text"] for o in saved["turns"][0]["outputs"]] == [o["text"] for o in doc["turns"][0]["outputs"]]


def test_models_lists_the_embedded_default(env):
    res = run(env, "models")
    assert res.returncode == 0
    assert "gguf:smollm2" in res.stdout and "set OPENAI_API_KEY" in res.stdout


def test_sessions_export_import_rerun(env, tmp_path):
    first = json.loads(run(env, "compare", "--json", "-m", "test:echo=1", "espresso please").stdout)
    path = tmp_path / "s.json"
    assert run(env, "sessions", "export", first["id"], "-o", str(path)).returncode == 0
    imported = run(env, "sessions", "import", str(path))
    assert imported.returncode == 0
    new_id = imported.stdout.strip()
    assert new_id == first["id"] and "saved already" in imported.stderr  # the same session: not copied
    again = json.loads(run(env, "sessions", "export", new_id).stdout)
    assert again["turns"] == first["turns"]
    md = run(env, "sessions", "export", first["id"], "--format", "md").stdout
    assert "espresso please" in md and "test:echo=1" in md
    found = json.loads(run(env, "sessions", "search", "espresso", "--json").stdout)
    assert first["id"] in [s["id"] for s in found]
    rerun = run(env, "sessions", "rerun", first["id"], "--json", "-m", "test:chunks=3")
    assert rerun.returncode == 0, rerun.stderr
    redo = json.loads(rerun.stdout)
    assert redo["rerun_of"] == first["id"] and redo["turns"][0]["outputs"][0]["model"] == "test:chunks=3"
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "playground.session/9"}')
    res = run(env, "sessions", "import", str(bad))
    assert res.returncode == 2 and "import rejected" in res.stderr and res.stderr.count("\n") == 1


def test_killed_compare_leaves_an_interrupted_turn_with_its_text(env):
    proc = subprocess.Popen([sys.executable, "-m", "playground.cli", "compare", "--max-tokens", "5000",
                             "-m", "test:chunks=1000&delay_ms=10", "hi"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    session_id = _wait_until_saved(env, proc, lambda texts: texts[0].count("tok") >= 100)
    proc.kill()
    proc.wait()
    doc = json.loads(run(env, "sessions", "export", session_id).stdout)
    out = doc["turns"][0]["outputs"][0]
    assert out["status"] == "interrupted"
    assert out["text"].startswith("tok0 tok1 ") and out["text"].count("tok") >= 100
    assert sum(n for _, n in out["timeline"]) == len(out["text"])


def test_an_over_long_prompt_is_one_line_and_exit_2(env):
    home = Path(env["PLAYGROUND_HOME"])
    home.mkdir(parents=True)
    (home / "playground.toml").write_text("[limits]\nprompt_chars = 10\n")
    expected = {"argument": "the prompt is 11 characters, over the limit of 10",
                "stdin": "the prompt on standard input is over the limit of 10 characters"}
    for how, res in (("argument", run(env, "compare", "--no-save", "-m", "test:chunks=2", "x" * 11)),
                     ("stdin", run(env, "compare", "--no-save", "-m", "test:chunks=2", "-", stdin="x" * 5000))):
        assert res.returncode == 2, how
        assert expected[how] in res.stderr and res.stderr.count("\n") == 1 and res.stdout == "", how
    assert run(env, "compare", "--no-save", "-m", "test:chunks=2", "x" * 10).returncode == 0
