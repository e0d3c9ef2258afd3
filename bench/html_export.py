"""HTML export benchmark (not a test): the file's size against the JSON export, and render times.

    python bench/html_export.py [--browser]

For sessions of several shapes, prints the bytes of the JSON export (`playground sessions export`,
indented), of the HTML export (`storage.html.to_html`), their ratio, the ratio of the embedded data
(the HTML less the fixed part and the rendered answers) to the JSON export, the bytes of the
answers' rendered Markdown (`answers_html`: only answers with Markdown in them), whether the HTML is
within 1.5 × the JSON export plus the fixed part (the page's template, style, script and CSP: the
HTML of a session with no turns less its embedded JSON) plus the rendered answers, and the form the
document is embedded in
(escaped JSON, or base64 where that is smaller). Also the median time to render the HTML
and to take the document back out of it (`embedded_document` + `json.loads`, what import does
before validating). Sessions are synthetic, shaped like real runs: one chunk per ~5 characters.
With --browser, also the time Chromium (Debian's, headless) takes to open each file from disk and
build the page (navigation start to the end of the load event; the page's script runs before it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.html import answers_html, embedded_document, embedding, script_json, to_html  # noqa: E402

PROSE = ("The crema forms when pressurised water emulsifies the oils of freshly ground coffee; "
         "a fine, even grind and 9 bar for about 25 seconds give the best balance. ")
MARKDOWN = ("## Brewing\n\n- **grind**: fine, even\n- *pressure*: 9 bar\n\n| dose | time |\n| --- | --- |\n"
            "| 18 g | 25 s |\n\n```python\ndef ratio(dose, out):\n    return out / dose\n```\n\n")
CODE = '<div class="card">\n  <a href="/x?a=1&b=2">link</a> &amp; <b>bold</b> if (a < b && c > d) {}\n</div>\n'


def _output(model: str, text: str, chunk: int, step_ms: float) -> dict[str, Any]:
    pieces = [text[i:i + chunk] for i in range(0, len(text), chunk)]
    return {"model": model, "label": None, "params": {"temperature": 0.0, "max_tokens": 512}, "text": text,
            "status": "ok", "error": None, "finish_reason": "stop",
            "metrics": {"ttft_ms": 212.4, "total_ms": 212.4 + step_ms * len(pieces), "queue_ms": 0.0,
                        "load_ms": 0.0, "input_tokens": 31, "output_tokens": len(pieces),
                        "tokens_per_s": 1000 / step_ms, "cost_usd": 0.0, "estimated": [],
                        "contention": {"threads": 2, "shared_with": []}},
            "server_metrics": {},
            "timeline": [[round(212.4 + step_ms * k + 0.0137 * k, 4), len(p)] for k, p in enumerate(pieces)]}


def _session(lanes: int, turns: int, text: str, chunk: int = 5) -> dict[str, Any]:
    return {"schema": "playground.session/1", "id": "01J0000000000000000000BENC", "title": "bench session",
            "created_at": "2026-01-02T03:04:05.000Z", "system": None,
            "turns": [{"prompt": f"question {t}", "created_at": "2026-01-02T03:04:05.000Z",
                       "outputs": [_output(f"openai:model-{i}", text, chunk, 9.5 + i) for i in range(lanes)]}
                      for t in range(turns)]}


SESSIONS: dict[str, dict[str, Any]] = {
    "3 lanes × 2 turns, ~600-char prose answers": _session(3, 2, PROSE * 4),
    "8 lanes × 2,000 chunks (~10,000 chars each)": _session(8, 1, (PROSE * 70)[:10_000]),
    "3 lanes, code answers (~12 % of chars are < > &)": _session(3, 1, CODE * 40),
    "3 lanes, Markdown answers (~1,000 chars: a list, a table, a fenced block)": _session(3, 1, MARKDOWN * 3),
    "1 lane, 10,000 '<' streamed 5 at a time": _session(1, 1, "<" * 10_000),
    "1 lane, 10,000 '<' in one chunk (imported, no stream)": _session(1, 1, "<" * 10_000, chunk=10_000),
    "1 lane, 10,000 chars of '</script><!--' in one chunk": _session(1, 1, ("</script><!--" * 770)[:10_000],
                                                                   chunk=10_000),
}


def _median_ms(fn: Callable[[], Any], runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _open_ms(pages: list[str]) -> list[float]:
    """Median ms to open each page from disk in Chromium, until its load event has ended."""
    from playwright.sync_api import sync_playwright

    from playground.testing.browser import CHROMIUM, CHROMIUM_ARGS

    out = []
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for k, html in enumerate(pages):
            path = Path(folder) / f"{k}.html"
            path.write_text(html, encoding="utf-8")
            times = []
            for _ in range(5):
                page.goto(path.as_uri())
                times.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
            out.append(statistics.median(times))
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browser", action="store_true", help="also time opening each file in Chromium")
    args = parser.parse_args()
    empty = {**SESSIONS["3 lanes × 2 turns, ~600-char prose answers"], "turns": []}
    fixed = len(to_html(empty).encode()) - len(script_json(empty).encode())
    print(f"fixed part (template + style + script + CSP): {fixed:,} bytes\n")
    pages = {name: to_html(doc) for name, doc in SESSIONS.items()}
    opened = dict(zip(pages, _open_ms(list(pages.values())), strict=True)) if args.browser else {}
    print("| session | JSON export | HTML | HTML / JSON | data / JSON | rendered answers "
          "| ≤ 1.5 × JSON + fixed + rendered | embedded as | render ms "
          "| read back ms |" + (" open in Chromium ms |" if opened else ""))
    print("| --- | ---: | ---: | ---: | ---: | ---: | :---: | :---: | ---: | ---: |" + (" ---: |" if opened else ""))
    for name, doc in SESSIONS.items():
        exported = (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode()
        page = pages[name]
        size = len(page.encode())
        rendered = len(answers_html(doc).encode())
        within = "yes" if size <= 1.5 * len(exported) + fixed + rendered else "**no**"
        form = "base64" if embedding(doc)[0] else "JSON"
        render = _median_ms(lambda doc=doc: to_html(doc))
        back = _median_ms(lambda page=page: json.loads(embedded_document(page)))
        print(f"| {name} | {len(exported):,} | {size:,} | {size / len(exported):.2f} "
              f"| {(size - fixed - rendered) / len(exported):.2f} | {rendered:,} | {within} | {form} "
              f"| {render:.1f} | {back:.1f} |" + (f" {opened[name]:.0f} |" if opened else ""))


if __name__ == "__main__":
    main()
