"""Chatbot Arena battle files: export then import gives the same battles; Arena's own rows read."""

import json

import pytest

from playground.arena import (
    export_battles,
    import_battles,
    make_vote,
    read_battles,
    set_vote,
    votes_from_sessions,
)


def voted_session():
    doc = {
        "schema": "playground.session/1",
        "id": "01JSESSION",
        "title": "t",
        "created_at": "2026-11-26T09:00:00Z",
        "system": None,
        "tags": ["code"],
        "turns": [{"prompt": "p", "outputs": []}] * 2,
    }
    judge = {"model": "openai:gpt-4o", "rubric": "correctness", "reasoning": "B compiles"}
    for vote in (
        make_vote(0, [1, 0], ["ollama:llama3.2:3b", "gguf:smollm2"], "a", created_at="2026-11-26T09:01:00Z"),
        make_vote(
            0,
            [0, 1],
            ["gguf:smollm2", "ollama:llama3.2:3b"],
            "b",
            judge=judge,
            created_at="2026-11-26T09:02:00Z",
        ),
        make_vote(
            1,
            [0, 1, 2],
            ["gguf:smollm2", "hf:smollm2", "openai:gpt-4o"],
            "best",
            winner=2,
            blind=False,
            created_at="2026-11-26T09:03:00.250000Z",
        ),
    ):
        doc = set_vote(doc, vote)
    doc = set_vote(
        doc,
        make_vote(
            1,
            [0, 1],
            ["gguf:smollm2", "hf:smollm2"],
            "bothbad",
            judge=judge,
            created_at="2026-11-26T09:04:00Z",
        ),
    )
    return doc


def test_export_then_import_round_trips(tmp_path):
    battles = votes_from_sessions([voted_session()], source="both", blind_only=False)
    assert len(battles) == 5
    path = tmp_path / "battles.jsonl"
    assert export_battles(battles, path) == 5
    assert import_battles(path) == battles
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    first = rows[0]
    assert {k: first[k] for k in ("model_a", "model_b", "winner", "judge", "anony", "turn")} == {
        "model_a": "ollama:llama3.2:3b",
        "model_b": "gguf:smollm2",
        "winner": "model_a",
        "judge": "human",
        "anony": True,
        "turn": 1,
    }
    assert (
        first["tstamp"] == 1795683660.0 and first["session_id"] == "01JSESSION" and first["session_turn"] == 0
    )
    assert {r["winner"] for r in rows} <= {"model_a", "model_b", "tie", "tie (bothbad)"}
    assert any(r["winner"] == "tie (bothbad)" and r["judge"] == "openai:gpt-4o" for r in rows)


def test_reads_chatbot_arena_rows_as_json_lines_or_array():
    arena = {
        "question_id": "58210e39b3fd4441a2bd4a518bb44c2d",
        "model_a": "chatglm-6b",
        "model_b": "koala-13b",
        "winner": "model_b",
        "judge": "arena_user_973",
        "conversation_a": [],
        "conversation_b": [],
        "turn": 1,
        "anony": True,
        "language": "English",
        "tstamp": 1682351591.1322,
    }
    (from_lines,) = read_battles(json.dumps(arena) + "\n\n")
    (from_array,) = read_battles(json.dumps([arena]))
    assert from_lines == from_array
    assert (from_lines.source, from_lines.judge, from_lines.anony, from_lines.score_a()) == (
        "human",
        "arena_user_973",
        True,
        0.0,
    )


def test_a_bad_line_is_named():
    with pytest.raises(ValueError, match="line 2"):
        read_battles('{"model_a": "a", "model_b": "b", "winner": "tie", "tstamp": 1}\nnot json\n')
    with pytest.raises(ValueError, match="battle 1: .*winner"):
        read_battles('{"model_a": "a", "model_b": "b", "winner": "draw", "tstamp": 1}\n')
