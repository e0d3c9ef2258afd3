"""The Compare view's actions (Run, Stop, Replay, Re-run): each builds a ``Job`` and streams it
to the lanes through ``compare.page_frames``. Every action yields ``frame.Frame``s (values by
lane and by name); ``render`` maps them onto the components."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from backends.base import Params
from backends.errors import ConfigError
from playground.arena.blind import blind_names
from playground.session.history import lane_histories, lane_keys, model_output, turn_lanes
from playground.session.prompt import PromptError
from playground.session.recorder import Recorder
from playground.session.rerun import Rerun
from playground.web import history, lane_view
from playground.web.compare import (
    CLOSE_S,
    Job,
    comparison_job,
    flush_for,
    lane_values,
    page_frames,
)
from playground.web.context import Context
from playground.web.escape import md, toast
from playground.web.frame import Frame
from playground.web.replay import SPEEDS, Replay
from storage.document import Metrics, Output, Session

MAX_LANES = 8


def _number(value: Any, kind: type, name: str) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return kind(float(value)) if kind is int else kind(value)
    except (TypeError, ValueError):
        raise toast(f"{name} must be a number, not {value!r}") from None


def repeat_of(value: Any) -> int:
    repeat = _number(value, int, "repeat") or 1
    if not 1 <= repeat <= 50:
        raise toast("repeat must be between 1 and 50")
    return repeat


def _first(models: list[str], doc: dict[str, Any] | None, prompt: str | None, blind: bool = False,
           hide: bool = False, keep: bool = False, join_from: str | None = None) -> Frame:
    lanes = range(len(models))
    waiting = lane_view.stats_html({}, status="waiting", blind=blind, hide=hide)
    # each lane's earlier turns as it sends them: its own model's answers (session.history)
    histories = lane_histories(doc, models, join_from)
    frame = Frame(texts=dict.fromkeys(lanes, ""), stats=dict.fromkeys(lanes, waiting),
                  earlier={i: lane_view.history_html(h, prompt, figures_shown=not hide, named=not blind)
                           for i, h in enumerate(histories)})
    if blind:  # a blind run's headers say "Model A", … (resent every frame: cheaper than leaving them out)
        frame.heads = {i: lane_view.header_html(name, "") for i, name in enumerate(blind_names(len(models)))}
    # the chart, the export buttons and the notice are cleared until the run ends (blind: the chart
    # keeps its first lanes' colours, so revealed names would stay; the exports would name the models)
    # An empty table keeps the chart (None makes Gradio's chart read a removed element's width, an
    # error in the console), but also its legend's names: a blind run takes the console error over
    # the names of the models revealed by the previous battle's vote.
    if not keep:  # keep: a replay's session
        frame.race = None if blind else lane_view.race_frame([])
        frame.export_json, frame.export_md, frame.notice = None, None, ""
    return frame


async def finish(ctx: Context, job: Job) -> Frame:
    """session, race chart, export files, notice — once a job's lanes have ended."""
    doc = job.document()
    session = Session.of(doc) if doc is not None else None
    if session is None or session.last_turn is None:
        return Frame()
    outputs = session.last_turn.outputs
    if job.blind:  # no export files yet: they would name the models
        names = blind_names(len(outputs))
        return Frame(session=doc, race=lane_view.race_frame(outputs, names), export_json=None, export_md=None,
                     notice=f"saved {history.quoted(session.title)} — vote to reveal the models")
    try:
        json_path, md_path = await asyncio.to_thread(history.write_exports, ctx, session.id)
    except Exception as exc:  # noqa: BLE001 - the page still shows the answers
        return Frame(session=doc, race=lane_view.race_frame(outputs), notice=f"⚠ could not export: {md(exc)}")
    lanes_now = job.lanes()
    last_round = outputs[-len(lanes_now):] if lanes_now else outputs
    failed = sum(o.status != "ok" for o in outputs)
    notice = f"saved {history.quoted(session.title)}" + (f" — {failed} run(s) did not finish" if failed else "")
    if len(last_round) < len(outputs):  # repeat runs: the figures of every counted run, per lane
        notice += "\n\n" + lane_view.repeat_markdown(outputs)
    return Frame(session=doc, race=lane_view.race_frame(last_round), export_json=json_path, export_md=md_path,
                 notice=notice)


