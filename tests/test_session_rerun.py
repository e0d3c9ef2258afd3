"""Re-run (playground/session/rerun.py) replays each lane as it was recorded: its own system prompt
and its own parameters, found by model — checked on what a real OpenAI-compatible server on
127.0.0.1 received for the source session and for its re-run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest

from backends.base import Params
from playground.api import Comparison
from playground.engine.runtime import Runtime
from playground.session.rerun import Rerun
from playground.settings import Settings
from playground.testing import Reply, ScriptedServer

KEY = "sk-test-rerun-0123456789"


@pytest.fixture
async def runtime(tmp_path: Path, server: ScriptedServer) -> AsyncIterator[Runtime]:
    for model in ("alpha", "beta"):
        server.by_model[model] = Reply(chunks=[f"{model} ", "answers."])
    settings = Settings.load(env={"PLAYGROUND_HOME": str(tmp_path), "OPENAI_API_KEY": KEY,
                                  "OPENAI_BASE_URL": server.base_url("openai")}, cwd=tmp_path)
    rt = Runtime(settings)
    yield rt
    await rt.aclose()


async def _drain(events: Any) -> None:
    async with aclosing(events) as stream:
        async for _ in stream:
            pass


def _sent(server: ScriptedServer, model: str) -> list[tuple[str | None, float | None, int | None, int | None]]:
    """Per request for ``model``: (its system message, temperature, max tokens, seed)."""
    out = []
    for r in server.requests:
        if r.protocol == "openai" and r.model == model:
            system = next((m["content"] for m in r.body["messages"] if m["role"] == "system"), None)
            out.append((system, r.body.get("temperature"), r.body.get("max_tokens") or r.body.get(
                "max_completion_tokens"), r.body.get("seed")))
    return out


async def test_a_rerun_sends_each_lane_its_own_system_prompt_and_parameters(runtime, server) -> None:
    models = ["openai:alpha", "openai:beta"]
    params = [Params(temperature=0.1, max_tokens=20, seed=3), Params(temperature=0.9, max_tokens=30, seed=5)]
    first = Comparison(runtime, models, "Name a colour.", system="Be brief.", params=params,
                       systems=["You are Alpha.", None])
    await _drain(first.events())
    second = Comparison(runtime, models, "And another?", params=params, systems=["You are Alpha.", None],
                        session=first.document)
    await _drain(second.events())
    source = {"alpha": _sent(server, "alpha"), "beta": _sent(server, "beta")}
    assert source["alpha"] == [("You are Alpha.", 0.1, 20, 3)] * 2
    assert source["beta"] == [("Be brief.", 0.9, 30, 5)] * 2
    server.requests.clear()

    rerun = Rerun(runtime, second.document)
    await _drain(rerun.events())
    assert rerun.ok
    assert _sent(server, "alpha") == source["alpha"]  # its own system prompt, as recorded
    assert _sent(server, "beta") == source["beta"]
    for turn in rerun.document["turns"]:
        assert [o["params"].get("system") for o in turn["outputs"]] == ["You are Alpha.", None]
