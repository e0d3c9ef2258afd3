"""Benchmark (not a test): many clients on the page's API at once, and what gets saved.

N concurrent clients, each running comparisons of 4 lanes one after another through ``/compare``
(plain HTTP on Gradio's call API, ``playground.testing.load``), against 4 scripted OpenAI-protocol
servers in a process of their own, one per lane, streaming 10 chunks over 0.2/0.4/0.6/0.8 s
(``--paces``: lanes that end apart, so clients see some end while others stream). The page runs
in its own process (``playground.web.serve.start``, a fresh database per level), so its CPU time
and memory are its own. Every run is checked: each lane read back from the database (by a store
of the bench's own, as the CLI would) when a frame first shows it ended, and again after the done
frame. Prints per level: lanes left ``running``, chunks lost, lanes saved wrong, lanes seen ended
before saved, p50/p95 completion (call to done frame), the page's CPU (seconds and cores) and RSS
(peak, and at the end), and the load average of the machine; writes them to bench/results/load.json.

    python bench/load.py [--clients 10,20,50] [--runs 3] [--paces 0.2,0.4,0.6,0.8] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo's storage/, not bench/storage.py

from playground.testing.load import CHUNKS, lane_models, load  # noqa: E402
from storage import Store  # noqa: E402

SERVERS = """
import sys
from playground.testing import Reply, ScriptedServer
from playground.testing.load import CHUNKS
paces = {paces!r}
servers = [ScriptedServer().start() for _ in paces]
for server, seconds in zip(servers, paces):
    server.default = Reply(chunks=CHUNKS, delay=seconds / len(CHUNKS))
print(" ".join(s.base_url("openai") for s in servers), flush=True)
sys.stdin.read()
"""

PAGE = """
import sys
from pathlib import Path
from playground.testing import free_port
from playground.testing.load import lane_settings
from playground.web.serve import start, stop
settings = lane_settings(Path(sys.argv[1]), sys.argv[2].split(), sys.argv[3] or None)
demo, ctx, url = start(settings, port=free_port())
print(url, flush=True)
sys.stdin.read()
stop(demo, ctx)
"""


def spawn(code: str, *args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline().strip() if proc.stdout else ""
    if not line:
        proc.kill()
        raise SystemExit(f"a helper process did not start (exit {proc.wait()})")
    return proc, line


def end(proc: subprocess.Popen[str]) -> None:
    if proc.stdin:
        proc.stdin.close()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> tuple[float, float]:
    """(peak, current) resident memory of a process, MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            values[name] = int(rest.split()[0]) / 1024
    return values["VmHWM"], values["VmRSS"]


def fresh_database(postgres: str | None, clients: int) -> str:
    if not postgres:
        return ""
    from playground.testing.postgres import fresh_schema_url

    return fresh_schema_url(postgres, f"bench_load_{clients}")


def level(clients: int, runs: int, urls: str, postgres: str | None) -> dict[str, float]:
    home = tempfile.mkdtemp(prefix="bench-load-")
    database = fresh_database(postgres, clients)
    page, url = spawn(PAGE, home, urls, database)
    reader = Store.open(database or None, home=Path(home))
    try:
        models = lane_models(len(urls.split()))
        asyncio.run(load(url, models, clients=1, runs=1, store=reader))  # warm: first calls, pools
        cpu0, t0 = cpu_s(page.pid), time.perf_counter()
        report = asyncio.run(load(url, models, clients=clients, runs=runs, store=reader))
        wall, cpu = time.perf_counter() - t0, cpu_s(page.pid) - cpu0
        peak, now = rss_mb(page.pid)
    finally:
        reader.close()
        end(page)
    for error in report.errors[:5]:
        print(f"  error: {error}")
    load1, load5, _ = os.getloadavg()
    row = {"clients": clients, "runs": len(report.runs), "lanes": report.lanes, "running": report.lanes_running,
           "lost": report.chunks_lost, "wrong": report.lanes_wrong, "unsaved": report.seen_unsaved,
           "p50_s": report.percentile(50), "p95_s": report.percentile(95), "wall_s": wall, "cpu_s": cpu,
           "cores": cpu / wall, "rss_peak_mb": peak, "rss_mb": now, "load1": load1, "load5": load5}
    print(f"{clients:>7} {len(report.runs):>5} {report.lanes:>6} {report.lanes_running:>8} {report.chunks_lost:>6}"
          f" {report.lanes_wrong:>6} {report.seen_unsaved:>8} {row['p50_s']:>7.2f} {row['p95_s']:>7.2f}"
          f" {wall:>7.1f} {cpu:>7.1f} {cpu / wall:>6.2f} {peak:>7.0f} {now:>7.0f}   {load1:.1f} / {load5:.1f}",
          flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", default="10,20,50", help="concurrent clients per level, comma-separated")
    ap.add_argument("--runs", type=int, default=3, help="comparisons per client, one after another")
    ap.add_argument("--paces", default="0.2,0.4,0.6,0.8", help="seconds each lane's server takes to stream its chunks")
    ap.add_argument("--postgres", default=None, help="a PostgreSQL URL (default: SQLite in a temporary home)")
    ap.add_argument("--out", type=Path, default=Path("bench/results/load.json"))
    args = ap.parse_args()
    paces = [float(p) for p in args.paces.split(",")]
    servers, urls = spawn(SERVERS.format(paces=paces))
    try:
        print(f"{len(paces)} lanes × {len(CHUNKS)} chunks over {', '.join(map(str, paces))} s; {args.runs} runs per client; "
              f"{'PostgreSQL' if args.postgres else 'SQLite'}; {os.cpu_count()} CPUs")
        print(f"{'clients':>7} {'runs':>5} {'lanes':>6} {'running':>8} {'lost':>6} {'wrong':>6} {'unsaved':>8}"
              f" {'p50 s':>7} {'p95 s':>7} {'wall s':>7} {'CPU s':>7} {'cores':>6} {'RSS pk':>7} {'RSS MB':>7}"
              f"   load 1/5 min")
        rows = [level(clients, args.runs, urls, args.postgres) for clients in map(int, args.clients.split(","))]
    finally:
        end(servers)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"database": "postgresql" if args.postgres else "sqlite", "paces": paces,
                                    "levels": rows}, indent=2))


if __name__ == "__main__":
    main()
