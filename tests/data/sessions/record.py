"""Record the stored example documents of tests/test_document_types.py with real runs:

    PYTHONPATH=. python tests/data/sessions/record.py

Each kind of session a run can produce (multi-turn, repeat with a warm-up, error, cancelled,
interrupted, blind with a human vote, judged), run against the scripted `test:` model
(backends/scripted.py) through the Python API and saved in a real SQLite store, then exported
to tests/data/sessions/<kind>.json exactly as `playground sessions export` writes it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from backends.base import Params
from playground.api import Comparison, compare
from playground.arena import make_vote
from playground.arena.blind import BLIND_TAG, record_vote
from playground.arena.judge import judge_turn
from playground.engine.run import LaneEvent
from playground.engine.runtime import Runtime
from playground.session.document import new_document
from playground.session.recorder import Recorder
from playground.settings import Settings
from storage import Store

HERE = Path(__file__).parent
A, B = "test:chunks=4&text=ab{i} ", "test:chunks=3&delay_ms=1&text=xyz{i}"


async def _saved(store: Store, rt: Runtime, prompt: str, models: list[str], **kw: Any) -> dict[str, Any]:
    return await compare(prompt, models, runtime=rt, recorder=Recorder(store), **kw)


async def record(store: Store, rt: Runtime) -> dict[str, str]:
    ids: dict[str, str] = {}
    doc = await _saved(store, rt, "Name a colour.", [A, "test:echo=1"], system="Be brief.")
    doc = await compare("And another?", [], runtime=rt, session=store.export_document(doc["id"]),
                        recorder=Recorder(store))
    ids["multi_turn"] = doc["id"]
    ids["repeat"] = (await _saved(store, rt, "Count.", [A, B], repeat=3, warmup=True, seed=7))["id"]
    ids["error"] = (await _saved(store, rt, "Fail halfway.", [A, "test:chunks=6&fail_at=3"]))["id"]

    comp = Comparison(rt, [A, "test:chunks=50&delay_ms=20"], "Stop me.", recorder=Recorder(store))
    async for ev in comp.events():
        if isinstance(ev, LaneEvent) and ev.lane == 1 and comp.output_lanes()[1].text:
            comp.cancel()
    ids["cancelled"] = comp.document["id"]

    blind = await _saved(store, rt, "Which is better?", [A, B],
                         session={**new_document("Which is better?", None), "tags": [BLIND_TAG]})
    record_vote(store, store.export_document(blind["id"]),
                make_vote(0, [0, 1], [A, B], "a", blind=True, created_at="2026-11-30T10:00:00Z"))
    ids["blind_vote"] = blind["id"]

    judged = await _saved(store, rt, "Judge these.", [A, B])
    doc = store.export_document(judged["id"])
    vote = await judge_turn(rt, doc, 0, "test:chunks=1&text=Both fine. VERDICT: B")
    record_vote(store, doc, vote)
    ids["judged"] = judged["id"]
    return ids


def interrupted(path: Path, rt: Runtime) -> str:
    """A writer that went away mid-stream: its running outputs are saved, then the store is closed
    without a final record, which marks them `interrupted` (storage/recovery.py)."""
    comp = Comparison(rt, [A, "test:chunks=40&delay_ms=5"], "Cut off.", params=Params(seed=1))

    async def run() -> list[dict[str, Any]]:
        async for _ in comp.events():
            if comp.output_lanes()[1].text:
                return [lane.record() for lane in comp.output_lanes()]
        return []

    records = asyncio.run(run())
    store = Store.open(f"sqlite:///{path}")
    sid = store.create_session(title="Cut off.", system=None)
    store.start_turn(sid, prompt="Cut off.", outputs=records)
    store.close()
    return sid


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        rt = Runtime(Settings.load(env={"PLAYGROUND_HOME": str(home)}, cwd=home))
        path = home / "record.db"
        sid = interrupted(path, rt)
        store = Store.open(f"sqlite:///{path}")
        try:
            ids = asyncio.run(record(store, rt))
            ids["interrupted"] = sid
            for kind, sid in ids.items():
                text = json.dumps(store.export_document(sid), ensure_ascii=False, indent=2)
                (HERE / f"{kind}.json").write_text(text + "\n", encoding="utf-8")
                print(kind, sid, file=sys.stderr)
        finally:
            store.close()


if __name__ == "__main__":
    main()
