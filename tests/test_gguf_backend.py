"""The GGUF backend on the real SmolLM2 file, in its worker process: reproducible greedy text,
exact token counts, load time kept out of TTFT, Stop, and a killed engine that only ends its lane."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from backends.local import embedded_gguf
from playground.api import Comparison, compare
from playground.engine.runtime import Runtime
from playground.settings import Settings

GREEDY = {"temperature": 0.0, "seed": 1, "max_tokens": 12}


@pytest.fixture(scope="module")
async def rt(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    runtime = Runtime(Settings.load(env={"PLAYGROUND_HOME": str(home)}, cwd=home))
    yield runtime
    await runtime.aclose()


def _pid(backend):
    """The process of the backend's one live worker (``loaded()``, what the page's list shows)."""
    (worker,) = backend.loaded()
    return worker["pid"]


def _out(doc, i=0):
    return doc["turns"][-1]["outputs"][i]


async def test_load_is_apart_and_greedy_text_is_reproducible(rt):
    first = _out(await compare("Name a colour.", ["gguf:smollm2"], runtime=rt, **GREEDY))
    other = _out(await compare("What is 2+2?", ["gguf:smollm2"], runtime=rt, **GREEDY))
    again = _out(await compare("Name a colour.", ["gguf:smollm2"], runtime=rt, **GREEDY))
    assert first["status"] == "ok" and first["text"]
    assert first["metrics"]["load_ms"] > 0 and again["metrics"]["load_ms"] == 0
    # t0 is after the load: TTFT is the model's, not the loader's (the first text is at TTFT on
    # the lane's own clock, which starts when generation starts)
    assert first["metrics"]["ttft_ms"] == pytest.approx(first["timeline"][0][0])
    assert first["metrics"]["total_ms"] >= first["timeline"][-1][0]
    assert again["text"] == first["text"] != other["text"]  # A, B, A: the cache is not reused
    assert again["metrics"]["prompt_cache_hit"] is False
    assert first["finish_reason"] in ("length", "stop")


async def test_token_counts_are_the_tokenizers(rt):
    import llama_cpp

    out = _out(await compare("Say hello in French.", ["gguf:smollm2"], runtime=rt, **GREEDY))
    vocab = llama_cpp.Llama(model_path=str(embedded_gguf()), vocab_only=True, verbose=False)
    counted = len(vocab.tokenize(out["text"].encode(), add_bos=False, special=False))
    assert out["metrics"]["output_tokens"] == counted
    assert out["metrics"]["estimated"] == []
    assert out["metrics"]["input_tokens"] > 5  # the chat template's tokens, counted by the engine
    assert out["metrics"]["contention"]["threads"] == rt.settings.cpu_threads


async def test_stop_interrupts_generation_and_the_model_stays_usable(rt):
    comp = Comparison(rt, ["gguf:smollm2"], "Write a long story about a dragon.",
                      params=None)
    texts = 0
    async for ev in comp.events():
        if ev.event.kind == "text":
            texts += 1
            if texts == 3:
                comp.cancel()
    out = comp.document["turns"][0]["outputs"][0]
    assert out["status"] == "cancelled" and out["text"]
    # the worker stopped: the next generation starts at once and is not disturbed
    after = _out(await compare("Name a colour.", ["gguf:smollm2"], runtime=rt, **GREEDY))
    reference = _out(await compare("Name a colour.", ["gguf:smollm2"], runtime=rt, **GREEDY))
    assert after["status"] == "ok" and after["text"] == reference["text"]
    assert after["metrics"]["queue_ms"] < 1000  # one token's wait at most, not the rest of the story


async def test_killed_engine_ends_only_its_lane_and_the_next_run_starts_fresh(rt):
    comp = Comparison(rt, ["gguf:smollm2", "test:chunks=40&delay_ms=25"],
                      "Write a long story about a dragon.", params=None)
    backend = rt.resolve("gguf:smollm2").backend
    pid_before = None
    texts = 0
    async for ev in comp.events():
        if ev.lane == 0 and ev.event.kind == "text":
            texts += 1
            if texts == 3:
                pid_before = _pid(backend)
                os.kill(pid_before, signal.SIGKILL)
    crashed, other = comp.document["turns"][0]["outputs"]
    assert crashed["status"] == "error" and crashed["error"]["type"] == "engine_crashed"
    assert "signal 9 (SIGKILL)" in crashed["error"]["message"]
    assert crashed["text"]  # what arrived before the crash is kept
    assert other["status"] == "ok" and other["text"].count("tok") == 40
    fresh = _out(await compare("Name a colour.", ["gguf:smollm2"], runtime=rt, **GREEDY))
    assert fresh["status"] == "ok" and fresh["metrics"]["load_ms"] > 0
    assert _pid(backend) != pid_before


async def test_bad_files_are_one_line_errors(rt, tmp_path):
    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_text("hello")
    doc = await compare("hi", [f"gguf:{not_gguf}", f"gguf:{tmp_path / 'missing.gguf'}"], runtime=rt)
    a, b = doc["turns"][0]["outputs"]
    assert a["error"]["message"] == f"not a GGUF file: {not_gguf} — llama.cpp needs a .gguf model file"
    assert b["error"]["message"].startswith(f"file not found: {tmp_path / 'missing.gguf'}")
    assert a["metrics"]["load_ms"] == 0  # refused before any load
    await asyncio.sleep(0)
