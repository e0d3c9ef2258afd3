"""Local lanes and the CPU: the embedded default (gguf:smollm2 beside hf:smollm2) takes turns by
default — never generating at once, the wait recorded as queue_ms and named in contention — and
shares the cores, split, in shared mode."""

from __future__ import annotations

import pytest

from playground.api import Comparison

PARAMS = {"temperature": 0.0, "seed": 1, "max_tokens": 6}
LANES = ["gguf:smollm2", "hf:smollm2"]


async def _run(runtime):
    from backends.base import Params

    comp = Comparison(runtime, LANES, "Name a colour.", params=Params(**PARAMS))
    async for _ in comp.events():
        pass
    return comp.current.lanes, comp.document["turns"][0]["outputs"]


async def test_turns_mode_local_lanes_never_overlap(local_runtime):
    assert local_runtime.cpu.mode == "turns"
    lanes, outputs = await _run(local_runtime)
    assert [o["status"] for o in outputs] == ["ok", "ok"], outputs
    first, second = sorted(range(2), key=lambda i: lanes[i].t0)
    # wall clock: the second lane's generation starts after the first one's ended
    assert lanes[second].t0 >= lanes[first].t_end
    m_first, m_second = outputs[first]["metrics"], outputs[second]["metrics"]
    busy_first = m_first["queue_ms"] + m_first["load_ms"] + m_first["total_ms"]
    assert m_second["queue_ms"] >= 0.9 * (m_first["load_ms"] + m_first["total_ms"])
    assert m_second["queue_ms"] <= busy_first + 1000
    assert m_second["contention"]["waited_for"] == [LANES[first]]
    assert m_first["contention"]["shared_with"] == [] and m_second["contention"]["shared_with"] == []
    assert m_first["contention"]["threads"] == m_second["contention"]["threads"] == local_runtime.cpu.cores
    # the wait is queue_ms, never TTFT: the lane's clock (t0) starts after its turn came
    assert lanes[second].t0 - lanes[second].stamps[0] + m_second["ttft_ms"] / 1000 == pytest.approx(0, abs=1e-3)


async def test_shared_mode_splits_the_cores_and_says_so(local_runtime):
    local_runtime.cpu.mode = "shared"
    try:
        lanes, outputs = await _run(local_runtime)
    finally:
        local_runtime.cpu.mode = "turns"
    assert [o["status"] for o in outputs] == ["ok", "ok"], outputs
    expected_threads = max(1, local_runtime.cpu.cores // 2)
    for i, out in enumerate(outputs):
        contention = out["metrics"]["contention"]
        assert contention["threads"] == expected_threads
        assert contention["shared_with"] == [LANES[1 - i]]
        assert out["metrics"]["queue_ms"] < 500  # no turn to wait for
    assert lanes[0].t0 < lanes[1].t_end and lanes[1].t0 < lanes[0].t_end  # they ran at once


@pytest.mark.parametrize("model", LANES)
async def test_same_settings_same_text_whatever_ran_before(local_runtime, model):
    from playground.api import compare

    async def text(prompt):
        doc = await compare(prompt, [model], runtime=local_runtime, **PARAMS)
        out = doc["turns"][0]["outputs"][0]
        assert out["status"] == "ok", out
        return out["text"]

    a1 = await text("What is the capital of Italy?")
    await text("Write a haiku about rain.")
    assert await text("What is the capital of Italy?") == a1
