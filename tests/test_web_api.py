"""The page's public API driven by gradio_client against the real app (in-process, real HTTP), with
a scripted OpenAI-protocol server for the lanes: a comparison end to end, and the coalescing of
4 lanes × 2,000 chunks seen as every intermediate output the client receives."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from gradio_client import Client

from playground.settings import Settings
from playground.testing import ScriptedServer, free_port
from playground.testing.frames import Reply
from playground.web.coalesce import FLUSH_S
from playground.web.serve import start, stop
from storage.schema import validate


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    server = ScriptedServer().start()
    home = tmp_path_factory.mktemp("web-api-home")
    settings = Settings.load(env={"PLAYGROUND_HOME": str(home), "OPENAI_API_KEY": "sk-test-web-0123456789",
                                  "OPENAI_BASE_URL": server.base_url("openai")}, cwd=home)
    demo, ctx, url = start(settings, models=["openai:a"], port=free_port())
    try:
        yield SimpleNamespace(server=server, ctx=ctx, url=url, client=Client(url, verbose=False))
    finally:
        stop(demo, ctx)
        server.stop()


def test_api_runs_a_comparison_saves_it_and_serves_its_document(web: SimpleNamespace) -> None:
    web.server.reset()
    web.server.default = Reply(chunks=["Hello", ", ", "world"], delay=0.02)
    job = web.client.submit("Say hello", ["openai:a", "openai:b"], "be brief", None, 16, 1, "",
                            api_name="/compare")
    outputs = [o for o in job]
    final = job.outputs()[-1]
    assert final["done"] and [lane["text"] for lane in final["lanes"]] == ["Hello, world"] * 2
    assert all(lane["status"] == "ok" and lane["metrics"]["ttft_ms"] > 0 for lane in final["lanes"])
    assert outputs  # it streamed
    doc = web.client.predict(final["session_id"], api_name="/session")
    validate(doc)
    assert doc["system"] == "be brief" and doc["turns"][0]["outputs"][0]["params"]["max_tokens"] == 16
    assert web.server.requests[0].body["max_tokens"] == 16
    listed = web.client.predict("", 10, api_name="/sessions")
    assert listed[0]["id"] == final["session_id"]

    # a second turn continues the session: each lane sends its own conversation
    job = web.client.submit("And again", ["openai:a", "openai:b"], "", None, 16, 1, final["session_id"],
                            api_name="/compare")
    second = job.result()
    assert second["session_id"] == final["session_id"]
    messages = web.server.requests[-1].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]


def test_api_updates_stay_within_the_flush_budget_with_4_lanes_of_2000_chunks(web: SimpleNamespace) -> None:
    web.server.reset()
    chunks = [f"w{k} " for k in range(2000)]
    web.server.default = Reply(chunks=chunks, delay=0.002)
    models = [f"openai:m{i}" for i in range(4)]
    start_t = time.perf_counter()
    job = web.client.submit("go", models, "", None, None, None, "", api_name="/compare")
    updates = 0
    for _ in job:
        updates += 1
    elapsed = time.perf_counter() - start_t
    final = job.outputs()[-1]
    assert [lane["text"] for lane in final["lanes"]] == ["".join(chunks)] * 4
    assert all(lane["status"] == "ok" for lane in final["lanes"])
    assert 3 <= updates <= elapsed / FLUSH_S + 3, (updates, elapsed)
