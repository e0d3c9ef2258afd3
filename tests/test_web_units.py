"""The page's pure parts: the coalescer, the coalesced handler driven by a fast in-process event
source, lane HTML (escaping), word diff, replay schedule, stats, and the exposure checks of serve."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pytest

from backends.base import Loading, Started, TextDelta
from playground.engine.run import LaneEnd, LaneEvent
from playground.settings import Settings
from playground.testing.documents import output
from playground.web import lane_view, stats
from playground.web.coalesce import FLUSH_S, Coalescer
from playground.web.compare import Job, lane_values, page_frames, resend_unchanged
from playground.web.diff import word_diff_html
from playground.web.frame import KEEP, Frame
from playground.web.replay import Replay, schedule
from playground.web.serve import check_exposure, serve
from storage.document import Output


def ev(lane: int, t: float, event: object) -> LaneEvent:
    return LaneEvent(lane, t, event)


def test_coalescer_flushes_at_most_every_flush_s_and_names_changed_lanes() -> None:
    co = Coalescer(3, flush_s=0.1)
    co.feed(ev(0, 0.0, TextDelta("a")))
    assert co.due(1.0) == {0}
    co.feed(ev(1, 1.01, TextDelta("b")))
    assert co.due(1.02) == {1}  # a lane's first text is shown at once, whatever the interval
    co.feed(ev(1, 1.03, TextDelta("b")))
    assert co.due(1.05) == set()  # too soon
    assert co.wait_s(1.05) == pytest.approx(0.07)
    co.feed(ev(0, 1.06, TextDelta("c")))
    assert co.due(1.12) == {0, 1}
    assert co.due(1.3) == set()  # nothing new
    assert co.wait_s(1.3) is None
    assert co.flushes == 3


def test_coalescer_ticks_loading_clocks_once_a_second() -> None:
    co = Coalescer(2, flush_s=0.05, tick_s=1.0)
    co.feed(ev(1, 0.0, Loading("loading")))
    assert co.due(0.0) == {1}
    assert co.due(0.5) == set()
    assert co.wait_s(0.5) == pytest.approx(0.5)
    assert co.due(1.0) == {1}
    co.feed(ev(1, 1.2, Started()))
    co.due(1.3)
    assert co.wait_s(5.0) is None and co.since[1] == 0.0


@dataclass
class FakeLane:
    model: str
    chunks: list[str]
    status: str = "waiting"

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def figures(self) -> dict:
        return {"metrics": {}, "error": None, "status": self.status}


async def test_page_frames_coalesce_4_lanes_of_2000_chunks_and_end_exact() -> None:
    states = [FakeLane(f"m{i}", []) for i in range(4)]
    expected = [f"lane{i} " + "".join(f"w{k} " for k in range(2000)) for i in range(4)]

    async def events():
        loop = asyncio.get_running_loop()
        for k in range(2000):
            for i, s in enumerate(states):
                chunk = (f"lane{i} " if k == 0 else "") + f"w{k} "
                s.chunks.append(chunk)
                s.status = "streaming"
                yield ev(i, loop.time(), TextDelta(chunk))
            if k % 20 == 0:
                await asyncio.sleep(0.01)  # ~2,000 chunks/s per lane
        for i, s in enumerate(states):
            s.status = "ok"
            yield ev(i, loop.time(), LaneEnd("ok"))

    job = Job(events(), lambda: states, lambda: None, lambda: None)
    start = time.perf_counter()
    first = Frame(texts=dict.fromkeys(range(4), ""), stats=dict.fromkeys(range(4), ""))
    frames = [f async for f in page_frames(job, 4, first, _nothing)]
    elapsed = time.perf_counter() - start
    assert len(frames) - 1 <= elapsed / FLUSH_S + 2  # the flush budget (+ the final frame)
    assert len(frames) > 5  # and it did stream
    for i in range(4):
        assert _last_value(frames, "texts", i) == lane_view.answer_html(expected[i])  # exact, however coalesced
        assert "done" in _last_value(frames, "stats", i)


async def _nothing() -> Frame:
    return Frame()


def _last_value(frames: list[Frame], field: str, lane: int) -> str:
    return next(getattr(f, field)[lane] for f in reversed(frames) if lane in getattr(f, field))


def test_lane_values_skip_unchanged_lanes() -> None:
    states = [FakeLane("a", ["x"]), FakeLane("b", ["y"])]
    job = Job(None, lambda: states, lambda: None, lambda: None)  # type: ignore[arg-type]
    sent = {"text": [None, None], "stats": [None, None]}
    first = lane_values(job, 2, {0, 1}, sent)
    assert first.texts == {0: lane_view.answer_html("x"), 1: lane_view.answer_html("y")}
    states[1].chunks.append("z")
    second = lane_values(job, 2, {1}, sent)
    assert second.texts == {1: lane_view.answer_html("yz")} and second.session is KEEP  # lane 0 and the page: not sent


def test_answers_and_prompts_are_escaped_never_markup() -> None:
    evil = '<img src=x onerror=alert(1)><script>alert(2)</script>'
    assert "<img" not in lane_view.answer_html(evil) and "&lt;img" in lane_view.answer_html(evil)
    assert "<script>" not in lane_view.earlier_html([(evil, output(text=evil))], evil)
    html = lane_view.stats_html({"metrics": {}, "error": {"type": "x", "message": evil}}, status="error")
    assert "<img" not in html


def test_stats_mark_the_best_and_show_clocks_and_notes() -> None:
    rec = {"metrics": {"ttft_ms": 40.0, "total_ms": 900.0, "output_tokens": 12, "tokens_per_s": 30.0,
                       "cost_usd": 0.0, "queue_ms": 1400.0, "load_ms": 16000.0, "estimated": ["output_tokens"],
                       "contention": {"waited_for": ["gguf:smollm2"]}}}
    html = lane_view.stats_html(rec, status="ok", lane=1, best={"ttft_ms": {1}})
    assert 'class="fig best"' in html and "★" in html and "~12 tok" in html
    assert "queued 1400 ms" in html and "load 16.0 s" in html and "waited for gguf:smollm2" in html
    assert "loading model… 9 s" in lane_view.stats_html({}, status="loading", clock_s=9.2)


def test_word_diff_marks_changes_and_escapes() -> None:
    html = word_diff_html("the quick <b>fox</b>", "the slow <b>fox</b> jumps")
    assert "<del>quick</del>" in html and "<ins>slow</ins>" in html and "<ins> jumps</ins>" in html
    assert "<b>" not in html and "&lt;b&gt;" in html


def _output(text: str, timeline: list, queue_ms: float = 0, load_ms: float = 0, status: str = "ok") -> Output:
    return output("m:1", text, status=status, timeline=timeline,
                  metrics={"queue_ms": queue_ms, "load_ms": load_ms, "total_ms": timeline[-1][0] + 1})


def test_replay_schedule_uses_each_lanes_timeline_and_offsets() -> None:
    items = schedule([_output("Hello world", [[10, 5], [20, 6]], queue_ms=100),
                      _output("abc", [[5, 1], [7, 2]])])
    chunks = [(round(t, 3), lane, c) for t, lane, c in items if c is not None]
    assert chunks == [(0.005, 1, "a"), (0.007, 1, "bc"), (0.11, 0, "Hello"), (0.12, 0, " world")]


async def test_replay_instant_rebuilds_the_text() -> None:
    rp = Replay([_output("Hello world", [[10, 5], [20, 6]]), _output("abc", [[5, 3]], status="error")], None)
    kinds = [e.event.kind async for e in rp.events()]
    assert [lane.text for lane in rp.lanes] == ["Hello world", "abc"]
    assert [lane.status for lane in rp.lanes] == ["ok", "error"] and kinds.count("end") == 2


def test_stats_frames_per_model() -> None:
    rows = [{"model": "a", "status": "ok", "ttft_ms": t, "tokens_per_s": 10.0 + t, "cost_usd": 0.0}
            for t in (10.0, 20.0, 30.0)]
    rows.append({"model": "a", "status": "error", "ttft_ms": None, "tokens_per_s": None, "cost_usd": None})
    rows.append({"model": "b", "status": "cancelled", "ttft_ms": 5.0, "tokens_per_s": 1.0, "cost_usd": 0.0})
    table, points = stats.frames(rows)
    a = table[table["model"] == "a"].iloc[0]
    assert a["runs"] == 4 and a["median TTFT (ms)"] == 20.0 and a["error rate"] == "25%"
    assert len(points) == 3 and "b" not in set(table["model"])


@pytest.mark.parametrize("host,auth,no_auth,share,ok", [
    ("127.0.0.1", None, False, False, True),
    ("0.0.0.0", None, False, False, False),
    ("0.0.0.0", "u:p", False, False, True),
    ("0.0.0.0", None, True, False, True),
    ("127.0.0.1", None, False, True, False),
    ("0.0.0.0", "nopassword", False, False, False),
])
def test_exposure_needs_auth_or_no_auth(host: str, auth: str | None, no_auth: bool, share: bool, ok: bool) -> None:
    if ok:
        check_exposure(host, auth, no_auth, share)
    else:
        with pytest.raises(ValueError):
            check_exposure(host, auth, no_auth, share)


def test_serve_refuses_an_exposed_host_without_auth(tmp_path, capsys) -> None:
    settings = Settings.load(env={"PLAYGROUND_HOME": str(tmp_path)}, cwd=tmp_path)
    assert serve(settings, host="0.0.0.0", port=0) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--auth" in err


def test_skipped_outputs_get_their_last_text_again_never_a_stale_object() -> None:
    doc = {"id": "s"}  # keys stand for components: an output left out of a dict return is skipped
    frames = [{"text": "", "stats": "waiting", "race": None}, {"stats": "streaming", "session": doc, "notice": "note"},
              {}]

    async def source():
        for frame in frames:
            yield dict(frame)

    async def collect():
        return [frame async for frame in resend_unchanged(source())]

    out = asyncio.run(collect())
    assert out[0] == {"text": "", "stats": "waiting", "race": None}
    assert out[1] == {"text": "", "stats": "streaming", "session": doc, "race": None, "notice": "note"}
    assert out[2] == {"text": "", "stats": "streaming", "race": None, "notice": "note"}  # the session (not text): once


def test_a_frame_maps_itself_onto_components_by_name() -> None:
    from playground.web.views import LaneOutputs, PageOutputs

    lanes = LaneOutputs(heads=[], texts=["t0", "t1"], stats=["s0", "s1"], earlier=["e0", "e1"], params=[])
    page = PageOutputs(session="session", race="race", export_json="json", export_md="md", notice="notice")
    frame = Frame(heads={0: "A"}, texts={1: "x", 2: "beyond"}, stats={0: "ok"}).merged(Frame(notice="saved", race=None))
    # headers not among the outputs, a lane past the components, page fields left at KEEP: not sent
    assert frame.updates(lanes, page) == {"t1": "x", "s0": "ok", "race": None, "notice": "saved"}


def test_race_chart_keeps_each_lanes_shape_in_few_points() -> None:
    long = output("a:long", "x" * 12000, metrics={"queue_ms": 500.0}, timeline=[[10.0 + k, 6] for k in range(2000)])
    short = output("b:short", "y" * 7, timeline=[[5.0, 3], [9.0, 4]])
    frame = lane_view.race_frame([long, short])
    first = frame[frame["lane"] == "1: a:long"]
    assert len(first) <= lane_view.RACE_POINTS
    assert first.iloc[0].tolist() == [0.5, 0, "1: a:long"]  # from the lane's start, its wait included
    assert first.iloc[-1].tolist() == [(500 + 10 + 1999) / 1000, 12000, "1: a:long"]  # the end is kept
    assert first["characters"].is_monotonic_increasing
    assert frame[frame["lane"] == "2: b:short"].values.tolist() == [[0.0, 0, "2: b:short"], [0.005, 3, "2: b:short"],
                                                                    [0.009, 7, "2: b:short"]]
