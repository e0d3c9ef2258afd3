"""Benchmark (not a test): local lanes and the CPU budget.

SmolLM2 in llama.cpp (gguf) and in transformers (hf): each alone, then both in one comparison in
turns mode (the default) and in shared mode. Prints each lane's decode rate and TTFT against its
solo figure. Targets (turns mode): each lane within 3% of its solo tokens/s and within 10% of its
solo TTFT (TTFT excludes the queue wait by definition).

    python bench/local.py [--tokens 64] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

# bench/ is sys.path[0] when a script runs, and bench/storage.py would shadow the storage package
sys.path[0:1] = [str(Path(__file__).resolve().parent.parent)]

from backends.base import Params
from playground.api import Comparison
from playground.engine.runtime import Runtime
from playground.settings import Settings

PROMPT = "Write a short paragraph about espresso."
LANES = ["gguf:smollm2", "hf:smollm2"]


async def run(rt: Runtime, models: list[str], tokens: int) -> list[dict]:
    comp = Comparison(rt, models, PROMPT, params=Params(temperature=0.0, seed=1, max_tokens=tokens))
    async for _ in comp.events():
        pass
    outs = comp.document["turns"][0]["outputs"]
    for o in outs:
        if o["status"] != "ok":
            raise SystemExit(f"{o['model']} failed: {o['error']}")
    return [o["metrics"] for o in outs]


def med(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


async def main_async(tokens: int, runs: int) -> None:
    home = tempfile.mkdtemp(prefix="bench-local-")
    rt = Runtime(Settings.load(env={"PLAYGROUND_HOME": home}, cwd=home))
    try:
        await run(rt, LANES, 4)  # load both models (load time is not what this measures)
        # rounds interleave every setting, so a burst of load elsewhere hits them alike
        solo: dict[str, list[dict]] = {m: [] for m in LANES}
        modes: dict[str, dict[str, list[dict]]] = {mode: {m: [] for m in LANES} for mode in ("turns", "shared")}
        for _ in range(runs):
            for m in LANES:
                solo[m].append((await run(rt, [m], tokens))[0])
            for mode in modes:
                rt.cpu.mode = mode
                for m, row in zip(LANES, await run(rt, LANES, tokens), strict=True):
                    modes[mode][m].append(row)
            rt.cpu.mode = "turns"
        print(f"SmolLM2-135M, {tokens} tokens, temperature 0, {rt.cpu.cores} cores, median of {runs}")
        print(f"{'lane':<14} {'mode':<7} {'tok/s':>7} {'× solo':>7} {'TTFT ms':>8} {'× solo':>7} "
              f"{'queue ms':>9} {'threads':>8}")
        for m in LANES:
            s_rate, s_ttft = med(solo[m], "tokens_per_s"), med(solo[m], "ttft_ms")
            print(f"{m:<14} {'solo':<7} {s_rate:>7.1f} {1:>7.3f} {s_ttft:>8.0f} {1:>7.3f} "
                  f"{med(solo[m], 'queue_ms'):>9.0f} {solo[m][0]['contention']['threads']:>8}")
            for mode, per_lane in modes.items():
                rows = per_lane[m]
                rate, ttft = med(rows, "tokens_per_s"), med(rows, "ttft_ms")
                print(f"{'':<14} {mode:<7} {rate:>7.1f} {rate / s_rate:>7.3f} {ttft:>8.0f} "
                      f"{ttft / s_ttft:>7.3f} {med(rows, 'queue_ms'):>9.0f} "
                      f"{rows[0]['contention']['threads']:>8}")
    finally:
        await rt.aclose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    asyncio.run(main_async(args.tokens, args.runs))


if __name__ == "__main__":
    main()