async def _stream(ctx: Context, key: str, job: Job, first: Frame, n: int,
                  final: Any = None) -> AsyncIterator[Frame]:
    ctx.active[key] = job
    try:
        async with aclosing(page_frames(job, n, first, final or (lambda: finish(ctx, job)))) as frames:
            async for frame in frames:
                yield frame
    finally:
        if ctx.active.get(key) is job:
            del ctx.active[key]


async def run(ctx: Context, key: str, models: list[str], prompt: str, system: str | None,
              params: list[Params], doc: dict[str, Any] | None, *, blind: bool = False,
              hide: bool = False, repeat: int = 1, warmup: bool = False,
              join_from: str | None = None, systems: list[str | None] | None = None) -> AsyncIterator[Frame]:
    """``join_from``: whose earlier answers a model new to the session is sent (None: the prompts
    only; ignored without earlier turns, where no model joins anything); ``systems``: each lane's
    own system prompt (None: the session's)."""
    if not models or len(models) > MAX_LANES:
        raise toast(f"choose 1 to {MAX_LANES} models")
    join_from = join_from if doc and doc.get("turns") and not blind else None
    try:
        job = comparison_job(ctx, models, prompt, (system or "").strip() or None, params, doc,
                             repeat=1 if blind else repeat, warmup=warmup and not blind, join_from=join_from,
                             systems=systems)
    except ConfigError as exc:
        if blind and not isinstance(exc, PromptError):  # the message would name the model
            raise toast("a model of this blind run cannot be used here; run the models named "
                        "to see which and why") from None
        raise toast(str(exc)) from None
    job.blind, job.hide = blind, blind and hide
    first = _first(models, doc, prompt, job.blind, job.hide, join_from=join_from)
    async with aclosing(_stream(ctx, key, job, first, len(models))) as frames:
        async for frame in frames:
            yield frame


async def rerun(ctx: Context, key: str, models: list[str], doc: dict[str, Any] | None) -> AsyncIterator[Frame]:
    session = Session.of(doc) if doc else None
    if session is None or session.last_turn is None:
        raise toast("open or run a session first, then re-run it")
    same = models == session.models()
    re = Rerun(ctx.runtime, doc, None if same else models, recorder_factory=lambda: Recorder(ctx.store))

    async def events() -> AsyncIterator[Any]:
        async with aclosing(re.events()) as turns:
            async for _, ev in turns:
                yield ev

    job = Job(events(), lambda: re.comparison.output_lanes() if re.comparison else [], re.cancel,
              lambda: re.document, flush_s=flush_for(re.targets))
    first = _first(models, None, session.last_turn.prompt)
    async with aclosing(_stream(ctx, key, job, first, len(models))) as frames:
        async for frame in frames:
            yield frame


async def replay(ctx: Context, key: str, models: list[str], doc: dict[str, Any] | None,
                 speed: str) -> AsyncIterator[Frame]:
    session = Session.of(doc) if doc else None
    if session is None or session.last_turn is None:
        raise toast("open or run a session first, then replay it")
    # each lane replays its own model's answer in the last turn (found by model, as its history
    # is); a lane whose model was not in that turn has nothing to replay and stays empty ("waiting")
    last = session.last_turn
    lanes_ = turn_lanes(doc["turns"][-1])
    outputs = [Output.model_validate(o) if (o := model_output(lanes_, m, k)) is not None else
               Output.model_construct(model=m, label=None, params={}, text="", status="waiting", error=None,
                                      finish_reason=None, metrics=Metrics(), server_metrics={}, timeline=[])
               for m, k in lane_keys(models)]
    rp = Replay(outputs, SPEEDS.get(speed, 1.0))
    job = Job(rp.events(), lambda: rp.lanes, rp.cancel, lambda: doc)
    n = len(outputs)

    async def final() -> Frame:
        return Frame(notice=f"replayed at {md(speed)}")

    first = _first(models[:n], session.model_copy(update={"turns": session.turns[:-1]}), last.prompt, keep=True)
    async with aclosing(_stream(ctx, key, job, first, n, final)) as frames:
        async for frame in frames:
            yield frame  # a replay of fewer lanes than are shown leaves the others as they are


async def stop(ctx: Context, key: str, n: int) -> Frame:
    """Cancel this page's run now: the lanes' final state and the saved session."""
    job = ctx.active.get(key)
    if job is None:
        return Frame()
    job.cancel()
    try:
        await asyncio.wait_for(job.finished.wait(), CLOSE_S)
    except TimeoutError:
        pass
    values = lane_values(job, n, set(range(n)), {"text": [None] * n, "stats": [None] * n}, done=True)
    return values.merged(await finish(ctx, job))
