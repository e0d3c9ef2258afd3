"""Full-text search over prompts and answers, with model and date filters."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import Store
from storage.search import fts5_query, terms


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
    assert fts5_query('c++ "fruity notes" NEAR') == '"c"* "fruity notes"* "NEAR"*'
    assert fts5_query("-- ; *") is None


# ---- as you type: prefixes of words, substrings of titles ------------------------------------------


def test_a_word_is_found_by_its_first_letters(store: Store, searchable, output) -> None:
    sid = store.create_session(title="Moon landing questions", system=None)
    store.start_turn(sid, prompt="Who walked on the Moon first?", outputs=[output("Neil Armstrong, in 1969.")])
    assert _titles(store.search("Moo")) == ["Moon landing questions"]
    assert _titles(store.search("moo")) == ["Moon landing questions"]  # any case
    assert _titles(store.search("Armstr")) == ["Moon landing questions"]  # in an answer
    assert _titles(store.search("espr")) == ["coffee", "espresso"]
    assert _titles(store.search("espr crem")) == ["espresso"]  # every term a prefix
    assert _titles(store.search('"fruity no"')) == ["coffee"]  # a phrase's last word too
    assert store.search("Moox") == []


def test_a_title_is_found_by_any_part_of_it(store: Store, searchable) -> None:
    store.create_session(title="Moon landing questions", system=None)
    assert _titles(store.search("oon")) == ["Moon landing questions"]  # inside a word
    assert _titles(store.search("andi")) == ["Moon landing questions"]
    assert _titles(store.search("spress")) == ["coffee", "espresso"]  # a title, and inside the prompt of "coffee"


def test_a_part_inside_a_word_of_an_answer_or_a_prompt_is_found(store: Store, searchable, output) -> None:
    sid = store.create_session(title="Space questions", system=None)
    store.start_turn(sid, prompt="Who walked on the Moon first?", outputs=[output("Neil Armstrong, in 1969.")])
    assert _titles(store.search("oon")) == ["Space questions"]  # inside a word of a prompt
    assert _titles(store.search("rmstro")) == ["Space questions"]  # inside a word of an answer
    assert _titles(store.search("rema")) == ["espresso"]  # "Crema", in an answer only
    assert _titles(store.search("ARMSTRONG")) == ["Space questions"]  # any case
    assert _titles(store.search("rema weet")) == ["espresso"]  # every term, each anywhere
    assert store.search("rema fruity") == []
    [hit] = store.search("rmstro")
    assert "**Armstrong**" in hit["snippet"]  # the whole word marked
    assert store.search("rm") == []  # two letters: a start of a word or a title only (no trigram)
    store.delete_session(sid)
    assert store.search("rmstro") == []  # the index follows a delete


def test_an_answer_is_found_inside_its_words_once_final(store: Store, output) -> None:
    sid = store.create_session(title="live", system=None)
    store.start_turn(sid, prompt="p", outputs=[output("first draft", status="running")])
    assert store.search("raft") == []  # still streaming: its trigrams wait for the final record
    assert _titles(store.search("draft")) == ["live"]  # a word's start is found meanwhile
    store.update_output(sid, 0, 0, output("final wording"))
    assert store.search("raft") == [] and _titles(store.search("ordin")) == ["live"]
    store.update_output(sid, 0, 0, output("reworded"))  # a final answer changed again (regenerated)
    assert store.search("ordin") == [] and _titles(store.search("worde")) == ["live"]


def test_wildcards_and_query_syntax_are_taken_literally(store: Store) -> None:
    for title in ("100% pure", "under_score", "undersore", "plain", "back\\slash", 'say "hi"', "it's"):
        store.create_session(title=title, system=None)
    assert _titles(store.search("_")) == ["under_score"]  # not LIKE's any-one-character
    assert _titles(store.search("under_")) == ["under_score"]
    assert store.search("%") == []  # no word in it: nothing, never everything
    assert _titles(store.search("100")) == ["100% pure"]
    assert _titles(store.search("slash")) == ["back\\slash"]
    assert _titles(store.search("hi")) == ['say "hi"']
    for odd in ("NEAR(a b)", "a OR b", "a:*", "!a & b", "'a' <-> 'b'", "\\", "*", "\"", "^x", "a|b"):
        store.search(odd)  # never a syntax error


TITLES = ["Moon landing", "moonlight sonata", "100% sure", "a_b c", "axb_c", "it's \"quoted\"", "NEAR OR AND",
          "back\\slash", "%_%", "plain text"]
HOSTILE = st.text(alphabet=st.sampled_from(list(string.ascii_letters[:12] + "moonMOONNEARORAND%_'\"\\*:^()&|!<>- ")),
                  max_size=24)


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(query=HOSTILE)
def test_hostile_queries_find_exactly_the_titles_holding_every_term(store: Store, query: str) -> None:
    if not store.list_sessions():
        for title in TITLES:
            store.create_session(title=title, system=None)  # no turns: only the titles can match
    found = sorted(_titles(store.search(query, limit=100)))
    words = terms(query)
    expected = sorted(t for t in TITLES if words and all(w.lower() in t.lower() for w in words))
    assert found == expected, (query, words)


def test_a_part_in_many_rows_is_found_by_reading_the_newest_sessions(store: Store, output, monkeypatch) -> None:
    """Past ``CAP`` rows a part inside words is looked for session by session (newest first), not
    collected from the index: the same sessions either way."""
    for n, answer in enumerate(["Moonlight", "a honeymoon", "no match", "MOONS"]):
        sid = store.create_session(title=f"s{n}", system=None)
        store.start_turn(sid, prompt="p", outputs=[output(answer)])
    collected = _titles(store.search("oon", limit=10))
    monkeypatch.setattr("storage.search.CAP", 1)  # every term is "found in many rows" now
    assert _titles(store.search("oon", limit=10)) == collected == ["s3", "s1", "s0"]
    assert _titles(store.search("oon", limit=2)) == ["s3", "s1"]


def test_a_final_answer_is_found_inside_its_words_before_and_after_its_trigrams_are_indexed(store: Store,
                                                                                              output) -> None:
    """The trigrams of an answer are indexed just after its save (storage/indexer.py); meanwhile
    search reads its text, so it is found the moment it is saved."""
    store.indexing.pause()
    sid = store.create_session(title="waits", system=None)
    store.start_turn(sid, prompt="p", outputs=[output("running", status="running")])
    store.update_output(sid, 0, 0, output("Moonlight sonata"))
    assert _titles(store.search("onlig")) == ["waits"]  # not indexed yet: read
    with store.engine.connect() as conn:
        waiting = ("SELECT count(*) FROM outputs_tri_pending" if store.engine.dialect.name == "sqlite"
                   else "SELECT count(*) FROM outputs WHERE search IS NULL AND status <> 'running'")
        assert conn.exec_driver_sql(waiting).scalar_one() == 1
    store.indexing.resume()
    assert store.wait_indexed(10)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql(waiting).scalar_one() == 0
    assert _titles(store.search("onlig")) == ["waits"]  # through the index now
