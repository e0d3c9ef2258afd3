"""The streaming handler: one async generator drives every lane of a run and flushes the page.

A ``Job`` is anything that yields stamped lane events (a ``Comparison``, a ``Rerun``, a replay).
``coalesced()`` pumps those events in a task of its own and yields the set of changed lanes at
most every ``FLUSH_S`` (``Coalescer``), so the page gets ~16 updates a second however fast the
models stream; ``page_frames()`` turns each set into a ``frame.Frame`` holding only what changed
(once mapped onto components, ``resend_unchanged`` puts back the last text of the rest: cheaper for
Gradio than leaving them out).

Stop: closing the generator (Gradio's ``cancels=``, a closed tab) runs its ``finally``, which
calls ``job.cancel()`` (every lane cancelled, HTTP streams closed, local generation stopped) and
waits for the lanes to end, so the saved session says ``cancelled``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from backends.base import Params
from playground.api import Comparison
from playground.engine import figures
from playground.engine.runtime import Resolved
from playground.session.recorder import Recorder
from playground.web import lane_view, tokens_view
from playground.web.coalesce import FLUSH_S, LOCAL_FLUSH_S, Coalescer
from playground.web.context import Context
from playground.web.frame import Frame
from storage.document import Session

CLOSE_S = 3.0  # how long a stopped run may take to close its lanes and save


@dataclass
class Job:
    events: AsyncIterator[Any]  # LaneEvent-like: lane, t, event.kind
    lanes: Callable[[], Sequence[Any]]  # the lane states now: .text, .status, .figures()
    cancel: Callable[[], None]
    document: Callable[[], dict[str, Any] | None]
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    coalescer: Coalescer | None = None
    flush_s: float = FLUSH_S
    blind: bool = False  # a blind run: lanes say nothing that names their model
    hide: bool = False  # ... and show no figures either
    cancel_lane: Callable[[int], bool] | None = None  # stop one lane, the others going on (None: cannot)


def comparison_job(ctx: Context, models: list[str], prompt: str, system: str | None,
                   params: Sequence[Params | None], doc: dict[str, Any] | None, *, repeat: int = 1,
                   warmup: bool = False, join_from: str | None = None,
                   systems: Sequence[str | None] | None = None) -> Job:
    comp = Comparison(ctx.runtime, models, prompt, system=system if not doc else None,
                      params=list(params), session=doc, recorder=Recorder(ctx.store), repeat=repeat,
                      warmup=warmup, join_from=join_from, systems=systems)
    # lanes show the round running now (repeat runs stream one round after another)
    return Job(comp.events(), lambda: comp.current.lanes if comp.current else comp.output_lanes(),
               comp.cancel, lambda: comp.document, flush_s=flush_for(comp.targets), cancel_lane=comp.cancel_lane)


def flush_for(targets: Sequence[Resolved]) -> float:
    """How often to redraw the page: less often when a local engine shares the CPU with the browser.
    Reads the run's resolved ids (an id that did not resolve is not local: its lane's error)."""
    return LOCAL_FLUSH_S if any(t.local for t in targets) else FLUSH_S


async def coalesced(job: Job, co: Coalescer) -> AsyncIterator[tuple[set[int], bool]]:
    """(changed lanes, last) at most every ``co.flush_s``; the last yield (every lane, True) comes
    after the events end. Closing this generator early cancels the job and waits for its lanes."""
    job.coalescer = co
    wake = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def pump() -> None:
        try:
            async for ev in job.events:
                co.feed(ev)
                wake.set()
        finally:
            wake.set()
            job.finished.set()

    task = asyncio.create_task(pump())
    try:
        while not task.done():
            delay = co.wait_s(loop.time())
            if not co.dirty:  # nothing new: sleep until an event comes (or a clock must tick)
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), delay)
            elif delay:
                await asyncio.sleep(delay)
            changed = co.due(loop.time())
            if changed:
                yield changed, False
        await task  # a failure of the run itself (not of a lane) surfaces here
        yield co.all(), True
    finally:
        if not task.done():
            job.cancel()
            await asyncio.wait([task], timeout=CLOSE_S)
            if not task.done():
                task.cancel()


def clock(co: Coalescer | None, lane: int) -> tuple[float | None, str]:
    if co is None or lane not in co.since:
        return None, ""
    return asyncio.get_running_loop().time() - co.since[lane], co.detail.get(lane, "")


def lane_values(job: Job, n: int, changed: set[int], sent: dict[str, list[Any]],
                done: bool = False) -> Frame:
    """The lanes' answers and figures that changed since ``sent`` (what was sent last)."""
    states = list(job.lanes())[:n]
    shown = {i: s.figures() | tokens_view.info_of(s) for i, s in enumerate(states) if done or i in changed}
    best = figures.best_lanes([shown[i] for i in range(len(states))]) if done else {}
    frame = Frame()
    for i, state in enumerate(states):
        if i not in changed and not done:
            continue
        probs = tokens_view.probs_of(state)
        text = lane_view.answer_html(state.text, probs)
        # a shaded answer is redrawn within the page's budget (tokens_view.redraw_due); its end always
        if text != sent["text"][i] and (done or probs is None or probs.final or tokens_view.redraw_due(
                sent.setdefault("drawn", [None] * n), i, len(text), time.monotonic())):
            frame.texts[i] = sent["text"][i] = text
        seconds, detail = clock(job.coalescer, i)
        html = lane_view.stats_html(shown[i], status=state.status, lane=i, best=best,
                               clock_s=seconds, detail=detail, blind=job.blind, hide=job.hide)
        if html != sent["stats"][i]:
            frame.stats[i] = sent["stats"][i] = html
    return frame


