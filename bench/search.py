"""Search-as-you-type benchmark (not a test): the History tab's query for each prefix of a word, typed.

    python bench/search.py [--postgres URL] [--sessions 3000] [--runs 11]

Fills a fresh database with N sessions the way bench/storage.py does (1 turn, 4 lanes, ~60-word
answers from a 3,000-word Zipf vocabulary; titles are 4 words of it), then times `Store.search`
with the History tab's limit (100) for what a person types: every prefix of a common word and of a
rare one (from 2 letters), a part from inside each word (found through the trigram indexes of
migration 6), a part from the middle of a title, and a term found nowhere (which reads the most). Medians over `--runs`. The page waits ~300 ms after the last key before it asks, so a
query well under that keeps typing smooth.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage import Store  # noqa: E402
from storage.indexer import index_pending  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_storage", ROOT / "bench" / "storage.py")
bench_storage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_storage)  # its fill and timer (the file's name shadows the package)

LIMIT = 100


def queries(store: Store, words: list[str]) -> dict[str, str]:
    common, rare = words[0], max(words[-50:], key=len)
    title = store.list_sessions(limit=1, offset=len(words) // 2)[0]["title"]
    middle = max(title.split(), key=len)[1:-1]
    out = {f"common word, typed: {common[:k]}": common[:k] for k in range(2, len(common) + 1)}
    out |= {f"rare word, typed: {rare[:k]}": rare[:k] for k in range(2, len(rare) + 1)}
    out |= {f"inside a word, common: {common[1:-1]}": common[1:-1], f"inside a word, rare: {rare[2:-2]}": rare[2:-2]}
    return out | {f"inside a title: {middle}": middle, "found nowhere: qzxqj": "qzxqj", LISTED: ""}


LISTED = "(for scale: the newest 100, no search)"


def run(name: str, url: str, sessions: int, runs: int) -> dict[str, tuple[float, int]]:
    rng = random.Random(7)
    words = bench_storage._vocabulary(rng)
    store = Store.open(url)
    try:
        bench_storage.fill(store, sessions, rng, words)
        if store.indexing.active:  # the fill wrote answers with the store's insert, not its save
            index_pending(store.engine)
        if store.engine.dialect.name == "postgresql":
            with store.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        def ask(q: str) -> list:
            return store.search(q, limit=LIMIT) if q else store.list_sessions(limit=LIMIT)

        return {label: (bench_storage.median_ms(lambda q=q: ask(q), runs), len(ask(q)))
                for label, q in queries(store, words).items()}
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("PLAYGROUND_TEST_POSTGRES_URL"))
    parser.add_argument("--sessions", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = run("SQLite", f"sqlite:///{tmp}/playground.db", args.sessions, args.runs)
    if args.postgres:
        url = bench_storage.postgres_schema_url(args.postgres, "bench_search")
        results["PostgreSQL"] = run("PostgreSQL", url, args.sessions, args.runs)
    names = list(results)
    print(f"\n{args.sessions} sessions; limit {LIMIT}; medians of {args.runs} runs; "
          f"{platform.python_version()}, {platform.machine()}\n")
    print("| query | " + " | ".join(f"{n} ms | hits" for n in names) + " |")
    print("| --- |" + " ---: | ---: |" * len(names))
    for label in results[names[0]]:
        cells = " | ".join(f"{results[n][label][0]:.1f} | {results[n][label][1]}" for n in names)
        print(f"| {label} | {cells} |")


if __name__ == "__main__":
    main()
