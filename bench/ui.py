"""Benchmark: the web page under 4 lanes × 2,000 chunks, each from its own local server at ~300
chunks/s (OpenAI protocol, ``playground.testing.ScriptedServer``), watched in headless Chromium.

Figures (targets from issue 5):
- page done / slowest lane: time until the page shows every complete answer, over the slowest
  lane's own stream time (from the request reaching its server to the lane's end) — target ≤ 1.1×
- updates/s: the handler's page updates (coalesced frames) and the updates the page applied
- app CPU share: CPU time of the bench process (the app and the scripted servers) per second
- bytes the page received on its event streams, over the bytes of the lanes' text (1.0 would be
  each character sent once)
- added TTFT: first text in the page minus the engine's first token (request arrival + ttft_ms)
  — target ≤ 100 ms; "of which handler": until the handler has built the frame with that text
  (the rest is Gradio sending it and the browser drawing it)

    python bench/ui.py [--lanes 4] [--chunks 2000] [--rate 300] [--repeat 3] [--markdown] [--out bench/results/ui.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

# bench/ holds a storage.py of its own: the repository root must come first on the path
sys.path[0:1] = [str(Path(__file__).resolve().parent.parent)]

from playground.settings import Settings  # noqa: E402
from playground.testing import ScriptedServer, free_port  # noqa: E402
from playground.testing.browser import CHROMIUM, CHROMIUM_ARGS, EVENT_STREAM_TAP  # noqa: E402
from playground.testing.frames import Reply  # noqa: E402
from playground.web.serve import start, stop  # noqa: E402

# A lane is done when its answer shows the stream's last word (unique in the text): the text comes in
# order, and a rendered answer's length is not its text's. The rendered view (.answer-md) when there
# is one, else the whole answer (a page that shows the text as it is).
WATCH = """(last) => {
  window.__t = {first: {}, done: {}, updates: 0};
  const lanes = [...Array(%d).keys()];
  const seen = {};
  new MutationObserver(() => {
    let changed = false;
    for (const i of lanes) {
      const el = document.querySelector('#lane-' + i + ' .answer-md')
        || document.querySelector('#lane-' + i + ' .html-container');
      const text = el ? el.textContent : '';
      const n = text.length;
      if (n !== seen[i]) { seen[i] = n; changed = true; }
      if (n > 0 && !(i in __t.first)) __t.first[i] = Date.now();
      if (!(i in __t.done) && text.includes(last)) __t.done[i] = Date.now();
    }
    if (changed) __t.updates += 1;
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
  return Date.now();
}"""


PRESETS = ["openai", "groq", "together", "mistral", "deepseek", "fireworks", "openrouter"]  # one server each


def markdown_chunks(n: int) -> list[str]:
    """About ``n`` chunks of 6 characters of a Markdown answer, as a model writes one: paragraphs,
    a list, a fenced code block and a table in turn, ending with a word found nowhere before."""
    blocks = [lambda k: " ".join(f"word{k}x{j}" for j in range(24)) + " with *some* `code`.\n\n",
              lambda k: "".join(f"- item {k}.{j} is **here**\n" for j in range(4)) + "\n",
              lambda k: f"```python\ndef f{k}(x):\n    return [x * i for i in range({k})]\n```\n\n",
              lambda k: f"| model | run {k} |\n| --- | ---: |\n| small | {k} |\n| large | {k * 2} |\n\n"]
    text, k = "", 0
    while len(text) < 6 * n - 20:
        text += blocks[k % len(blocks)](k)
        k += 1
    text += "The end: wEND.\n"
    return [text[i:i + 6] for i in range(0, len(text), 6)]


def environment(home: Path, servers: list[ScriptedServer]) -> dict[str, str]:
    env = {"PLAYGROUND_HOME": str(home)}
    for name, server in zip(PRESETS, servers, strict=False):
        env[f"{name.upper()}_BASE_URL"] = server.base_url("openai")
        env[f"{name.upper()}_API_KEY"] = "sk-bench-0123456789abcdef"
    return env


THINK_MS = 1000  # --think-s: from the page being ready to Run (0: Run the moment the lanes show)
HANDLER_FIRST: dict[int, float] = {}  # lane -> when the handler made the frame with its first text


def time_handler_frames() -> None:
    """Wrap the handler's frame builder: note when each lane's first text leaves the handler, so the
    added TTFT splits into the handler's part and Gradio's + the browser's."""
    from playground.web import compare

    original = compare.lane_values

    def lane_values(job, n, changed, sent, done=False):
        values = original(job, n, changed, sent, done)
        for i, text in values.texts.items():  # a frame.Frame: the answers that changed, by lane
            if i not in HANDLER_FIRST and text:
                HANDLER_FIRST[i] = time.perf_counter()
        return values

    compare.lane_values = lane_values


def watch_job(ctx, found: list) -> None:
    deadline = time.monotonic() + 30
    while not found and time.monotonic() < deadline:
        found.extend(ctx.active.values())
        time.sleep(0.002)


def one_run(page, ctx, servers: list[ScriptedServer], lanes: int, want: int, last: str) -> dict:
    for s in servers:
        s.requests.clear()
    HANDLER_FIRST.clear()
    page.reload()
    page.locator(f"#lane-{lanes - 1}").wait_for()
    page.locator("#prompt textarea").fill("stream")
    page.wait_for_timeout(THINK_MS)  # a person types before Run: the page has finished loading by then
    page.evaluate(WATCH % lanes, last)
    page.evaluate("window.__sse = []; window.__sseBytes = 0")
    jobs: list = []
    spy = threading.Thread(target=watch_job, args=(ctx, jobs))
    spy.start()
    cpu0 = time.process_time()
    page.locator("#run").click()
    try:
        page.wait_for_function(f"Object.keys(window.__t.done).length === {lanes}", timeout=180_000)
    except Exception:
        print(page.evaluate("window.__t"), [page.locator(f"#stats-{i}").inner_text() for i in range(lanes)])
        raise
    page.locator(f"#stats-{lanes - 1}").filter(has_text="done").wait_for(timeout=30_000)
    spy.join()
    cpu = time.process_time() - cpu0
    t = page.evaluate("window.__t")
    received = page.evaluate("window.__sseBytes")
    # the engine's own stamps (perf_counter, this process) put on the wall clock the browser uses
    offset = time.time() - time.perf_counter()
    states = list(jobs[0].lanes())
    outs = [st.record() for st in states]
    engine_first = [st.stamps[0] + offset for st in states]
    engine_end = [st.t_end + offset for st in states]
    begin = min(st.t0 for st in states) + offset
    page_first = [t["first"][str(i)] / 1000 for i in range(lanes)]
    page_done = max(t["done"][str(i)] / 1000 for i in range(lanes))
    slowest = max(engine_end) - begin
    flushes = jobs[0].coalescer.flushes if jobs and jobs[0].coalescer else None
    return {
        "slowest_lane_s": round(slowest, 3),
        "page_done_s": round(page_done - begin, 3),
        "ratio": round((page_done - begin) / slowest, 3),
        "handler_updates": flushes,
        "handler_updates_per_s": round(flushes / slowest, 1) if flushes else None,
        "page_updates_per_s": round(t["updates"] / slowest, 1),
        "added_ttft_ms": [round((p - e) * 1000, 1) for p, e in zip(page_first, engine_first, strict=True)],
        "of_which_handler_ms": [round((HANDLER_FIRST[i] + offset - engine_first[i]) * 1000, 1) for i in range(lanes)],
        "engine_ttft_ms": [o["metrics"]["ttft_ms"] for o in outs],
        "lane_rates_chunks_per_s": [round(len(o["timeline"]) / (o["metrics"]["total_ms"] / 1000), 1) for o in outs],
        "texts_exact": all(len(o["text"]) == want for o in outs),
        "app_cpu_share": round(cpu / slowest, 3),  # CPU seconds of this process (app + servers) per second
        "stream_kb": round(received / 1024, 1),  # what the page received, over the lanes' text
        "stream_per_text": round(received / (want * lanes), 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lanes", type=int, default=4, help="1 to 7 (one OpenAI-protocol preset per lane)")
    ap.add_argument("--chunks", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=300.0, help="chunks per second per lane")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="bench/results/ui.json")
    ap.add_argument("--think-s", type=float, default=1.0, help="pause between the page reload and Run")
    ap.add_argument("--markdown", action="store_true",
                    help="stream a Markdown answer (paragraphs, lists, code, tables) instead of one long line of words")
    ap.add_argument("--first-ms", type=float, default=0.0,
                    help="each server's time to first token (0: at once, the page's worst case)")
    args = ap.parse_args()
    global THINK_MS
    THINK_MS = round(args.think_s * 1000)
    from playwright.sync_api import sync_playwright

    chunks = markdown_chunks(args.chunks) if args.markdown else [f"w{k:04d} " for k in range(args.chunks)]
    want = sum(len(c) for c in chunks)
    last = "wEND" if args.markdown else chunks[-1].strip()  # the answer's last word, found nowhere before it
    time_handler_frames()
    servers = [ScriptedServer().start() for _ in range(args.lanes)]
    for s in servers:
        s.default = Reply(chunks=chunks, delay=1 / args.rate, first_delay=args.first_ms / 1000)
    home = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    settings = Settings.load(env=environment(home, servers), cwd=home)
    demo, ctx, url = start(settings, models=[f"{PRESETS[i]}:m{i}" for i in range(args.lanes)], port=free_port())
    runs = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.add_init_script(EVENT_STREAM_TAP)
            page.goto(url)
            for k in range(args.repeat):
                runs.append(one_run(page, ctx, servers, args.lanes, want, last))
                print(f"run {k + 1}: {json.dumps(runs[-1])}")
            browser.close()
    finally:
        stop(demo, ctx)
        for s in servers:
            s.stop()
    med = {key: statistics.median(r[key] for r in runs) for key in
           ("slowest_lane_s", "page_done_s", "ratio", "page_updates_per_s", "handler_updates_per_s",
            "stream_per_text", "app_cpu_share")}
    med["added_ttft_ms_max"] = max(max(r["added_ttft_ms"]) for r in runs)
    med["added_ttft_ms_median"] = statistics.median(x for r in runs for x in r["added_ttft_ms"])
    med["of_which_handler_ms_median"] = statistics.median(x for r in runs for x in r["of_which_handler_ms"])
    summary = {"args": vars(args), "machine": f"{platform.processor() or platform.machine()}, "
               f"{os.cpu_count()} CPUs, Python {platform.python_version()}", "median": med, "runs": runs}
    print(json.dumps(med, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
