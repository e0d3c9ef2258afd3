"""Token-probability storage benchmark (not a test): save and export of an 8-lane session whose
answers are 2,000 tokens each with K = 20 alternatives per token, against the same session without
probabilities.

    python bench/tokens_storage.py [--runs 5] [--top-k 20]

SQLite in a temporary directory. Tokens come from a 3,000-word vocabulary with logprobs rounded to
4 decimals, as the engine records them (backends/base.py TokenProb). Prints medians in ms and the
size of one output's packed `tokens` column against its JSON text.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage import Store  # noqa: E402
from storage.codec import dumps, pack_tokens  # noqa: E402

LANES, TOKENS = 8, 2000


def _output(rng: random.Random, words: list[str], k: int, with_tokens: bool) -> dict:
    picked = rng.choices(words, k=TOKENS)
    text = "".join(picked)
    out = {
        "model": "gguf:smollm2", "label": None, "params": {"temperature": 0.7, "logprobs": k},
        "text": text, "status": "ok", "error": None, "finish_reason": "length",
        "metrics": {"ttft_ms": 50.0, "total_ms": 9000.0, "output_tokens": TOKENS, "estimated": []},
        "server_metrics": {},
        "timeline": [[round(50.0 + 4.5 * i, 1), len(w)] for i, w in enumerate(picked)],
    }
    if with_tokens:
        out["logprobs"] = {"top_k": k, "kind": "raw"}
        out["tokens"] = [[w, round(-rng.random() * 3, 4),
                          [[a, round(-rng.random() * 6, 4)] for a in rng.sample(words, k)]] for w in picked]
    return out


def _median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top-k", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(13)
    words = [" " + "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(3000)]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.db")
        try:
            print(f"{LANES} lanes x {TOKENS} tokens, K={args.top_k}, SQLite, median of {args.runs} (ms)")
            print("| | save | export | import |\n|---|---|---|---|")
            for label, with_tokens in (("without tokens", False), ("with tokens", True)):
                final = [_output(rng, words, args.top_k, with_tokens) for _ in range(LANES)]
                running = [{**o, "text": "", "timeline": [], "status": "running", "tokens": []}
                           if with_tokens else {**o, "text": "", "timeline": [], "status": "running"}
                           for o in final]
                saved: list[str] = []

                def save(final=final, running=running, saved=saved) -> None:
                    sid = store.create_session(title="bench tokens", system=None)
                    store.start_turn(sid, prompt="go on", outputs=running)
                    store.update_outputs(sid, 0, dict(enumerate(final)))
                    saved.append(sid)

                save_ms = _median_ms(save, args.runs)
                export_ms = _median_ms(lambda saved=saved: store.export_document(saved[0]), args.runs)
                doc = store.export_document(saved[0])
                assert doc["turns"][0]["outputs"][0].get("tokens") == final[0].get("tokens")
                import_ms = _median_ms(lambda doc=doc: store.import_document(
                    {**doc, "id": _fresh_id(store)}), args.runs)
                print(f"| {label} | {save_ms} | {export_ms} | {import_ms} |")
            tokens = final[0]["tokens"]
            print(f"one output's tokens: packed {len(pack_tokens(tokens)):,} bytes, "
                  f"JSON {len(dumps(tokens).encode()):,} bytes")
        finally:
            store.close()


def _fresh_id(store: Store) -> str:
    from ulid import ULID  # the store's own ids

    return str(ULID())


if __name__ == "__main__":
    main()
