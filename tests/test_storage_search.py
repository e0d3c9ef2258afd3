"""Full-text search over prompts and answers, with model and date filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import Store
from storage.search import fts5_query


@pytest.fixture
def searchable(store: Store, output) -> dict[str, str]:
    base = datetime(2026, 3, 1, tzinfo=UTC)
    made = {}
    for day, (title, prompt, answer, model) in enumerate([
        ("espresso", "What are the features of great espresso?", "Crema, body and sweetness.", "gguf:smollm2"),
        ("tea", "How long should green tea steep?", "About two minutes at 80 °C.", "openai:gpt-4o"),
        ("code", "Explain c++ move semantics", "Moving steals the resources of an rvalue.", "gguf:smollm2"),
        ("coffee", "Pour-over or espresso?", "Pour over brings out fruity notes.", "openai:gpt-4o"),
    ]):
        sid = store.create_session(title=title, system=None, created_at=base + timedelta(days=day))
        store.start_turn(sid, prompt=prompt, outputs=[output(answer, model=model)])
        made[title] = sid
    return made


def _titles(rows: list[dict]) -> list[str]:
    return [r["title"] for r in rows]


def test_words_in_prompts_and_answers_newest_first(store: Store, searchable) -> None:
    assert _titles(store.search("espresso")) == ["coffee", "espresso"]
    assert _titles(store.search("sweetness")) == ["espresso"]  # only in the answer
    assert _titles(store.search("steeping")) == ["tea"]  # stemmed
    assert _titles(store.search("espresso crema")) == ["espresso"]  # every word, anywhere in the session
    assert _titles(store.search("the espresso")) == ["coffee", "espresso"]  # stop words do not empty it
    assert store.search("nothing-like-this") == []
    assert store.search("   ") == []


def test_results_carry_a_summary_and_a_snippet(store: Store, searchable) -> None:
    [hit] = store.search("sweetness")
    assert hit["id"] == searchable["espresso"] and hit["models"] == ["gguf:smollm2"] and hit["turns"] == 1
    assert "**sweetness**" in hit["snippet"]
    [hit] = store.search("green")
    assert "**green**" in hit["snippet"] and "steep" in hit["snippet"]


def test_phrases_and_odd_characters(store: Store, searchable) -> None:
    assert _titles(store.search('"fruity notes"')) == ["coffee"]
    assert store.search('"notes fruity"') == []
    assert _titles(store.search("c++ move")) == ["code"]
    for odd in ('"', "AND", "-", "*", "NEAR(", "a:b", "'; DROP TABLE sessions; --"):
        store.search(odd)  # never a syntax error
    assert len(store.list_sessions()) == 4


def test_filters_by_model_and_date(store: Store, searchable) -> None:
    assert _titles(store.search("espresso", model="openai:gpt-4o")) == ["coffee"]
    assert _titles(store.search("espresso", until="2026-03-02T00:00:00Z")) == ["espresso"]
    assert _titles(store.search("espresso", since=datetime(2026, 3, 2))) == ["coffee"]
    assert _titles(store.search("espresso", limit=1)) == ["coffee"]


def test_the_index_follows_flushes_and_deletes(store: Store, output) -> None:
    sid = store.create_session(title="live", system=None)
    store.start_turn(sid, prompt="p", outputs=[output("first draft", status="running")])
    assert _titles(store.search("draft")) == ["live"]
    store.update_output(sid, 0, 0, output("final wording"))
    assert store.search("draft") == [] and _titles(store.search("wording")) == ["live"]
    store.delete_session(sid)
    assert store.search("wording") == []


def test_fts5_query_quotes_every_term() -> None:
    assert fts5_query('c++ "fruity notes" NEAR') == '"c" "fruity notes" "NEAR"'
    assert fts5_query("-- ; *") is None
