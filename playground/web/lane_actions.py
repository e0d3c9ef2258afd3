"""Per-lane actions on the Compare tab: stop one lane while the others go on, and regenerate one
lane's answer to the last turn.

Stop: the lane's task is cancelled (``Run.cancel_lane``): its text so far is kept and saved with the
status ``cancelled``, as a whole-run Stop would save it; the other lanes stream on.

Regenerate re-runs only that lane's model on the last turn — the same conversation it had (its own
earlier answers, its system prompt), with the lane's parameters as they are now — and *replaces*
that lane's output in the session once the new answer ends, as a chat's "regenerate" does: the
next turn's history is the answer on screen, and the session keeps one answer per lane per turn.
The earlier answer is gone from the session then (export it first to keep it); a regeneration
that fails, or is stopped before any text, keeps the earlier answer (and says why). A turn somebody voted on is not regenerated (the
vote judged the earlier answers): withdraw the vote first.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from playground.arena.blind import blind_names
from playground.engine.run import LaneEvent, LaneSpec, Run
from playground.session.history import lane_histories, own_system
from playground.web import blind_runs, history, lane_view, tokens_view
from playground.web.compare import Job, flush_for, page_frames
from playground.web.context import Context
from playground.web.escape import md, toast
from playground.web.frame import Frame
from playground.web.lane_params import LaneSettings
from playground.web.replay import ReplayLane
from storage.document import Output, lane_indexes, round_of


def stop_lane(ctx: Context, key: str, lane: int, name: str) -> str:
    """Stop one lane of this page's run; the notice to show."""
    job = ctx.active.get(key)
    if job is None or job.cancel_lane is None or not job.cancel_lane(lane):
        return f"{name} is not running: nothing to stop"
    return f"{name} stopped; the other lanes go on"


def lane_outputs(turn: dict[str, Any]) -> list[int]:
    """The output index of each lane's answer in a turn: its first counted run (warm-ups and
    repeats aside), as the lanes show it."""
    outputs = turn["outputs"]
    lanes = lane_indexes([round_of(o.get("warmup"), o.get("repeat")) for o in outputs])
    return [next((k for k in runs if not outputs[k].get("warmup")), runs[0]) for runs in lanes]


def _checked(ctx: Context, key: str, doc: dict[str, Any] | None, lane: int) -> list[int]:
    if not doc or not doc.get("turns"):
        raise toast("run the models first, then regenerate a lane's answer")
    if ctx.active.get(key) is not None:
        raise toast("wait for the run to end (or stop it), then regenerate")
    turn_index = len(doc["turns"]) - 1
    if any(v["turn"] == turn_index for v in doc.get("votes") or ()):
        raise toast("this turn has a vote, which judged the earlier answers: withdraw it first, then regenerate")
    indexes = lane_outputs(doc["turns"][-1])
    if not 0 <= lane < len(indexes):
        raise toast(f"lane {lane + 1} did not run on the last turn: run the models again")
    return indexes


async def regenerate(ctx: Context, key: str, doc: dict[str, Any] | None, lane: int, settings: LaneSettings,
                     *, hide: bool = False) -> AsyncIterator[Frame]:
    """Re-run lane ``lane`` of the last turn and stream it into that lane; the other lanes stay as
    they are. The last frame carries the session with the lane's output replaced."""
    indexes = _checked(ctx, key, doc, lane)
    assert doc is not None  # _checked refused a missing session
    turn_index, turn = len(doc["turns"]) - 1, doc["turns"][-1]
    index = indexes[lane]
    old = turn["outputs"][index]
    # the lane's own conversation, found by model as every run's is (session.history), with the
    # history its model was sent in this turn when it had joined late
    earlier = {**doc, "turns": doc["turns"][:-1]}
    models = [turn["outputs"][k]["model"] for k in indexes]
    own = lane_histories(earlier, models, old.get("history_from"))[lane]
    system = settings.system if settings.system is not None else old.get("params", {}).get("system")
    messages = own_system(own.messages(doc.get("system"), turn["prompt"]), system)
    resolved = ctx.runtime.prepare([old["model"]])
    run = Run(ctx.runtime, [LaneSpec(model=old["model"], messages=messages, params=settings.params,
                                     resolved=resolved[0], system=system)])
    shown = [ReplayLane(Output.model_validate(turn["outputs"][k]), [turn["outputs"][k]["text"]],
                        turn["outputs"][k]["status"])
             for k in indexes]
    states: list[Any] = list(shown)
    states[lane] = run.lanes[0]
    hidden = blind_runs.is_hidden(ctx, doc)
    saved: dict[str, Any] = {}

    async def events() -> AsyncIterator[LaneEvent]:
        async with aclosing(run.events()) as stream:
            async for ev in stream:
                yield dataclasses.replace(ev, lane=lane)  # the run's only lane is this lane of the page

    def cancel_lane(i: int) -> bool:
        return i == lane and run.cancel_lane(0)

    job = Job(events(), lambda: states, run.cancel, lambda: saved.get("doc", doc), flush_s=flush_for(resolved),
              blind=hidden, hide=hidden and hide, cancel_lane=cancel_lane)

    async def final() -> Frame:
        record = run.lanes[0].record()
        failed = record["status"] == "error" or (record["status"] == "cancelled" and not record["text"])
        if failed:  # nothing better came: the session and the lane keep the earlier answer
            message = (record.get("error") or {}).get("message", "")
            why = ("was stopped before any text" if record["status"] == "cancelled"
                   else "failed" if hidden or not message else f"failed ({message})")  # hidden: it may name the model
            return Frame(notice=f"lane {lane + 1}: the regeneration {md(why)} — the earlier answer is kept",
                         texts={lane: lane_view.answer_html(old["text"], tokens_view.probs_of(old))},
                         stats={lane: lane_view.stats_html(old, status=old["status"], lane=lane,
                                                           blind=hidden, hide=hidden and hide)})
        outputs = list(turn["outputs"])
        outputs[index] = record
        updated = {**doc, "turns": [*doc["turns"][:-1], {**turn, "outputs": outputs}]}
        await asyncio.to_thread(ctx.store.update_outputs, doc["id"], turn_index, {index: record})
        saved["doc"] = updated
        states[lane] = ReplayLane(Output.model_validate(record), [record["text"]], record["status"])
        counted = [Output.model_validate(outputs[k]) for k in indexes]
        if hidden:
            return Frame(session=updated, race=lane_view.race_frame(counted, blind_names(len(counted))),
                         notice=f"lane {lane + 1} regenerated — vote to reveal the models")
        try:
            json_path, md_path = await asyncio.to_thread(history.write_exports, ctx, doc["id"])
        except Exception as exc:  # noqa: BLE001 - the page still shows the answer
            return Frame(session=updated, race=lane_view.race_frame(counted), notice=f"⚠ could not export: {md(exc)}")
        return Frame(session=updated, race=lane_view.race_frame(counted), export_json=json_path, export_md=md_path,
                     notice=f"lane {lane + 1} ({md(old['model'])}) regenerated: its earlier answer is replaced")

    first = Frame(texts={lane: ""}, stats={lane: lane_view.stats_html({}, status="waiting", blind=hidden,
                                                                       hide=hidden and hide)}, notice="")
    ctx.active[key] = job
    try:
        async with aclosing(page_frames(job, len(states), first, final)) as frames:
            async for frame in frames:
                yield frame
    finally:
        if ctx.active.get(key) is job:
            del ctx.active[key]

