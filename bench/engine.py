"""Benchmark (not a test): what the engine and the GGUF backend cost over doing it by hand.

(a) per-event overhead: N in-process lanes (the ``test:`` model) stream 100,000 deltas in all
    through the engine vs a bare ``async for`` over the same generators; µs/event and ratio.
(b) the gguf backend's decode rate vs a bare llama-cpp-python loop on SmolLM2: same prompt,
    same settings, same threads; tokens/s as DESIGN.md defines it, and the ratio.

    python bench/engine.py [--events 100000] [--lanes 1,4,16] [--tokens 128] [--runs 5]

Targets: engine overhead ≤ 10 µs per event; gguf backend ≥ 0.97× the bare loop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time

from backends.base import Message, Params, ProviderConfig, Request
from backends.local import embedded_gguf
from backends.scripted import ScriptedBackend
from playground.api import compare
from playground.engine import LaneSpec, Run
from playground.runtime import Runtime
from playground.settings import Settings

PROMPT = "Write a short paragraph about espresso."


def runtime() -> Runtime:
    home = tempfile.mkdtemp(prefix="bench-engine-")
    return Runtime(Settings.load(env={"PLAYGROUND_HOME": home}, cwd=home))


async def bare(lanes: int, per_lane: int) -> float:
    backend = ScriptedBackend(ProviderConfig(name="test"))
    request = Request(f"chunks={per_lane}", (Message("user", "hi"),), Params())

    async def drain() -> None:
        async for _ in backend.stream(request):
            pass

    t = time.perf_counter()
    await asyncio.gather(*(drain() for _ in range(lanes)))
    return time.perf_counter() - t


async def through_engine(rt: Runtime, lanes: int, per_lane: int) -> float:
    specs = [LaneSpec(f"test:chunks={per_lane}", (Message("user", "hi"),), Params(max_tokens=per_lane))
             for _ in range(lanes)]
    t = time.perf_counter()
    async for _ in Run(rt, specs).events():
        pass
    return time.perf_counter() - t


async def overhead(events: int, lane_counts: list[int], runs: int) -> None:
    rt = runtime()
    print(f"(a) engine overhead, {events:,} deltas in all, median of {runs} runs")
    print(f"{'lanes':>6} {'bare µs/ev':>11} {'engine µs/ev':>13} {'overhead µs/ev':>15} {'ratio':>6}")
    for lanes in lane_counts:
        per_lane = events // lanes
        n = per_lane * lanes
        b = statistics.median([await bare(lanes, per_lane) for _ in range(runs)])
        e = statistics.median([await through_engine(rt, lanes, per_lane) for _ in range(runs)])
        print(f"{lanes:>6} {b / n * 1e6:>11.2f} {e / n * 1e6:>13.2f} {(e - b) / n * 1e6:>15.2f} {e / b:>6.2f}")


def bare_llama_rate(tokens: int, threads: int) -> tuple[float, float]:
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(embedded_gguf()), n_ctx=4096, n_threads=threads,
                          n_threads_batch=threads, verbose=False)
    rates, ttfts = [], []
    for _ in range(3):
        llm.reset()
        t0 = time.perf_counter()
        stamps, parts = [], []
        for chunk in llm.create_chat_completion([{"role": "user", "content": PROMPT}], stream=True,
                                                temperature=0.0, seed=1, max_tokens=tokens):
            text = chunk["choices"][0]["delta"].get("content")
            if text:
                stamps.append(time.perf_counter())
                parts.append(text)
        n = len(llm.tokenize("".join(parts).encode(), add_bos=False, special=False))
        rates.append((n - 1) / (stamps[-1] - stamps[0]))
        ttfts.append((stamps[0] - t0) * 1000)
    del llm
    return statistics.median(rates), statistics.median(ttfts)


async def backend_rate(tokens: int) -> tuple[float, float]:
    rt = runtime()
    try:
        rates, ttfts = [], []
        for _ in range(4):
            doc = await compare(PROMPT, ["gguf:smollm2"], runtime=rt, temperature=0.0, seed=1,
                                max_tokens=tokens)
            m = doc["turns"][0]["outputs"][0]["metrics"]
            rates.append(m["tokens_per_s"])
            ttfts.append(m["ttft_ms"])
        return statistics.median(rates[1:]), statistics.median(ttfts[1:])  # first run loads
    finally:
        await rt.aclose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--lanes", default="1,4,16")
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skip-gguf", action="store_true")
    args = ap.parse_args()
    asyncio.run(overhead(args.events, [int(x) for x in args.lanes.split(",")], args.runs))
    if args.skip_gguf:
        return
    threads = os.cpu_count() or 1
    print(f"\n(b) gguf backend vs bare llama-cpp-python, SmolLM2 Q4_1, {args.tokens} tokens, "
          f"temperature 0, {threads} threads, median of 3")
    bare_rate, bare_ttft = bare_llama_rate(args.tokens, threads)
    ours_rate, ours_ttft = asyncio.run(backend_rate(args.tokens))
    print(f"bare loop:     {bare_rate:7.1f} tok/s   TTFT {bare_ttft:6.1f} ms")
    print(f"gguf backend:  {ours_rate:7.1f} tok/s   TTFT {ours_ttft:6.1f} ms")
    print(f"ratio:         {ours_rate / bare_rate:7.3f}×")


if __name__ == "__main__":
    main()
