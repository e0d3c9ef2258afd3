"""Benchmark: the page streaming token probabilities — bytes to the page per token and page done
over the slowest lane, with probabilities off, K = 5 and K = 20 (issue 13's page figures).

Lanes are the in-process scripted model (``test:``, which streams each delta's probabilities when
asked: backends/scripted.py), so the figures are the page's own (the handler, Gradio's diffs, the
browser), not a model's. Headless Chromium (Playwright) counts the bytes on Gradio's event streams
and watches each lane's answer for its last token; the lanes' own start and end come from the
engine's stamps, as in bench/ui.py.

    python bench/page_tokens.py [--lanes 4] [--tokens 1000] [--delay-ms 3] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path[0:1] = [str(Path(__file__).resolve().parent.parent)]  # bench/ has a storage.py of its own

from playground.settings import Settings  # noqa: E402
from playground.testing import free_port  # noqa: E402
from playground.testing.browser import CHROMIUM, CHROMIUM_ARGS, EVENT_STREAM_TAP  # noqa: E402
from playground.web.serve import start, stop  # noqa: E402

WATCH = """([lanes, last]) => {
  window.__done = {};
  new MutationObserver(() => {
    for (let i = 0; i < lanes; i++) {
      const el = document.querySelector('#lane-' + i + ' .tk-view') || document.querySelector('#lane-' + i + ' .answer-md');
      if (!(i in __done) && el && el.textContent.includes(last)) __done[i] = Date.now();
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def one_run(page, ctx, url: str, lanes: int, tokens: int, top_k: int | None) -> dict:
    page.goto(url)  # not a reload: the address names the last run's session, which would open done
    page.locator(f"#lane-{lanes - 1}").wait_for()
    if top_k is not None:
        page.locator("#probs input").check()
        page.locator("#top-k input").fill(str(top_k))
    page.locator("#prompt textarea").fill("stream")
    page.wait_for_timeout(1000)
    page.evaluate(WATCH, [lanes, f"w{tokens - 1}-"])
    page.evaluate("window.__sse = []; window.__sseBytes = 0")
    jobs: list = []

    def spy() -> None:
        deadline = time.monotonic() + 30
        while not jobs and time.monotonic() < deadline:
            jobs.extend(ctx.active.values())
            time.sleep(0.002)

    watcher = threading.Thread(target=spy)
    watcher.start()
    page.locator("#run").click()
    page.wait_for_function(f"Object.keys(window.__done).length === {lanes}", timeout=300_000)
    page.locator(f"#stats-{lanes - 1}").filter(has_text="done").wait_for(timeout=60_000)
    watcher.join()
    page.wait_for_timeout(500)  # the run's last message (Gradio's completed values) arrives after the DOM
    received = page.evaluate("window.__sseBytes")
    offset = time.time() - time.perf_counter()
    states = list(jobs[0].lanes())
    begin = min(s.t0 for s in states) + offset
    slowest = max(s.t_end for s in states) + offset - begin
    page_done = max(page.evaluate("window.__done").values()) / 1000 - begin
    counted = sum(len(s.tokens) or len(s.chunks) for s in states)
    return {"bytes_per_token": round(received / counted), "ratio": round(page_done / slowest, 3),
            "slowest_lane_s": round(slowest, 2), "page_done_s": round(page_done, 2),
            "html_bytes_per_token": round(len(page.locator("#lane-0").inner_html()) / tokens)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lanes", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=1000)
    ap.add_argument("--delay-ms", type=float, default=3.0, help="the scripted model's pause before each token")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="bench-page-tokens-"))
    (home / "playground.toml").write_text(f"[defaults]\nmax_tokens = {args.tokens}\n")
    settings = Settings.load(env={"PLAYGROUND_HOME": str(home)}, cwd=home)
    # distinct ids (first_ms differs by a millisecond), one lane each
    models = [f"test:chunks={args.tokens}&delay_ms={args.delay_ms:g}&first_ms={i}&text=w{{i}}-"
              for i in range(args.lanes)]
    demo, ctx, url = start(settings, models=models, port=free_port())
    rows = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.add_init_script(EVENT_STREAM_TAP)
            page.goto(url)
            for _ in range(args.repeat):  # alternating, so the machine's load falls on every setting alike
                for name, k in (("off", None), ("K=0", 0), ("K=5", 5), ("K=20", 20)):
                    rows.setdefault(name, []).append(one_run(page, ctx, url, args.lanes, args.tokens, k))
            browser.close()
    finally:
        stop(demo, ctx)
    print(f"{args.lanes} lanes × {args.tokens} tokens, {args.delay_ms:g} ms a token; medians of {args.repeat}")
    print("| | bytes to the page / token | page done / slowest lane | slowest lane | lane HTML / token |")
    print("| --- | --- | --- | --- | --- |")
    for name, runs in rows.items():
        med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        print(f"| {name} | {med['bytes_per_token']:.0f} | {med['ratio']:.3f} | {med['slowest_lane_s']:.2f} s | "
              f"{med['html_bytes_per_token']:.0f} |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
