"""Each model's own conversation (playground/session/history.py), checked on what a real
OpenAI-compatible server on 127.0.0.1 *received*: through the Python API, ``playground compare
--session`` (a real process) and the store in between. A lane's history is its model's earlier
answers found by model, never by position; a model that joins later is sent the prompts only, or
the answers of the model the user picked, and keeps being sent the same afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from backends.errors import ConfigError
from playground.api import Comparison, compare
from playground.engine.runtime import Runtime
from playground.session.history import lane_histories, session_models
from playground.settings import Settings
from playground.testing import Reply, ScriptedServer
from storage import Store

KEY = "sk-test-history-0123456789"
ANSWERS = {"alpha": "Alpha says red.", "beta": "Beta says blue.", "gamma": "Gamma says green."}


@pytest.fixture
def answering(server: ScriptedServer) -> ScriptedServer:
    """The scripted server, each model answering with its own sentence whatever it is sent."""
    for model, text in ANSWERS.items():
        server.by_model[model] = Reply(chunks=[text[:6], text[6:]])
    return server


@pytest.fixture
async def runtime(tmp_path: Path, answering: ScriptedServer) -> AsyncIterator[Runtime]:
    settings = Settings.load(env={"PLAYGROUND_HOME": str(tmp_path), "OPENAI_API_KEY": KEY,
                                  "OPENAI_BASE_URL": answering.base_url("openai")}, cwd=tmp_path)
    rt = Runtime(settings)
    yield rt
    await rt.aclose()


def received(server: ScriptedServer, model: str) -> list[list[tuple[str, str]]]:
    """Every conversation the server received for ``model``, in order, as (role, content) pairs."""
    return [[(m["role"], m["content"]) for m in r.body["messages"]]
            for r in server.requests if r.protocol == "openai" and r.model == model]


def own(prompt: str, model: str) -> list[tuple[str, str]]:
    return [("user", prompt), ("assistant", ANSWERS[model])]


async def test_removing_the_first_model_leaves_the_other_its_own_answers(runtime, answering):
    """The issue's case: two models, ask, remove the first, ask again."""
    first = await compare("Name a colour.", ["openai:alpha", "openai:beta"], runtime=runtime)
    second = await compare("Why that one?", ["openai:beta"], session=first, runtime=runtime)
    assert received(answering, "beta")[-1] == [*own("Name a colour.", "beta"), ("user", "Why that one?")]
    assert second["turns"][1]["outputs"][0]["text"] == ANSWERS["beta"]
    assert "history_from" not in second["turns"][1]["outputs"][0]  # no turn missed: nothing to record


async def test_reordered_models_each_keep_their_own_conversation(runtime, answering):
    first = await compare("Name a colour.", ["openai:alpha", "openai:beta"], runtime=runtime)
    await compare("Why that one?", ["openai:beta", "openai:alpha"], session=first, runtime=runtime)
    for model in ("alpha", "beta"):
        assert received(answering, model)[-1] == [*own("Name a colour.", model), ("user", "Why that one?")]


async def test_a_model_added_later_gets_the_prompts_only_by_default(runtime, answering):
    first = await compare("Name a colour.", ["openai:alpha"], runtime=runtime)
    second = await compare("Why that one?", ["openai:alpha", "openai:gamma"], session=first, runtime=runtime)
    assert received(answering, "gamma") == [[("user", "Name a colour."), ("user", "Why that one?")]]
    assert received(answering, "alpha")[-1] == [*own("Name a colour.", "alpha"), ("user", "Why that one?")]
    assert "history_from" not in second["turns"][1]["outputs"][1]
    gamma = lane_histories(second, ["openai:gamma"])[0]
    assert gamma.note() == "joined later — turn 1: prompt only"


