"""Per-lane parameters, one lane stopped, lane figures, the Stats filters and the Leaderboard's
counts, below the page (issue 12, capabilities 4, 7 and 8): the engine with the in-process
``test:`` model, the page's helpers on real records and a real SQLite store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from playground.api import Comparison
from playground.arena.votes import make_vote
from playground.engine.run import LaneEnd
from playground.engine.runtime import Runtime
from playground.settings import Settings
from playground.web import arena_tab, lane_params, lane_view, stats
from playground.web.context import Context
from playground.web.views import LaneView


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    return Runtime(Settings.load(env={"PLAYGROUND_HOME": str(tmp_path)}, cwd=tmp_path))


async def test_stopping_one_lane_leaves_the_others_running(runtime: Runtime) -> None:
    comp = Comparison(runtime, ["test:chunks=400&delay_ms=10", "test:chunks=30&delay_ms=10"], "hi")
    stopped = False
    ends: dict[int, str] = {}
    async for ev in comp.events():
        if not stopped and ev.lane == 0 and ev.event.kind == "text":
            stopped = comp.cancel_lane(0)
        if isinstance(ev.event, LaneEnd):
            ends[ev.lane] = ev.event.status
    assert stopped and ends == {0: "cancelled", 1: "ok"}
    first, second = comp.document["turns"][0]["outputs"]
    assert first["status"] == "cancelled" and 0 < first["text"].count("tok") < 400
    assert second["status"] == "ok" and second["text"].count("tok") == 30
    assert not comp.cancel_lane(0)  # nothing left to stop


async def test_each_lane_sends_and_records_its_own_system_prompt(runtime: Runtime) -> None:
    echo = "test:echo=1"
    comp = Comparison(runtime, [echo, echo, echo], "hi", system="session rule", systems=["lane rule", None, ""])
    async for _ in comp.events():
        pass
    specs = comp.runs[0].specs
    assert [m.content for m in specs[0].messages] == ["lane rule", "hi"]
    assert [m.content for m in specs[1].messages] == ["session rule", "hi"]  # None: the session's
    assert [m.role for m in specs[2].messages] == ["user"]  # "": none at all
    params = [o["params"] for o in comp.document["turns"][0]["outputs"]]
    assert params[0]["system"] == "lane rule" and "system" not in params[1] and params[2]["system"] == ""


def test_lane_errors_name_the_lane_and_say_the_range() -> None:
    boxes = ["abc", 10, "", "", "", ""]
    with pytest.raises(gr.Error, match=r"gguf:smollm2: temperature must be a number between 0 and 2, not "):
        lane_params.lane_settings(False, ("0", 10, ""), [boxes], ["gguf:smollm2"])
    for bad, said in ((["0", 10, "", "1.5", "", ""], "top_p must be a number between 0 and 1"),
                      (["0", 0, "", "", "", ""], "max tokens must be a whole number of at least 1"),
                      (["0", 10, "1.5", "", "", ""], "seed must be a whole number"),
                      (["0", 10, "", "", "a\nb\nc\nd\ne", ""], "at most 4 stop sequences")):
        with pytest.raises(gr.Error, match=f"m:x: {said}"):
            lane_params.lane_settings(False, ("0", 10, ""), [bad], ["m:x"])
    own = lane_params.lane_settings(False, ("9", 10, ""), [["0.3", 20, "7", "0.9", "END\n\n###", " be terse "]],
                                    ["m:x"])[0]
    assert own.params.to_record() == {"temperature": 0.3, "top_p": 0.9, "max_tokens": 20, "seed": 7,
                                      "stop": ["END", "###"]}
    assert own.system == " be terse "
    shared = lane_params.lane_settings(True, ("0.5", 30, ""), [["abc", 1, "", "", "", "x"]], ["m:x"])[0]
    assert shared.params.temperature == 0.5 and shared.system is None  # "same": the lane's boxes ignored


def test_lane_values_are_kept_by_model_without_re_rendering() -> None:
    v = LaneView(models=["m:a", "m:b"])
    typed = v.but(params={"m:b": {"max_tokens": 77}})
    assert hash(typed) == hash(v)  # Gradio re-renders the lanes on a changed hash: typing must not
    assert typed.but(doc=None, models=["m:b"]).params == {"m:b": {"max_tokens": 77}}  # New session keeps them
    defaults = Settings.load(env={}, cwd=Path("/nonexistent")).defaults
    assert lane_params.shown({"max_tokens": 77}, {"max_tokens": 5}, defaults) == {"max_tokens": 77}
    assert lane_params.shown(None, {"max_tokens": 5, "system": "s", "stop": ["a"]}, defaults)["stop"] == "a"


def test_figures_explain_themselves_and_a_lane_not_run_shows_nothing(output: Any) -> None:
    assert lane_view.stats_html(None, status="waiting") == ""
    starting = lane_view.stats_html({}, status="waiting")
    assert "waiting" in starting and "$?" not in starting and "TTFT" not in starting
    record = output("cut short", finish_reason="length",
                    metrics={"ttft_ms": 40.0, "total_ms": 900.0, "output_tokens": 9, "tokens_per_s": 9.5,
                             "cost_usd": None, "estimated": ["output_tokens", "tokens_per_s"]})
    html = lane_view.stats_html(record, status="ok", lane=0, best={"ttft_ms": {0}})
    assert "cut at max tokens" in html
    assert 'aria-label="TTFT 40 ms: time to first token' in html
    assert "best of the lanes on this figure" in html  # ★ explained
    assert "estimated: tokens counted with a tokenizer" in html  # ~ explained
    assert "cost unknown: no price listed" in html  # $? explained
    assert "cut at max tokens" not in lane_view.stats_html(output("ok"), status="ok")


def _row(model: str, at: str) -> dict[str, Any]:
    return {"model": model, "status": "ok", "ttft_ms": 10.0, "tokens_per_s": 5.0, "cost_usd": None,
            "created_at": at, "session_id": "s"}


def test_stats_leave_out_scripted_models_and_filter_by_model_and_date() -> None:
    rows = [_row("test:chunks=3", "2026-01-02T00:00:00.000Z"), _row("gguf:smollm2", "2026-01-02T10:00:00.000Z"),
            _row("openai:gpt", "2026-02-01T00:00:00.000Z")]
    assert [r["model"] for r in rows if stats.filter_of(False, [], "", "").keeps(r)] == ["gguf:smollm2", "openai:gpt"]
    assert len([r for r in rows if stats.filter_of(True, [], "", "").keeps(r)]) == 3
    picked = stats.filter_of(False, ["openai:gpt"], "", "")
    assert [r["model"] for r in rows if picked.keeps(r)] == ["openai:gpt"]
    january = stats.filter_of(True, [], "2026-01-02", "2026-01-03")
    assert [r["model"] for r in rows if january.keeps(r)] == ["test:chunks=3", "gguf:smollm2"]
    with pytest.raises(ValueError, match="since: use a date like 2026-01-31"):
        stats.filter_of(False, [], "yesterday", "")
    assert stats.model_choices(rows, False) == ["gguf:smollm2", "openai:gpt"]


def test_leaderboard_header_counts_the_games_its_table_counts(tmp_path: Path) -> None:
    from playground.session.recorder import open_store

    settings = Settings.load(env={"PLAYGROUND_HOME": str(tmp_path)}, cwd=tmp_path)
    store = open_store(settings)
    ctx = Context(settings, Runtime(settings), store)
    outcomes = ["a", "a", "b", "tie", "bothbad"]
    for k, outcome in enumerate(outcomes):
        sid = store.create_session(title=f"s{k}", system=None)
        out = {"model": "m:a", "label": None, "params": {}, "text": "x", "status": "ok", "error": None,
               "finish_reason": "stop", "metrics": {}, "server_metrics": {}, "timeline": [[1.0, 1]]}
        store.start_turn(sid, prompt="q", outputs=[out, {**out, "model": "m:b"}])
        store.set_votes(sid, [make_vote(0, [0, 1], ["m:a", "m:b"], outcome, blind=False)])
    table, _ = arena_tab.render(ctx, "", "", "", False, "human", "exclude")
    assert "4 game(s) rated, 1 both-bad battle(s) left out" in table  # the table's W-T-L: 2-1-1 and 1-1-2
    assert "2-1-1" in table and "1-1-2" in table
    counted, _ = arena_tab.render(ctx, "", "", "", False, "human", "tie")
    assert "5 game(s) rated" in counted and "left out," not in counted
    store.close()
