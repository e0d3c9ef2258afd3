"""The engine's own logic, with the in-process ``test:`` model: lanes never hold each other back,
a failing lane keeps its text and error, Stop cancels every lane fast, figures follow docs/architecture.md#timing."""

from __future__ import annotations

import asyncio
import time

import pytest

from backends.base import Message, Params, Started, TextDelta, Usage
from backends.errors import ConfigError
from playground.api import Comparison, compare
from playground.engine.lane import LaneState
from playground.engine.run import LaneEnd, LaneSpec, Run
from playground.engine.runtime import Runtime
from playground.settings import Settings


@pytest.fixture
def runtime(tmp_path) -> Runtime:
    return Runtime(Settings.load(env={"PLAYGROUND_HOME": str(tmp_path)}, cwd=tmp_path))


def spec(model: str, prompt: str = "hi") -> LaneSpec:
    return LaneSpec(model, (Message("user", prompt),), Params())


async def test_fast_lane_is_not_held_back_by_a_slow_one(runtime):
    run = Run(runtime, [spec("test:chunks=10&delay_ms=5"), spec("test:chunks=10&delay_ms=100")])
    ends = {}
    async for ev in run.events():
        if isinstance(ev.event, LaneEnd):
            ends[ev.lane] = ev.t
    fast, slow = run.lanes
    assert ends[0] < ends[1]
    assert fast.record()["metrics"]["total_ms"] < 300  # 10 × 5 ms alone, not paced by the slow lane
    assert slow.record()["metrics"]["total_ms"] >= 1000


async def test_failing_lane_keeps_partial_text_and_others_finish(runtime):
    doc = await compare("hi", ["test:chunks=10&fail_at=4", "test:chunks=6"], runtime=runtime)
    bad, good = doc["turns"][0]["outputs"]
    assert bad["status"] == "error" and bad["text"] == "tok0 tok1 tok2 tok3 "
    assert bad["error"] == {"type": "server", "message": "scripted failure at delta 4"}
    assert good["status"] == "ok" and good["text"].count("tok") == 6
    assert good["finish_reason"] == "stop"


async def test_cancel_stops_every_lane_within_200ms_and_keeps_text(runtime):
    comp = Comparison(runtime, ["test:chunks=1000&delay_ms=10", "test:chunks=1000&delay_ms=20"], "hi")
    seen = 0
    t_cancel = None
    async for _ in comp.events():
        seen += 1
        if seen == 20 and t_cancel is None:
            t_cancel = time.perf_counter()
            comp.cancel()
    elapsed = time.perf_counter() - t_cancel
    assert elapsed < 0.2
    outputs = comp.document["turns"][0]["outputs"]
    assert [o["status"] for o in outputs] == ["cancelled", "cancelled"]
    assert all(o["text"].startswith("tok0 ") for o in outputs)


async def test_closing_the_event_stream_cancels_lanes(runtime):
    run = Run(runtime, [spec("test:chunks=1000&delay_ms=10")])
    events = run.events()
    async for ev in events:
        if ev.event.kind == "text":
            break
    await events.aclose()
    assert run.lanes[0].status == "cancelled"


async def test_figures_follow_the_design(runtime):
    doc = await compare("one two three", ["test:chunks=11&delay_ms=20&first_ms=100"], runtime=runtime)
    out = doc["turns"][0]["outputs"][0]
    m = out["metrics"]
    assert 100 <= m["ttft_ms"] < 400
    assert m["output_tokens"] == 11 and m["input_tokens"] == 3 and m["estimated"] == []
    first, last = out["timeline"][0][0], out["timeline"][-1][0]
    assert m["tokens_per_s"] == pytest.approx(10 / ((last - first) / 1000), rel=0.01)
    assert sum(n for _, n in out["timeline"]) == len(out["text"])
    assert m["total_ms"] >= last
    assert m["cost_usd"] == 0.0


async def test_unknown_provider_is_that_lanes_error(runtime):
    doc = await compare("hi", ["nope:x", "test:chunks=2"], runtime=runtime)
    bad, good = doc["turns"][0]["outputs"]
    assert bad["status"] == "error" and bad["error"]["type"] == "config"
    assert "unknown provider 'nope'" in bad["error"]["message"]
    assert good["status"] == "ok"


async def test_missing_key_is_a_config_error_before_any_request(runtime):
    doc = await compare("hi", ["openai:gpt-4o-mini"], runtime=runtime)
    out = doc["turns"][0]["outputs"][0]
    assert out["error"] == {"type": "config", "message": "no API key for openai: set OPENAI_API_KEY"}


def test_empty_prompt_is_refused(runtime):
    with pytest.raises(ConfigError, match="empty prompt"):
        Comparison(runtime, ["test:chunks=2"], "   ")


async def test_estimates_are_named(runtime):
    """A backend that reports no usage gets estimated counts, named in `estimated`."""
    lane = LaneState(model="x:y", params=Params(), prompt_chars=40)
    lane.apply(1.0, Started())
    lane.apply(1.1, TextDelta("abcdefgh"))
    lane.apply(1.2, TextDelta("ijklmnop"))
    lane.finish(1.3, "ok")
    m = lane.record()["metrics"]
    assert m["output_tokens"] == 4 and m["input_tokens"] == 10
    assert set(m["estimated"]) == {"output_tokens", "input_tokens", "tokens_per_s"}


