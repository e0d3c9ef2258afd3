"""Benchmark: the CPU time of rendering a streaming answer as Markdown (``playground.web.markdown_view``),
redrawn as the page redraws a lane: the answer cut after every ``--step`` characters (about one
coalesced frame of bench/ui.py's stream), each prefix rendered with the cache of closed blocks and
rendered whole. The content is bench/ui.py's: ``--markdown`` (paragraphs, lists, code, tables) and
its default (one long line of words, one paragraph: nothing to cache).

    python bench/markdown.py [--chunks 2000] [--step 115] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path[0:1] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from ui import markdown_chunks  # noqa: E402

from playground.web.markdown_view import answer_body, render  # noqa: E402


def stream_cpu_ms(text: str, step: int, cache: bool) -> float:
    start = time.process_time()
    for end in range(step, len(text) + step, step):
        render(text[:end], cache=cache)
    return (time.process_time() - start) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=2000)
    ap.add_argument("--step", type=int, default=115, help="characters between redraws")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    contents = {"markdown": "".join(markdown_chunks(args.chunks)),
                "words": "".join(f"w{k:04d} " for k in range(args.chunks))}
    render("```python\nx = 1\n```\n")  # the lexer's one-time load is not the stream's cost
    for name, text in contents.items():
        frames = -(-len(text) // args.step)
        for cache in (True, False):
            ms = statistics.median(stream_cpu_ms(text, args.step, cache) for _ in range(args.rounds))
            print(f"{name:8s} {len(text)} chars, {frames} redraws, {'cached' if cache else 'whole '}: "
                  f"{ms:7.1f} ms CPU per lane ({ms / frames:.2f} ms a redraw)")
        body = len(answer_body(text).encode("utf-8"))
        print(f"{name:8s} answer HTML at the end: {body} bytes ({body / len(text.encode('utf-8')):.2f} × the text)")


if __name__ == "__main__":
    main()