async def page_frames(job: Job, n: int, first: Frame, final: Callable[[], Any]) -> AsyncIterator[Frame]:
    """The page's updates for a job: ``first`` (lanes reset), the coalesced lanes, then the lanes
    with their best-of marks and ``await final()`` (a frame: session, chart, export files, notice)."""
    sent: dict[str, list[Any]] = {"text": [None] * n, "stats": [None] * n}
    yield first
    async with aclosing(coalesced(job, Coalescer(n, job.flush_s))) as flushes:
        async for changed, last in flushes:
            if last:
                yield lane_values(job, n, changed, sent, done=True).merged(await final())
            else:
                yield lane_values(job, n, changed, sent)


async def resend_unchanged(frames: AsyncIterator[dict[Any, Any]]) -> AsyncIterator[dict[Any, Any]]:
    """Where a frame (Gradio's dict return, ``{component: value}``) leaves an output out that an
    earlier frame sent text to (or None), send that text again instead.

    Measured in Gradio 6.31: each skipped output (``gr.skip()``, which Gradio puts in for an output
    missing from a dict return) costs the server ~1.2 ms per frame (it builds a component for the
    "update"), and the next value of that output goes out whole, because Gradio diffs it against the
    skip, not against the text; the same text again costs ~0.1 ms and goes out as an empty diff, so a
    lane's next text is an append. Outputs whose value is not plain text (the session, the chart)
    are left out again.
    """
    last: dict[Any, Any] = {}
    async with aclosing(frames):
        async for frame in frames:
            out = {**last, **frame}
            for key, value in frame.items():
                if value is None or isinstance(value, str):
                    last[key] = value
                else:
                    last.pop(key, None)
            yield out


async def api_frames(job: Job, n: int) -> AsyncIterator[dict[str, Any]]:
    """The API's updates: every lane's model, status and text at each flush; the session at the end."""
    async with aclosing(coalesced(job, Coalescer(n))) as flushes:
        async for _, last in flushes:
            if last:
                continue
            doc = job.document()  # every flush: its id only, the document is not read whole here
            yield {"session_id": doc["id"] if doc else None, "done": False,
                   "lanes": [{"model": s.model, "status": s.status, "text": s.text} for s in job.lanes()]}
    session = Session.of(job.document())
    yield {"session_id": session.id, "done": True, "lanes": [
        {"model": o.model, "status": o.status, "text": o.text,
         **o.model_dump(include={"metrics", "error"}, exclude_unset=True)}  # as stored: no keys added
        for o in session.last_turn.outputs]}
