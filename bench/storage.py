"""Storage benchmark (not a test): save, list, search and export timings on SQLite and PostgreSQL.

    python bench/storage.py [--postgres URL] [--sessions 10000]

Fills a fresh database with N sessions (1 turn, 4 lanes, ~60-word answers from a 3,000-word
vocabulary, spread over a year), then measures, as medians over repeated runs:

- save: one 8-lane session whose answers stream 2,000 chunks each (~10,000 characters) —
  create_session, start_turn (8 `running` outputs), then one update_outputs with the 8 final
  records; "lane by lane" makes 8 update_output calls instead (10 transactions in all);
- flush: one update_output of a lane with 1,000 chunks so far (a mid-stream save);
- list: the newest 50 sessions (and with a model filter);
- search: full-text, a rare word and a common one (and with a model filter);
- export: that 8 x 2,000-chunk session as its document; import: the same document back.

SQLite runs in a temporary directory; PostgreSQL (URL from --postgres or PLAYGROUND_TEST_POSTGRES_URL)
in a schema `bench_storage` that is dropped and re-created, then ANALYZEd after the fill. Prints a Markdown table and writes
bench/results/storage.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import (
    insert,  # noqa: E402
)
from ulid import ULID  # noqa: E402

from storage import Store  # noqa: E402
from storage.db import transaction  # noqa: E402
from storage.indexer import index_pending  # noqa: E402
from storage.rows import insert_turn  # noqa: E402
from storage.tables import SESSIONS  # noqa: E402

MODELS = ["gguf:smollm2", "hf:smollm2", "openai:gpt-4o-mini", "anthropic:claude-3-5-haiku", "ollama:llama3.2:3b",
          "groq:llama-3.1-8b-instant"]
TARGETS = {"save": 20.0, "list": 20.0, "search rare": 50.0, "search common": 50.0}


def _vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = {"".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(size * 2)}
    return sorted(words)[:size]


def _output(model: str, text: str, chunks: int, status: str = "ok") -> dict:
    size = max(1, len(text) // max(chunks, 1))
    pieces = [text[i:i + size] for i in range(0, len(text), size)] if text else []
    return {
        "model": model, "label": None, "params": {"temperature": 0.7, "max_tokens": 1024, "seed": 1},
        "text": text, "status": status, "error": None, "finish_reason": "stop" if status == "ok" else None,
        "metrics": {"ttft_ms": 120.5, "total_ms": 5310.2, "queue_ms": 0.0, "load_ms": 0.0, "input_tokens": 40,
                    "output_tokens": len(pieces), "tokens_per_s": 88.4, "cost_usd": 0.00012, "estimated": [],
                    "contention": {"threads": 4, "shared_with": []}},
        "server_metrics": {},
        "timeline": [[round(120.5 + 2.6 * i, 1), len(p)] for i, p in enumerate(pieces)],
    }


def fill(store: Store, n: int, rng: random.Random, words: list[str], batch: int = 250) -> None:
    """n sessions, written `batch` to a transaction (the store's own insert path) to fill quickly."""
    start = datetime(2025, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    weights = [1 / (rank + 1) for rank in range(len(words))]  # Zipf: a few common words, many rare ones

    def sentence(k: int) -> str:
        return " ".join(rng.choices(words, weights=weights, k=k))

    for first in range(0, n, batch):
        pending: dict[str, int] = {}
        with transaction(store.engine, write=True) as conn:
            for i in range(first, min(n, first + batch)):
                created = start + timedelta(minutes=52 * i + rng.random())
                sid = str(ULID.from_datetime(created.replace(tzinfo=UTC)))
                conn.execute(insert(SESSIONS).values(id=sid, title=sentence(4), system=None, created_at=created,
                                                     updated_at=created))
                outputs = [_output(m, sentence(60) + ".", 80) for m in rng.sample(MODELS, 4)]
                insert_turn(conn, store.specs, sid, sentence(12) + "?", created, outputs, None, pending)
        store.specs.remember(pending)


def median_ms(fn: Callable[[], object], runs: int, before: Callable[[], object] | None = None) -> float:
    times = []
    for _ in range(runs):
        if before:
            before()  # untimed
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def measure(store: Store, rng: random.Random, words: list[str], runs: int) -> dict[str, float]:
    answer = " ".join(rng.choices(words, k=2000 * 5 // 6))[: 2000 * 5]  # ~10,000 characters
    final = [_output(m, answer, 2000) for m in (MODELS * 2)[:8]]
    assert all(len(o["timeline"]) >= 2000 for o in final)
    running = [_output(o["model"], "", 0, "running") for o in final]
    saved: list[str] = []

    def save() -> None:  # the engine's path: the turn at start, every lane's final record in one flush
        sid = store.create_session(title="bench save", system=None)
        store.start_turn(sid, prompt="a long answer please", outputs=running)
        store.update_outputs(sid, 0, dict(enumerate(final)))
        saved.append(sid)

    def save_lane_by_lane() -> None:  # lanes finishing at different times: one transaction each
        sid = store.create_session(title="bench save", system=None)
        store.start_turn(sid, prompt="a long answer please", outputs=running)
        for lane, output in enumerate(final):
            store.update_output(sid, 0, lane, output)

    def save_and_index() -> None:  # ... and until the answers are in the search index (PostgreSQL: after)
        save()
        store.wait_indexed()
        extra.append(saved.pop())

    extra: list[str] = []
    # each save starts with the previous one indexed (PostgreSQL indexes after the save, off the caller's
    # path; runs end seconds apart, so a save rarely overlaps the last one's indexing)
    idle = store.wait_indexed
    figures = {"save": median_ms(save, runs, idle), "save, lane by lane": median_ms(save_lane_by_lane, runs, idle),
               "save, then indexed": median_ms(save_and_index, runs)}
    for sid in extra:  # the searches below see the same sessions as before this figure was added
        store.delete_session(sid)
    half = _output(final[0]["model"], answer[: len(answer) // 2], 1000, "running")
    figures["flush"] = median_ms(lambda: store.update_output(saved[0], 0, 0, half), runs)
    store.update_output(saved[0], 0, 0, final[0])
    common = words[0]
    rare = words[-1]
    figures["list"] = median_ms(lambda: store.list_sessions(limit=50), runs)
    figures["list, model filter"] = median_ms(lambda: store.list_sessions(limit=50, model=MODELS[2]), runs)
    figures["search rare"] = median_ms(lambda: store.search(rare), runs)
    figures["search common"] = median_ms(lambda: store.search(common), runs)
    figures["search common, model filter"] = median_ms(lambda: store.search(common, model=MODELS[2]), runs)
    figures["export"] = median_ms(lambda: store.export_document(saved[0]), runs)
    doc = store.export_document(saved[0])
    figures["import"] = median_ms(lambda: store.import_document(doc), max(3, runs // 3))
    figures["_hits common"] = len(store.search(common, limit=10_000))
    figures["_hits rare"] = len(store.search(rare, limit=10_000))
    return figures


def run(name: str, url: str, sessions: int, runs: int) -> dict[str, float]:
    rng = random.Random(7)
    words = _vocabulary(rng)
    store = Store.open(url)
    try:
        t = time.perf_counter()
        fill(store, sessions, rng, words)
        print(f"{name}: filled {sessions} sessions in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        if store.indexing.active:  # PostgreSQL, and SQLite's trigrams (storage/indexer.py)
            index_pending(store.engine)  # the fill wrote answers with the store's insert, not its save
        if store.engine.dialect.name == "postgresql":
            # What autovacuum does on a live server; without statistics the planner hashes whole tables.
            with store.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        return measure(store, rng, words, runs)
    finally:
        store.close()


def postgres_schema_url(url: str, schema: str = "bench_storage") -> str:
    from playground.testing.postgres import fresh_schema_url

    return fresh_schema_url(url, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("PLAYGROUND_TEST_POSTGRES_URL"))
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = run("SQLite", f"sqlite:///{tmp}/playground.db", args.sessions, args.runs)
    if args.postgres:
        results["PostgreSQL"] = run("PostgreSQL", postgres_schema_url(args.postgres), args.sessions, args.runs)
    names = list(results)
    print(f"\n{args.sessions} sessions; medians of {args.runs} runs; {platform.python_version()}, {platform.machine()}\n")
    print("| ms (median) | " + " | ".join(names) + " | target |")
    print("| --- |" + " ---: |" * len(names) + " ---: |")
    for key in results[names[0]]:
        if key.startswith("_"):
            continue
        cells = " | ".join(f"{results[n][key]:.1f}" for n in names)
        print(f"| {key} | {cells} | {TARGETS.get(key, '')} |")
    print("\nsearch hits (sessions): " + "; ".join(
        f"{n}: rare {results[n]['_hits rare']}, common {results[n]['_hits common']}" for n in names))
    out = Path(__file__).resolve().parent / "results" / "storage.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"sessions": args.sessions, "runs": args.runs, "results": results}, indent=2))


if __name__ == "__main__":
    main()
