"""Vote records on session documents, their pairs and battles, and the leaderboard filters."""

import pytest

from playground.arena import (
    VOTE_JSON_SCHEMA,
    battles_to_pairs,
    make_vote,
    set_vote,
    vote_to_battles,
    vote_to_pairs,
    votes_from_sessions,
    withdraw_vote,
)


def session(votes=None, *, sid="S1", tags=None, turns=2):
    doc = {
        "schema": "playground.session/1",
        "id": sid,
        "title": "t",
        "created_at": "2026-11-26T09:00:00Z",
        "system": None,
        "turns": [{"prompt": f"p{k}", "outputs": []} for k in range(turns)],
    }
    if tags is not None:
        doc["tags"] = tags
    if votes is not None:
        doc["votes"] = votes
    return doc


def test_two_lane_outcomes_give_scores_for_the_lane_shown_first():
    lanes, models = [1, 0], ["x:b", "x:a"]
    assert vote_to_pairs(make_vote(0, lanes, models, "a")) == [("x:b", "x:a", 1.0)]
    assert vote_to_pairs(make_vote(0, lanes, models, "b")) == [("x:b", "x:a", 0.0)]
    assert vote_to_pairs(make_vote(0, lanes, models, "tie")) == [("x:b", "x:a", 0.5)]
    assert make_vote(0, lanes, models, "b")["winner"] == 0


def test_bothbad_is_excluded_by_default_and_can_count_as_a_tie():
    vote = make_vote(0, [0, 1], ["x:a", "x:b"], "bothbad")
    assert vote_to_pairs(vote) == []
    assert vote_to_pairs(vote, bothbad="tie") == [("x:a", "x:b", 0.5)]
    (battle,) = vote_to_battles(vote)
    assert battle.winner == "tie (bothbad)"
    assert battles_to_pairs([battle]) == []
    assert battles_to_pairs([battle], bothbad="tie") == [("x:a", "x:b", 0.5)]


def test_best_of_many_beats_each_other_lane_and_keeps_display_order():
    vote = make_vote(0, [0, 1, 2], ["x:a", "x:b", "x:c"], "best", winner=1)
    assert vote_to_pairs(vote) == [("x:a", "x:b", 0.0), ("x:b", "x:c", 1.0)]
    assert [b.winner for b in vote_to_battles(vote)] == ["model_b", "model_a"]


def test_same_model_in_two_lanes_gives_no_pair():
    vote = make_vote(0, [0, 1, 2], ["x:a", "x:a", "x:b"], "best", winner=0)
    assert vote_to_pairs(vote) == [("x:a", "x:b", 1.0)]


@pytest.mark.parametrize(
    ("lanes", "models", "outcome", "winner"),
    [
        ([0, 1, 2], ["a", "b", "c"], "a", None),
        ([0, 1], ["a", "b"], "best", 5),
        ([0, 1], ["a", "b"], "tie", 0),
        ([0, 0], ["a", "b"], "a", None),
        ([0], ["a"], "tie", None),
        ([0, 1], ["a", "b"], "worse", None),
    ],
)
def test_unsound_votes_are_refused(lanes, models, outcome, winner):
    with pytest.raises(ValueError):
        make_vote(0, lanes, models, outcome, winner)


def test_a_vote_missing_a_field_is_refused_by_name():
    vote = make_vote(0, [0, 1], ["x:a", "x:b"], "a")
    del vote["blind"]
    with pytest.raises(ValueError, match="lacks blind"):
        set_vote(session(), vote)


def test_vote_can_be_changed_and_withdrawn_and_judges_are_kept_apart():
    doc = session()
    judge = {"model": "openai:gpt-4o", "rubric": "helpfulness", "reasoning": "A is right"}
    doc = set_vote(doc, make_vote(0, [0, 1], ["x:a", "x:b"], "a"))
    doc = set_vote(doc, make_vote(0, [0, 1], ["x:a", "x:b"], "b", judge=judge))
    doc = set_vote(doc, make_vote(0, [0, 1], ["x:a", "x:b"], "tie"))  # the human changes their mind
    assert [(v["outcome"], v["judge"] is None) for v in doc["votes"]] == [("b", False), ("tie", True)]
    doc = withdraw_vote(doc, 0)
    assert [v["outcome"] for v in doc["votes"]] == ["b"]
    doc = withdraw_vote(doc, 0, judge="openai:gpt-4o")
    assert "votes" not in doc  # a document never voted on, as before
    with pytest.raises(ValueError):
        set_vote(doc, make_vote(5, [0, 1], ["x:a", "x:b"], "a"))


def test_votes_validate_against_the_published_schema_fragment():
    jsonschema = pytest.importorskip("jsonschema")
    judge = {"model": "openai:gpt-4o", "rubric": "r", "reasoning": "why"}
    for vote in (
        make_vote(0, [0, 1], ["x:a", "x:b"], "a"),
        make_vote(1, [2, 0, 1], ["c", "a", "b"], "best", 0, judge=judge, blind=False),
    ):
        jsonschema.validate(vote, VOTE_JSON_SCHEMA)


def test_filters_by_date_tag_blindness_and_source():
    judge = {"model": "anthropic:claude", "rubric": "", "reasoning": ""}
    a = session(
        [
            make_vote(0, [0, 1], ["x:a", "x:b"], "a", created_at="2026-01-01T00:00:00Z"),
            make_vote(1, [0, 1], ["x:a", "x:b"], "b", blind=False, created_at="2026-02-01T00:00:00Z"),
            make_vote(1, [0, 1], ["x:a", "x:b"], "a", judge=judge, created_at="2026-02-01T00:00:00Z"),
        ],
        sid="A",
        tags=["code"],
    )
    b = session([make_vote(0, [0, 1], ["x:c", "x:d"], "tie", created_at="2026-03-01T00:00:00Z")], sid="B")
    plain = session(sid="C")  # no votes field at all
    docs = [a, b, plain]
    assert {(x.session_id, x.turn) for x in votes_from_sessions(docs)} == {("A", 0), ("B", 0)}
    assert len(votes_from_sessions(docs, blind_only=False)) == 3
    assert [x.judge for x in votes_from_sessions(docs, source="judge")] == ["anthropic:claude"]
    assert len(votes_from_sessions(docs, source="both", blind_only=False)) == 4
    assert [x.session_id for x in votes_from_sessions(docs, tags=["code"])] == ["A"]
    assert [x.session_id for x in votes_from_sessions(docs, since="2026-02-15T00:00:00Z")] == ["B"]
    assert [x.session_id for x in votes_from_sessions(docs, until="2026-03-01T00:00:00Z")] == ["A"]