async def test_join_from_gives_the_new_model_that_lanes_answers_and_keeps_them_later(runtime, answering, tmp_path):
    """``join_from`` is stored on the joiner's output, so a later turn (from the store, without
    ``join_from``) sends it the same history again, with its own answers after it joined."""
    store = Store.open(f"sqlite:///{tmp_path / 'history.db'}")
    try:
        from playground.session.recorder import Recorder

        first = await compare("Name a colour.", ["openai:alpha", "openai:beta"], runtime=runtime,
                              recorder=Recorder(store))
        await compare("Why that one?", ["openai:beta", "openai:gamma"], session=store.get_session(first["id"]),
                      runtime=runtime, recorder=Recorder(store), join_from="openai:alpha")
        assert received(answering, "gamma")[-1] == [*own("Name a colour.", "alpha"), ("user", "Why that one?")]
        saved = store.get_session(first["id"])
        assert saved["turns"][1]["outputs"][1]["history_from"] == "openai:alpha"
        assert session_models(saved) == ["openai:alpha", "openai:beta", "openai:gamma"]  # every lane of every turn

        await compare("And the third?", ["openai:gamma"], session=saved, runtime=runtime,
                      join_from="openai:beta")  # no turn missed since its last answer: join_from changes nothing
        assert received(answering, "gamma")[-1] == [*own("Name a colour.", "alpha"), *own("Why that one?", "gamma"),
                                                    ("user", "And the third?")]
        note = lane_histories(saved, ["openai:gamma"])[0].note()
        assert note == "joined later — turn 1: answers of openai:alpha"
    finally:
        store.close()


async def test_a_model_back_after_a_turn_without_it(runtime, answering):
    """Removed at turn 2, back at turn 3: its turn-1 answer is its own, turn 2 is filled as chosen."""
    doc = await compare("One?", ["openai:alpha", "openai:beta"], runtime=runtime)
    doc = await compare("Two?", ["openai:beta"], session=doc, runtime=runtime)
    doc = await compare("Three?", ["openai:alpha", "openai:beta"], session=doc, runtime=runtime,
                        join_from="openai:beta")
    assert received(answering, "alpha")[-1] == [*own("One?", "alpha"), *own("Two?", "beta"), ("user", "Three?")]
    assert doc["turns"][2]["outputs"][0]["history_from"] == "openai:beta"
    assert received(answering, "beta")[-1] == [*own("One?", "beta"), *own("Two?", "beta"), ("user", "Three?")]


async def test_without_models_a_session_goes_on_with_every_model_it_had(runtime, answering):
    doc = await compare("One?", ["openai:alpha"], runtime=runtime)
    doc = await compare("Two?", ["openai:beta", "openai:alpha"], session=doc, runtime=runtime)
    comp = Comparison(runtime, [], "Three?", session=doc)
    assert comp.models == ["openai:alpha", "openai:beta"]


async def test_join_from_must_name_a_model_of_the_session(runtime, answering):
    doc = await compare("One?", ["openai:alpha"], runtime=runtime)
    with pytest.raises(ConfigError, match="not a model of this session: choose one of openai:alpha"):
        Comparison(runtime, ["openai:gamma"], "Two?", session=doc, join_from="openai:nope")
    with pytest.raises(ConfigError, match="no earlier turns"):
        Comparison(runtime, ["openai:gamma"], "One?", join_from="openai:alpha")


def _out(model: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "label": None, "params": {}, "text": text, "status": "ok", "error": None,
            "finish_reason": "stop", "metrics": {}, "server_metrics": {}, "timeline": [[1.0, len(text)]], **extra}


