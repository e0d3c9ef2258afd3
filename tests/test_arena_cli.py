"""Arena in the terminal, end to end: blind compare, a vote that reveals, a judge vote, the
leaderboard, and the battle file round trip — real processes, a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from storage import Store
from storage.schema import validate

FAST = "test:chunks=3&text=fast%20"
SLOW = "test:chunks=3&text=slow%20"


@pytest.fixture
def env(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    clean.update(PLAYGROUND_HOME=str(tmp_path / "home"), COLUMNS="160")
    return clean


def run(env, *args, stdin=None):
    res = subprocess.run([sys.executable, "-m", "playground.cli", *args], env=env, input=stdin,
                         capture_output=True, text=True, timeout=60)
    return res


def session(env):
    store = Store.open(None, home=env["PLAYGROUND_HOME"])
    try:
        rows = store.list_sessions(limit=1)
        return store.get_session(rows[0]["id"])
    finally:
        store.close()


def test_blind_compare_hides_names_until_the_vote(env):
    res = run(env, "compare", "--blind", "-m", FAST, "-m", SLOW, "hi")
    assert res.returncode == 0, res.stderr
    assert "Model A" in res.stdout and "Model B" in res.stdout
    assert FAST not in res.stdout + res.stderr and SLOW not in res.stdout + res.stderr
    doc = session(env)
    shown = [o["model"] for o in doc["turns"][0]["outputs"]]
    winner_letter = "A" if shown[0] == FAST else "B"
    voted = run(env, "arena", "vote", doc["id"], winner_letter)
    assert voted.returncode == 0, voted.stderr
    assert f"Model A was {shown[0]}" in voted.stderr  # revealed once voted
    doc = session(env)
    validate(doc)
    (vote,) = doc["votes"]
    assert vote["blind"] is True and vote["models"][vote["lanes"].index(vote["winner"])] == FAST
    exported = json.loads(run(env, "sessions", "export", doc["id"]).stdout)
    assert exported["votes"] == doc["votes"]
    changed = run(env, "arena", "vote", doc["id"], "tie")
    assert changed.returncode == 0 and session(env)["votes"][0]["outcome"] == "tie"
    assert run(env, "arena", "vote", doc["id"], "x", "--withdraw").returncode == 0
    assert "votes" not in session(env)


def test_leaderboard_judge_and_battle_files(env, tmp_path):
    for _ in range(4):
        run(env, "compare", "--blind", "-m", FAST, "-m", SLOW, "hi")
        doc = session(env)
        shown = [o["model"] for o in doc["turns"][0]["outputs"]]
        assert run(env, "arena", "vote", doc["id"], "A" if shown[0] == FAST else "B").returncode == 0
    board = json.loads(run(env, "arena", "leaderboard", "--json").stdout)
    assert board["battles"] == 4
    ranked = [r["model"] for r in board["ratings"]]
    assert ranked == [FAST, SLOW]
    top = board["ratings"][0]
    assert top["wins"] == 4 and top["lower"] <= top["rating"] <= top["upper"]

    judge = "test:chunks=1&text=Answer%20A%20is%20better.%0AVERDICT:%20A"
    res = run(env, "arena", "judge", doc["id"], "-m", judge)
    assert res.returncode == 0, res.stderr
    votes = session(env)["votes"]
    judged = [v for v in votes if v["judge"]]
    assert judged[0]["judge"]["model"] == judge and judged[0]["outcome"] == "a"
    assert "VERDICT: A" in judged[0]["judge"]["reasoning"]
    human_only = json.loads(run(env, "arena", "leaderboard", "--json").stdout)
    both = json.loads(run(env, "arena", "leaderboard", "--json", "--source", "both").stdout)
    assert human_only["battles"] == 4 and both["battles"] == 5

    path = tmp_path / "battles.jsonl"
    assert run(env, "arena", "export", str(path)).returncode == 0
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 5 and {r["winner"] for r in rows} <= {"model_a", "model_b", "tie", "tie (bothbad)"}
    assert {"model_a", "model_b", "winner", "tstamp", "judge"} <= set(rows[0])
    other = {**env, "PLAYGROUND_HOME": str(tmp_path / "other")}
    assert run(other, "arena", "import", str(path)).returncode == 0
    again = tmp_path / "again.jsonl"
    run(other, "arena", "export", str(again))
    assert [json.loads(line) for line in again.read_text().splitlines()] == rows
    imported_board = json.loads(run(other, "arena", "leaderboard", "--json").stdout)
    assert [r["model"] for r in imported_board["ratings"]] == ranked

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"model_a": "x"}\n')
    res = run(other, "arena", "import", str(bad))
    assert res.returncode == 2 and res.stderr.count("\n") == 1


def test_battle_draws_from_the_pool(env):
    res = run(env, "arena", "battle", "--pool", FAST, "--pool", SLOW, "--pool", "test:chunks=2", "hi")
    assert res.returncode == 0, res.stderr
    doc = session(env)
    models = [o["model"] for o in doc["turns"][0]["outputs"]]
    assert len(models) == 2 and set(models) <= {FAST, SLOW, "test:chunks=2"}
