"""Benchmark: decode speed with token probabilities on (K = 0, 5, 20) against off, same run.

Target (issue 13): on, at most 10 % slower than off; off, no different from before (off wraps
nothing: the code path is the one without probabilities). The engine class runs in this process
(``backends.gguf.LlamaEngine`` or ``backends.hf.TransformersEngine``, what a worker runs), on the
embedded SmolLM2, greedy, the same prompt and ``max_tokens``; one warm-up generation, then rounds
that alternate off, K=0, K=5, K=20 so a busy machine slows all alike. Two figures per setting:
the best round's decode rate (tokens/s between the first and the last text chunk; the least
disturbed round) and the median CPU time per generated token (``time.process_time``, all threads
of this process). On a loaded 2-core machine both swing (llama.cpp's threads spin at their
barriers when another process takes a core, and that spinning is CPU time too), so a third figure
isolates the probability code itself: its CPU time per token on this thread (``time.thread_time``,
which no other thread or process adds to) on a real logits row of the model — the engine's own code
(gguf: ``tokenprobs.row_from_logits``; hf: ``_Recorder``'s log-softmax hook and ``chosen``) — and
what that costs against the best decode rate off.

    python bench/logprobs.py --engine gguf [--max-tokens 64] [--rounds 5] [--threads 2]
    python bench/logprobs.py --engine hf
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path[0:1] = [str(Path(__file__).resolve().parent.parent)]

from backends.local import embedded_gguf  # noqa: E402

PROMPT = "Write a short story about a lighthouse keeper."
SETTINGS: list[int | None] = [None, 0, 5, 20]


def make_engine(name: str, threads: int) -> Any:
    path = embedded_gguf()
    if name == "gguf":
        from backends.gguf import LlamaEngine

        engine = LlamaEngine(n_ctx=1024, model_path=str(path))
        engine._set_threads(threads)  # noqa: SLF001 - what a request's threads would do
        return engine
    from backends.hf import TransformersEngine

    return TransformersEngine(source=str(path.parent), gguf_file=path.name)


def one(engine: Any, k: int | None, max_tokens: int, threads: int) -> tuple[float | None, float, int]:
    stamps: list[float] = []
    counted: list[int] = []

    def emit(kind: str, *payload: Any) -> None:
        if kind == "text":
            stamps.append(time.perf_counter())
        elif kind == "usage":
            counted.append(payload[1])

    request = {"messages": [{"role": "user", "content": PROMPT}], "threads": threads,
               "params": {"temperature": 0.0, "max_tokens": max_tokens, "logprobs": k, "mode": "chat"}}
    cpu = time.process_time()
    engine.generate(request, emit, lambda: False)
    cpu = time.process_time() - cpu
    n = counted[-1] if counted else len(stamps)
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0
    return ((n - 1) / span if span > 0 else None), cpu / max(n, 1) * 1000, n


def probability_cost(engine: Any, name: str, k: int, reps: int = 300) -> float:
    """Median thread CPU µs per token of the engine's probability code on a real logits row."""
    if name == "gguf":
        import numpy as np

        from backends.gguf import piece_reader
        from backends.tokenprobs import Pieces, row_from_logits

        llm = engine.llm
        row = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(llm.n_vocab(),)).copy()  # noqa: SLF001
        pieces = Pieces(piece_reader(llm))
        chosen = int(row.argmax())

        def step() -> None:
            row_from_logits(row, chosen, k, pieces.next(chosen), pieces.alone)
    else:
        from backends.hf import _Recorder

        torch = engine.torch
        ids = engine.tokenizer(PROMPT, return_tensors="pt").input_ids
        with torch.no_grad():
            logits = engine.model(ids).logits
        recorder, token = _Recorder(engine, k), torch.tensor([[int(logits[0, -1].argmax())]])

        def step() -> None:  # the forward hook's work, then the streamer's put
            recorder.pending = torch.log_softmax(logits[0, -1].double(), dim=-1)
            recorder.chosen(token)
            recorder.take()
    times = []
    for _ in range(reps):
        start = time.thread_time()
        step()
        times.append(time.thread_time() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("gguf", "hf"), default="gguf")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    engine = make_engine(args.engine, args.threads)
    one(engine, None, 8, args.threads)  # warm-up
    rates: dict[int | None, list[float]] = {k: [] for k in SETTINGS}
    cpu: dict[int | None, list[float]] = {k: [] for k in SETTINGS}
    for _ in range(args.rounds):
        for k in SETTINGS:
            rate, ms, _ = one(engine, k, args.max_tokens, args.threads)
            if rate is not None:
                rates[k].append(rate)
            cpu[k].append(ms)
    best_off, cpu_off = max(rates[None]), statistics.median(cpu[None])
    print(f"{args.engine}: SmolLM2, {args.max_tokens} tokens, {args.threads} threads, {args.rounds} rounds")
    print("| probabilities | best tok/s | vs off | median CPU ms/token | vs off |\n|---|---|---|---|---|")
    for k in SETTINGS:
        best, med = max(rates[k]), statistics.median(cpu[k])
        name = "off" if k is None else f"K={k}"
        print(f"| {name} | {best:.1f} | {best / best_off:.3f}x | {med:.2f} | {med / cpu_off:.3f}x |")
    print("| probabilities | probability code, thread CPU µs/token | share of a token at the best rate off |\n|---|---|---|")
    for k in SETTINGS[1:]:
        us = probability_cost(engine, args.engine, k)
        print(f"| K={k} | {us:.0f} | {us / 1e6 * best_off:.1%} |")
    # now: llama.cpp's teardown at exit silences fds 1 and 2 while it runs, losing a buffered table
    sys.stdout.flush()


if __name__ == "__main__":
    main()