def _doc(*turns: tuple[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"schema": "playground.session/1", "id": "01J0000000000000000000H1ST", "title": "t",
            "created_at": "2026-01-02T03:04:05.000Z", "system": "Be brief.",
            "turns": [{"prompt": p, "created_at": "2026-01-02T03:04:05.000Z", "outputs": outs} for p, outs in turns]}


async def test_a_model_twice_in_a_turn_each_lane_continues_its_own_lane(runtime, answering):
    """The n-th lane of a model continues that model's n-th lane; with fewer, its first."""
    doc = _doc(("One?", [_out("openai:alpha", "first lane"), _out("openai:beta", "b"),
                         _out("openai:alpha", "second lane")]))
    comp = Comparison(runtime, ["openai:alpha", "openai:alpha", "openai:alpha"], "Two?", session=doc)
    async for _ in comp.events():
        pass
    sent = sorted(c[2][1] for c in received(answering, "alpha"))  # system, user, assistant, user
    assert sent == ["first lane", "first lane", "second lane"]
    assert all(c[0] == ("system", "Be brief.") for c in received(answering, "alpha"))


async def test_repeats_and_warmups_continue_from_the_counted_run(runtime, answering):
    doc = _doc(("One?", [_out("openai:beta", "warm", warmup=True, repeat=0), _out("openai:alpha", "warm a",
                                                                                   warmup=True, repeat=0),
                         _out("openai:beta", "run one", repeat=1), _out("openai:alpha", "a one", repeat=1),
                         _out("openai:beta", "run two", repeat=2), _out("openai:alpha", "a two", repeat=2)]))
    await compare("Two?", ["openai:alpha", "openai:beta"], session=doc, runtime=runtime)
    assert received(answering, "beta")[-1][2] == ("assistant", "run one")
    assert received(answering, "alpha")[-1][2] == ("assistant", "a one")


# ---- the command line: `playground compare --session` in a real process --------------------------


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "playground.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_cli_session_sends_each_model_its_own_answers_and_join_from(answering, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")}
    env.update(PLAYGROUND_HOME=str(tmp_path / "home"), OPENAI_API_KEY=KEY,
               OPENAI_BASE_URL=answering.base_url("openai"), COLUMNS="120")
    first = _cli(env, "compare", "--json", "-m", "openai:alpha", "-m", "openai:beta", "Name a colour.")
    assert first.returncode == 0, first.stderr
    sid = json.loads(first.stdout)["id"]

    second = _cli(env, "compare", "--json", "--session", sid, "-m", "openai:beta", "-m", "openai:gamma",
                  "--join-from", "openai:alpha", "Why that one?")
    assert second.returncode == 0, second.stderr
    assert received(answering, "beta")[-1] == [*own("Name a colour.", "beta"), ("user", "Why that one?")]
    assert received(answering, "gamma")[-1] == [*own("Name a colour.", "alpha"), ("user", "Why that one?")]

    third = _cli(env, "compare", "--json", "--session", sid, "Once more?")  # every model the session had
    assert third.returncode == 0, third.stderr
    doc = json.loads(third.stdout)
    assert [o["model"] for o in doc["turns"][2]["outputs"]] == ["openai:alpha", "openai:beta", "openai:gamma"]
    assert received(answering, "alpha")[-1] == [*own("Name a colour.", "alpha"), ("user", "Why that one?"),
                                                ("user", "Once more?")]
    assert received(answering, "gamma")[-1] == [*own("Name a colour.", "alpha"), *own("Why that one?", "gamma"),
                                                ("user", "Once more?")]

    bad = _cli(env, "compare", "--session", sid, "-m", "openai:gamma", "--join-from", "openai:nope", "Hm?")
    assert bad.returncode == 2 and "not a model of this session" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    alone = _cli(env, "compare", "-m", "openai:gamma", "--join-from", "openai:alpha", "Hm?")
    assert alone.returncode == 2 and "--join-from needs --session" in alone.stderr


def test_a_typed_session_reads_the_same_as_its_document():
    from storage.document import Session

    doc = _doc(("One?", [_out("openai:alpha", "a1"), _out("openai:beta", "b1")]),
               ("Two?", [_out("openai:beta", "b2"), _out("openai:gamma", "g2", history_from="openai:alpha")]))
    typed = Session.of(doc)
    assert session_models(typed) == session_models(doc) == ["openai:alpha", "openai:beta", "openai:gamma"]
    assert lane_histories(typed, ["openai:gamma"]) == lane_histories(doc, ["openai:gamma"])
    gamma = lane_histories(doc, ["openai:gamma"])[0]
    assert [t.text for t in gamma.turns] == ["a1", "g2"] and gamma.note() == "joined later — turn 1: answers of openai:alpha"
