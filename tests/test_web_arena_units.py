"""The arena page's pieces without a browser: what a blind lane may show, the lineup of a blind or
battle run (a real SQLite store), the leaderboard's filters and HTML."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from playground.arena import make_vote
from playground.settings import Settings
from playground.testing.documents import output, record, session
from playground.web import arena_tab, blind_runs, lane_view
from playground.web.context import Context
from playground.web.views import LaneView
from storage import Store


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    store = Store.open(None, home=tmp_path)
    yield Context(Settings.load(env={"PLAYGROUND_HOME": str(tmp_path)}, cwd=tmp_path), None, store)
    store.close()


def test_a_blind_lane_shows_nothing_that_names_its_model() -> None:
    record = {"metrics": {"ttft_ms": 12.0, "load_ms": 900.0, "cost_usd": 0.0,
                          "contention": {"threads": 2, "shared_with": ["gguf:secret-model"]}},
              "error": {"type": "auth", "message": "401 from openai:secret-model: set OPENAI_API_KEY"}}
    named = lane_view.stats_html(record, status="error", detail="waiting for gguf:secret-model")
    assert "secret-model" in named
    shown = lane_view.stats_html(record, status="queued", detail="waiting for gguf:secret-model", blind=True)
    assert "secret-model" not in shown and "TTFT" in shown and "after the vote" in shown
    hidden = lane_view.stats_html(record, status="ok", blind=True, hide=True)
    assert "TTFT" not in hidden and "figures after the vote" in hidden


def test_earlier_turns_end_with_the_prompt_being_answered() -> None:
    html = lane_view.earlier_html([("first?", output(text="one", metrics={"ttft_ms": 5.0}))], "second?",
                             figures_shown=False)
    assert html.endswith('<div class="turn-prompt">› second?</div>') and "TTFT" not in html


def _pool_doc(ctx: Context, a: str, b: str) -> None:
    sid = ctx.store.create_session(title="t", system=None, tags=["blind"])
    out = {"model": a, "label": None, "params": {}, "text": "x", "status": "ok", "error": None,
           "finish_reason": "stop", "metrics": {}, "server_metrics": {}, "timeline": [[1.0, 1]]}
    ctx.store.start_turn(sid, prompt="q", outputs=[out, {**out, "model": b}])
    ctx.store.set_votes(sid, [make_vote(0, [0, 1], [a, b], "a")])


def test_battle_lineup_prefers_the_least_voted_pair_and_tags_the_session(ctx: Context) -> None:
    for _ in range(15):
        _pool_doc(ctx, "p:a", "p:b")
        _pool_doc(ctx, "p:a", "p:c")
    v = LaneView(battle=True, blind=True, lanes=2)
    drawn = Counter(frozenset(blind_runs.lineup(ctx, v, None, 2, "q?", None, ["p:a", "p:b", "p:c"])[0])
                    for _ in range(20))
    assert drawn == Counter({frozenset({"p:b", "p:c"}): 20})
    models, doc = blind_runs.lineup(ctx, v, None, 2, "q?", "be brief", ["p:a", "p:b", "p:c"])
    assert doc["tags"] == ["blind", "battle"] and doc["system"] == "be brief" and doc["turns"] == []


def test_blind_lineup_shuffles_the_picked_models_and_keeps_a_hidden_session(ctx: Context) -> None:
    v = LaneView(blind=True, models=["m:1", "m:2", "m:3"])
    orders = {tuple(blind_runs.lineup(ctx, v, None, 3, "q", None)[0]) for _ in range(60)}
    assert len(orders) > 1 and all(sorted(o) == ["m:1", "m:2", "m:3"] for o in orders)
    hidden = session([("q", [record("m:3"), record("m:1"), record("m:2")])], session_id="01J0000000000000000000HDN1",
                     tags=["blind"])
    models, doc = blind_runs.lineup(ctx, v, hidden, 3, "next", None)
    assert models == ["m:3", "m:1", "m:2"] and doc is hidden
    ctx.revealed.add(hidden["id"])  # once revealed, a follow-up still goes on in the session (issue 12)
    assert blind_runs.lineup(ctx, v, hidden, 3, "next", None) == (["m:3", "m:1", "m:2"], hidden)
    assert not blind_runs.runs_blind(ctx, hidden)  # ... and names its models
    assert blind_runs.lineup(ctx, v, None, 3, "next", None)[1] is not hidden  # New round: a new session


def test_leaderboard_filters_and_escaped_html(ctx: Context) -> None:
    with pytest.raises(ValueError, match="since"):
        arena_tab.filters_of("last tuesday", "", "", True, "human", "exclude")
    f = arena_tab.filters_of("2026-01-01", "", "a, b", False, "both", "tie")
    assert (f.tags, f.blind_only, f.source, f.bothbad) == (("a", "b"), False, "both", "tie")
    _pool_doc(ctx, "x:<script>", "x:plain")
    table, matrix = arena_tab.render(ctx, "", "", "", True, "human", "exclude")
    assert "&lt;script&gt;" in table and "<script>" not in table + matrix and "100%" in matrix
    empty, _ = arena_tab.render(ctx, "", "", "", True, "judge", "exclude")
    assert "No votes match" in empty


def test_history_row_of_a_hidden_session_names_no_model(ctx: Context) -> None:
    from playground.web import history

    sid = ctx.store.create_session(title="secret", system=None, tags=["blind"])
    out = {"model": "h:hidden-one", "label": None, "params": {}, "text": "x", "status": "ok", "error": None,
           "finish_reason": "stop", "metrics": {}, "server_metrics": {}, "timeline": [[1.0, 1]]}
    ctx.store.start_turn(sid, prompt="q", outputs=[out, {**out, "model": "h:hidden-two"}])
    table, ids = history.rows(ctx)
    assert ids == [sid] and table.iloc[0]["models"] == blind_runs.HIDDEN_MODELS
    assert history.model_choices(ctx) == [history.ALL_MODELS]  # "all models" only
    assert history.rows(ctx, model="h:hidden-one")[1] == []  # a filter by model would name it
    ctx.store.set_votes(sid, [make_vote(0, [0, 1], ["h:hidden-one", "h:hidden-two"], "tie")])
    assert "h:hidden-one" in history.rows(ctx)[0].iloc[0]["models"]


def test_a_hidden_session_stays_hidden_however_many_sessions_came_after(ctx: Context) -> None:
    out = {"model": "h:old-secret", "label": None, "params": {}, "text": "x", "status": "ok", "error": None,
           "finish_reason": "stop", "metrics": {}, "server_metrics": {}, "timeline": [[1.0, 1]]}
    sid = ctx.store.create_session(title="old battle", system=None, tags=["blind", "battle"],
                                   created_at="2020-01-01T00:00:00Z")
    ctx.store.start_turn(sid, prompt="q", outputs=[out, {**out, "model": "h:old-other"}])
    for k in range(1001):  # more than any "newest N" scan would look at
        ctx.store.create_session(title=f"later {k}", system=None)
    assert blind_runs.hidden_ids(ctx) == {sid}
    assert {r["model"] for r in blind_runs.visible_stats(ctx)} == set()
    ctx.store.set_votes(sid, [make_vote(0, [0, 1], ["h:old-secret", "h:old-other"], "a")])
    assert blind_runs.hidden_ids(ctx) == set()
    assert {r["model"] for r in blind_runs.visible_stats(ctx)} == {"h:old-secret", "h:old-other"}


def test_export_html_waits_for_the_vote_of_a_hidden_session(ctx: Context) -> None:
    from playground.web import history

    out = {"model": "h:html-secret", "label": None, "params": {}, "text": "x", "status": "ok", "error": None,
           "finish_reason": "stop", "metrics": {}, "server_metrics": {}, "timeline": [[1.0, 1]]}
    sid = ctx.store.create_session(title="blind html", system=None, tags=["blind"])
    ctx.store.start_turn(sid, prompt="q", outputs=[out, {**out, "model": "h:html-other"}])
    assert history.write_html(ctx, ctx.store.get_session(sid)) is None  # no file names the models
    assert history.write_html(ctx, None) is None
    ctx.store.set_votes(sid, [make_vote(0, [0, 1], ["h:html-secret", "h:html-other"], "a")])
    path = history.write_html(ctx, ctx.store.get_session(sid))
    assert path and Path(path).parent == ctx.exports and "h:html-secret" in Path(path).read_text(encoding="utf-8")
