"""The session document's types (storage/document.py) against documents real runs produced.

tests/data/sessions/ holds one export of every kind a run makes (multi-turn, repeat with a warm-up,
error, cancelled, interrupted, blind with a human vote, judged), recorded with the scripted `test:`
model by tests/data/sessions/record.py. Each must read into the types and write back as the very
same JSON, pass import, and survive a store's import → export → types unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storage import Store
from storage.document import Output, Session, Turn
from storage.schema import validate

SESSIONS = Path(__file__).parent / "data" / "sessions"
KINDS = sorted(p.stem for p in SESSIONS.glob("*.json"))


def _text(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def test_every_kind_is_stored() -> None:
    assert KINDS == ["blind_vote", "cancelled", "error", "interrupted", "judged", "multi_turn", "repeat"]
    statuses = {o["status"] for k in KINDS for t in json.loads((SESSIONS / f"{k}.json").read_text())["turns"]
                for o in t["outputs"]}
    assert statuses == {"ok", "error", "cancelled", "interrupted"}


@pytest.mark.parametrize("kind", KINDS)
def test_export_types_json_is_identical(kind: str, store: Store) -> None:
    text = (SESSIONS / f"{kind}.json").read_text("utf-8")
    doc = json.loads(text)
    validate(doc)
    assert _text(Session.of(doc).to_json_dict()) == text
    sid = store.import_document(text)
    again = store.export_document(sid)
    assert _text(Session.of(again).to_json_dict()) == text


def test_number_kinds_extras_and_absent_fields_are_kept() -> None:
    doc = json.loads((SESSIONS / "error.json").read_text("utf-8"))
    out = doc["turns"][0]["outputs"][0]
    out.update(timeline=[[41, 3], [41.5, 3], [50, 3], [50.0, 3]], later_field={"x": [1, 2.0]})
    out["metrics"].update(ttft_ms=41, total_ms=50.0, prompt_cache_hit=True)
    del out["metrics"]["queue_ms"]
    validate(doc)
    assert json.dumps(Session.of(doc).to_json_dict()) == json.dumps(doc)


def test_the_rules_readers_share() -> None:
    repeat = Session.of(json.loads((SESSIONS / "repeat.json").read_text("utf-8")))
    turn = repeat.last_turn
    assert isinstance(turn, Turn) and len(turn.outputs) == 8
    assert [(o.repeat, o.warmup) for o in turn.counted] == [(1, None), (1, None), (2, None), (2, None),
                                                            (3, None), (3, None)]
    lanes = turn.lanes()
    assert [[o.repeat for o in runs] for runs in lanes] == [[0, 1, 2, 3], [0, 1, 2, 3]]
    assert [o.model for o in (lanes[0][0], lanes[1][0])] == repeat.models()
    first = turn.lane_output(1)
    assert isinstance(first, Output) and (first.repeat, first.counted) == (1, True)  # the warm-up aside
    assert turn.lane_output(2) is None

    multi = Session.of(json.loads((SESSIONS / "multi_turn.json").read_text("utf-8")))
    assert multi.last_turn is multi.turns[1] and multi.last_turn.prompt == "And another?"
    assert Session.of({**json.loads((SESSIONS / "error.json").read_text()), "turns": []}).last_turn is None

    voted = Session.of(json.loads((SESSIONS / "judged.json").read_text("utf-8")))
    assert voted.votes and voted.votes[0].judge and voted.votes[0].judge.model.startswith("test:")


def test_every_document_import_accepts_reads_into_the_types_and_back_unchanged() -> None:
    """Import's rules (the generated schema and storage/schema.py) and the types agree: whatever
    passes import — hostile documents from tests/test_storage_property.py — reads into `Session` and
    writes back as the same JSON (up to key order), so a reader of typed fields never meets a document it cannot read."""
    from hypothesis import HealthCheck, given, settings
    from test_storage_property import hostile_documents

    from storage import ImportRejected
    from storage.plain import parse

    accepted = 0

    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(case=hostile_documents())
    def check(case: tuple[str, object]) -> None:
        nonlocal accepted
        try:
            doc = parse(case[1])  # type: ignore[arg-type]
            validate(doc)
        except ImportRejected:
            return
        accepted += 1
        # keys in the types' order (hand-made documents order them freely); values and kinds the same
        assert json.dumps(Session.of(doc).to_json_dict(), sort_keys=True) == json.dumps(doc, sort_keys=True)

    check()
    assert accepted > 0
