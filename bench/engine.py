"""Benchmark (not a test): what the engine and the GGUF backend cost over doing it by hand.

(a) per-event overhead: N in-process lanes (the ``test:`` model) stream 100,000 deltas in all
    through the engine vs a bare ``async for`` over the same generators; µs/event and ratio.
(b) the gguf backend's decode rate vs a bare llama-cpp-python loop on SmolLM2: same prompt,
    same settings, same threads; tokens/s as docs/architecture.md#timing defines it, and the ratio.

    python bench/engine.py [--events 100000] [--lanes 1,4,16] [--tokens 128] [--runs 5] [--rounds 12]

Targets: engine overhead ≤ 10 µs per event; gguf backend ≥ 0.97× the bare loop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# bench/ is sys.path[0] when a script runs, and bench/storage.py would shadow the storage package
sys.path[0:1] = [str(Path(__file__).resolve().parent.parent)]

from backends.base import Message, Params, ProviderConfig, Request
from backends.local import embedded_gguf
from backends.scripted import ScriptedBackend
from playground.api import compare
from playground.engine.run import LaneSpec, Run
from playground.engine.runtime import Runtime
from playground.settings import Settings

PROMPT = "Write a short paragraph about espresso."


def runtime() -> Runtime:
    home = tempfile.mkdtemp(prefix="bench-engine-")
    return Runtime(Settings.load(env={"PLAYGROUND_HOME": home}, cwd=home))


async def bare(lanes: int, per_lane: int) -> tuple[float, float]:
    backend = ScriptedBackend(ProviderConfig(name="test"))
    request = Request(f"chunks={per_lane}", (Message("user", "hi"),), Params())

    async def drain() -> None:
        async for _ in backend.stream(request):
            pass

    t, c = time.perf_counter(), time.process_time()
    await asyncio.gather(*(drain() for _ in range(lanes)))
    return time.perf_counter() - t, time.process_time() - c


async def through_engine(rt: Runtime, lanes: int, per_lane: int) -> tuple[float, float]:
    specs = [LaneSpec(f"test:chunks={per_lane}", (Message("user", "hi"),), Params(max_tokens=per_lane))
             for _ in range(lanes)]
    t, c = time.perf_counter(), time.process_time()
    async for _ in Run(rt, specs).events():
        pass
    return time.perf_counter() - t, time.process_time() - c


async def overhead(events: int, lane_counts: list[int], runs: int) -> None:
    rt = runtime()
    print(f"(a) engine overhead, {events:,} deltas in all, {runs} runs alternating bare / engine:")
    print("    wall = median elapsed; cpu = least CPU time of this process (what other work on a")
    print("    shared machine barely moves; compare versions by it)")
    print(f"{'lanes':>6} {'':>5} {'bare µs/ev':>11} {'engine µs/ev':>13} {'overhead µs/ev':>15} {'ratio':>6}")
    for lanes in lane_counts:
        per_lane = events // lanes
        n = per_lane * lanes
        bares, engines = [], []
        for _ in range(runs):
            bares.append(await bare(lanes, per_lane))
            engines.append(await through_engine(rt, lanes, per_lane))
        for label, pick, col in (("wall", statistics.median, 0), ("cpu", min, 1)):
            b, e = pick(x[col] for x in bares), pick(x[col] for x in engines)
            print(f"{lanes:>6} {label:>5} {b / n * 1e6:>11.2f} {e / n * 1e6:>13.2f} "
                  f"{(e - b) / n * 1e6:>15.2f} {e / b:>6.2f}")


class BareLlama:
    """The reference: llama-cpp-python driven by hand, in this process, same settings."""

    def __init__(self, threads: int) -> None:
        import llama_cpp

        self.llm = llama_cpp.Llama(model_path=str(embedded_gguf()), n_ctx=4096, n_threads=threads,
                                   n_threads_batch=threads, verbose=False)

    def once(self, tokens: int) -> tuple[float, float]:
        self.llm.reset()
        t0 = time.perf_counter()
        stamps, parts = [], []
        for chunk in self.llm.create_chat_completion([{"role": "user", "content": PROMPT}], stream=True,
                                                     temperature=0.0, seed=1, max_tokens=tokens):
            text = chunk["choices"][0]["delta"].get("content")
            if text:
                stamps.append(time.perf_counter())
                parts.append(text)
        n = len(self.llm.tokenize("".join(parts).encode(), add_bos=False, special=False))
        return (n - 1) / (stamps[-1] - stamps[0]), (stamps[0] - t0) * 1000


async def backend_once(rt: Runtime, tokens: int) -> tuple[float, float]:
    doc = await compare(PROMPT, ["gguf:smollm2"], runtime=rt, temperature=0.0, seed=1, max_tokens=tokens)
    m = doc["turns"][0]["outputs"][0]["metrics"]
    return m["tokens_per_s"], m["ttft_ms"]


async def gguf_vs_bare(tokens: int, rounds: int) -> None:
    """Rounds alternate bare and backend, so a burst of load elsewhere hits both alike."""
    threads = os.cpu_count() or 1
    print(f"\n(b) gguf backend vs bare llama-cpp-python, SmolLM2 Q4_1, {tokens} tokens, temperature 0, "
          f"{threads} threads, {rounds} alternating rounds")
    bare = BareLlama(threads)
    rt = runtime()
    try:
        await backend_once(rt, 4)  # load the worker (load time is not what this measures)
        b_rates, b_ttfts, o_rates, o_ttfts = [], [], [], []
        for _ in range(rounds):
            rate, ttft = bare.once(tokens)
            b_rates.append(rate)
            b_ttfts.append(ttft)
            rate, ttft = await backend_once(rt, tokens)
            o_rates.append(rate)
            o_ttfts.append(ttft)
    finally:
        await rt.aclose()
    ratios = [o / b for o, b in zip(o_rates, b_rates, strict=True)]
    med = statistics.median
    print(f"bare loop:     {med(b_rates):7.1f} tok/s (best {max(b_rates):.1f})   TTFT {med(b_ttfts):6.1f} ms")
    print(f"gguf backend:  {med(o_rates):7.1f} tok/s (best {max(o_rates):.1f})   TTFT {med(o_ttfts):6.1f} ms")
    print(f"ratio:         {med(o_rates) / med(b_rates):7.3f}× of medians, {max(o_rates) / max(b_rates):.3f}× "
          f"of bests, per-round median {med(ratios):.3f}×")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--lanes", default="1,4,16")
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--skip-gguf", action="store_true")
    args = ap.parse_args()
    asyncio.run(overhead(args.events, [int(x) for x in args.lanes.split(",")], args.runs))
    if args.skip_gguf:
        return
    asyncio.run(gguf_vs_bare(args.tokens, args.rounds))


if __name__ == "__main__":
    main()
