"""Benchmark (not a test): fan-out scaling of the engine over real HTTP.

1, 4 and 16 lanes against local OpenAI-protocol servers (separate processes, so the servers do not
share the engine's GIL) that each stream 200 chunks over ~1 s. Reports the wall time of the whole
run against the slowest lane measured alone. Target: ≤ 1.05× + 10 ms.

    python bench/fanout.py [--lanes 1,4,16] [--servers 4] [--chunks 200] [--seconds 1.0] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

# bench/ is sys.path[0] when a script runs, and bench/storage.py would shadow the storage package
sys.path[0:1] = [str(Path(__file__).resolve().parent.parent)]

from playground.api import compare
from playground.engine.runtime import Runtime
from playground.settings import Settings
from playground.testing import free_port

SERVER = """
import sys, time
from playground.testing import Reply, ScriptedServer
server = ScriptedServer(port={port}).start()
server.default = Reply.paced({chunks}, {seconds})
while True:
    time.sleep(3600)
"""


def start_servers(n: int, chunks: int, seconds: float) -> tuple[list[subprocess.Popen], list[int]]:
    procs, ports = [], []
    for _ in range(n):
        port = free_port()
        code = SERVER.format(port=port, chunks=chunks, seconds=seconds)
        procs.append(subprocess.Popen([sys.executable, "-c", code]))
        ports.append(port)
    for port in ports:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1, trust_env=False)
                break
            except httpx.TransportError:
                time.sleep(0.1)
    return procs, ports


def make_runtime(ports: list[int]) -> Runtime:
    home = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    lines = []
    for i, port in enumerate(ports):
        lines += [f"[models.s{i}]", 'provider = "openai"', f'base_url = "http://127.0.0.1:{port}/v1"',
                  'model = "paced"', 'api_key_env = "BENCH_KEY"', ""]
    (home / "playground.toml").write_text("\n".join(lines))
    return Runtime(Settings.load(env={"PLAYGROUND_HOME": str(home), "BENCH_KEY": "k"}, cwd=home))


async def wall(rt: Runtime, models: list[str]) -> float:
    t = time.perf_counter()
    doc = await compare("go", models, runtime=rt, max_tokens=1000)
    elapsed = time.perf_counter() - t
    bad = [o for o in doc["turns"][0]["outputs"] if o["status"] != "ok"]
    if bad:
        raise SystemExit(f"a lane failed: {bad[0]['error']}")
    return elapsed


async def main_async(args: argparse.Namespace) -> None:
    procs, ports = start_servers(args.servers, args.chunks, args.seconds)
    try:
        rt = make_runtime(ports)
        await wall(rt, ["s0"])  # warm the client's connection pool and the servers
        alone = {i: statistics.median([await wall(rt, [f"s{i}"]) for _ in range(args.runs)])
                 for i in range(args.servers)}
        slowest_alone = max(alone.values())
        print(f"{args.chunks} chunks over ~{args.seconds} s per lane, {args.servers} server processes; "
              f"slowest lane alone: {slowest_alone * 1000:.0f} ms (median of {args.runs})")
        print(f"{'lanes':>6} {'wall ms':>9} {'ratio':>7} {'target ms':>10}")
        for n in [int(x) for x in args.lanes.split(",")]:
            models = [f"s{i % args.servers}" for i in range(n)]
            w = statistics.median([await wall(rt, models) for _ in range(args.runs)])
            target = 1.05 * slowest_alone + 0.010
            print(f"{n:>6} {w * 1000:>9.0f} {w / slowest_alone:>7.3f} {target * 1000:>10.0f}")
        await rt.aclose()
    finally:
        for p in procs:
            p.kill()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lanes", default="1,4,16")
    ap.add_argument("--servers", type=int, default=4)
    ap.add_argument("--chunks", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=3)
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