def test_a_lane_is_priced_as_it_finishes():
    """Whoever finishes a lane (the engine, a Stop, a replay) gets its cost: no later pricing step."""
    hosted = LaneState(model="openai:gpt-4o-mini", params=Params(), provider="openai",
                       provider_model="gpt-4o-mini")
    hosted.apply(1.0, Started())
    hosted.apply(1.1, TextDelta("a"))
    hosted.apply(1.2, Usage(input_tokens=1000, output_tokens=1000))
    assert hosted.cost_usd is None
    hosted.finish(1.3, "cancelled")
    assert hosted.cost_usd is not None and 0 < hosted.cost_usd < 0.01
    assert hosted.record()["metrics"]["cost_usd"] == hosted.cost_usd


async def test_multi_turn_each_lane_keeps_its_own_history(runtime):
    doc = await compare("first question", ["test:echo=1", "test:chunks=2"], runtime=runtime)
    comp = Comparison(runtime, [], "second", session=doc)
    async for _ in comp.events():
        pass
    specs = comp.runs[0].specs  # the conversations each lane sent
    assert [m.content for m in specs[0].messages] == ["first question", "first question", "second"]
    assert [m.content for m in specs[1].messages] == ["first question", "tok0 tok1 ", "second"]
    assert len(comp.document["turns"]) == 2 and comp.document["turns"][1]["outputs"][0]["text"] == "second"


async def test_repeat_records_every_run(runtime):
    doc = await compare("hi", ["test:chunks=3", "test:chunks=4"], runtime=runtime, repeat=3, warmup=True)
    outs = doc["turns"][0]["outputs"]
    assert len(outs) == 8
    assert [o.get("repeat") for o in outs] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert [bool(o.get("warmup")) for o in outs] == [True, True] + [False] * 6


async def test_shared_endpoint_is_recorded(runtime, server):
    """Two lanes to one server endpoint name each other in `contention.shared_with`."""
    from playground.testing import Reply

    server.script(Reply(chunks=["a "] * 5, delay=0.02), Reply(chunks=["b "] * 5, delay=0.02))
    settings = Settings.load(env={"PLAYGROUND_HOME": str(runtime.home), "OPENAI_API_KEY": "sk-x",
                                  "OPENAI_BASE_URL": server.base_url("openai")})
    rt = Runtime(settings)
    try:
        doc = await compare("hi", ["openai:m1", "openai:m2"], runtime=rt)
    finally:
        await rt.aclose()
    a, b = doc["turns"][0]["outputs"]
    assert a["status"] == b["status"] == "ok"
    assert a["metrics"]["contention"]["shared_with"] == ["openai:m2"]
    assert b["metrics"]["contention"]["shared_with"] == ["openai:m1"]


def test_engine_imports_no_heavy_engine():
    import subprocess
    import sys

    code = ("import sys, playground.api, playground.cli.main, backends.registry;"
            "print(sorted(m for m in ('torch','llama_cpp','transformers','gradio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_lane_events_are_stamped_in_order(runtime):
    run = Run(runtime, [spec("test:chunks=50"), spec("test:chunks=50&delay_ms=1")])
    stamps = [ev.t async for ev in run.events()]
    assert stamps == sorted(stamps)
    await asyncio.sleep(0)


async def test_repeat_aggregates_match_the_runs(runtime):
    from playground.session.aggregate import aggregate, percentile

    doc = await compare("hi", ["test:chunks=5&first_ms=10", "test:chunks=5&first_ms=30"], runtime=runtime,
                        repeat=3, warmup=True)
    outs = doc["turns"][0]["outputs"]
    rows = aggregate(outs)
    assert [r["model"] for r in rows] == ["test:chunks=5&first_ms=10", "test:chunks=5&first_ms=30"]
    for lane, row in enumerate(rows):
        ttfts = [o["metrics"]["ttft_ms"] for o in outs[lane::2] if not o.get("warmup")]
        assert row["runs"] == 3 and row["warmups"] == 1 and row["failed"] == 0
        assert row["ttft_ms"]["median"] == pytest.approx(sorted(ttfts)[1], abs=0.01)
        assert row["ttft_ms"]["p90"] == pytest.approx(percentile(ttfts, 90), abs=0.01)
        assert row["ttft_ms"]["min"] <= row["ttft_ms"]["median"] <= row["ttft_ms"]["max"]
    assert rows[0]["ttft_ms"]["median"] < rows[1]["ttft_ms"]["median"]
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == pytest.approx(9.1)


async def test_a_comparison_leaves_the_callers_session_as_it_was(runtime):
    """Like ``set_vote``, a new turn gives a new document: the session passed in is not changed."""
    first = await compare("one", ["test:echo=1", "test:chunks=2"], runtime=runtime)
    before = repr(first)
    second = await compare("two three", [], session=first, runtime=runtime)
    assert repr(first) == before and len(first["turns"]) == 1
    assert [t["prompt"] for t in second["turns"]] == ["one", "two three"] and second["id"] == first["id"]
    assert second["turns"][0] is first["turns"][0]  # earlier turns are shared, never changed
    assert second["turns"][1]["outputs"][0]["text"] == "two three"  # the echo lane heard the new prompt
