"""The Python API under the CLI and the page, usable from a notebook::

    doc = await playground.compare("Why is the sky blue?", models=["gguf:smollm2", "openai:gpt-4o-mini"],
                                   temperature=0, max_tokens=64, seed=1)

    comp = Comparison(runtime, ["gguf:smollm2", "hf:smollm2"], "Hi")
    async for ev in comp.events():   # LaneEvent(lane, t, event) as they arrive
        ...
    comp.document                    # the session document (playground.session/1)
    Path("race.html").write_text(export_html(doc), encoding="utf-8")   # one file; replays offline

A ``Comparison`` is one turn: it runs every lane (``repeat`` rounds, after an optional uncounted
warm-up round), keeps the session document up to date and, given a ``Recorder``, saves it as it
goes. It does not render anything.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import Any

from backends.base import Params
from backends.errors import ConfigError
from playground.engine.lane import LaneState
from playground.engine.run import LaneEnd, LaneEvent, LaneSpec, Run
from playground.engine.runtime import Resolved, Runtime
from playground.session.document import new_document, now_iso
from playground.session.history import (
    LaneHistory,
    check_join_from,
    lane_document,
    lane_histories,
    own_system,
    session_models,
)
from playground.session.prompt import check_prompt
from playground.session.recorder import Recorder
from storage.document import Session

_default_runtime: Runtime | None = None


def default_runtime() -> Runtime:
    """The runtime of ``compare()`` when none is given: built once, keeps models warm."""
    global _default_runtime
    if _default_runtime is None:
        _default_runtime = Runtime()
    return _default_runtime


class Comparison:
    """One turn of a session sent to every model, ``repeat`` times.

    Its model ids are resolved and checked once (``targets``, one per model, in order), unless the
    caller has done it (``resolved``: the CLI checks them before the run starts); every round
    drives those, and a page reads them (is a lane local?) instead of resolving the ids again.

    With a ``session``, each lane sends its own model's earlier answers, found by model
    (``playground.session.history``): models may be added, removed or reordered between turns.
    Without ``models``, the session's (every model it has had). ``join_from``: the model whose
    earlier answers a model new to the session gets (default None: the earlier prompts only)."""

    def __init__(
        self,
        runtime: Runtime,
        models: Sequence[str],
        prompt: str,
        *,
        system: str | None = None,
        params: Params | Sequence[Params | None] | None = None,
        session: dict[str, Any] | None = None,
        repeat: int = 1,
        warmup: bool = False,
        recorder: Recorder | None = None,
        resolved: Sequence[Resolved] | None = None,
        join_from: str | None = None,
        systems: Sequence[str | None] | None = None,
        keep: int | None = None,
    ) -> None:
        """``keep`` (complete mode): the lane whose continuation of the last turn every lane's
        document carries on from (None: each lane its own)."""
        limit = runtime.settings.limits.prompt_chars
        prompt = str(check_prompt(prompt, limit))  # a plain str in the document
        self.prompt = prompt
        if system is not None:
            check_prompt(system, limit, "system prompt")
        if session is not None and not models:
            models = session_models(session)
        check_join_from(session, join_from)
        if not models:
            raise ConfigError("no models: give at least one model id, e.g. -m gguf:smollm2")
        if repeat < 1:
            raise ConfigError(f"--repeat must be 1 or more, not {repeat}")
        self.runtime, self.models = runtime, list(models)
        if resolved is not None and [r.model_id for r in resolved] != self.models:
            raise ValueError("resolved must hold the models' ids, one per model, in order")
        self.targets = list(resolved) if resolved is not None else runtime.prepare(self.models)
        if isinstance(params, Params) or params is None:
            self.params: list[Params | None] = [params] * len(self.models)
        else:
            self.params = list(params)
        # each lane's own system prompt (None: the session's), recorded in that lane's params
        self.systems: list[str | None] = list(systems) if systems is not None else [None] * len(self.models)
        if len(self.systems) != len(self.models):
            raise ValueError("systems must hold one system prompt (or None) per model")
        for own in self.systems:
            if own is not None:
                check_prompt(own, limit, "system prompt")
        # A copy: the caller's session (and its list of turns) stays as it was, like ``set_vote``'s;
        # the turns themselves are shared, never changed here. ``document`` is the session with this turn.
        self.document = ({**session, "turns": list(session["turns"])} if session is not None
                         else new_document(prompt, system))
        self.repeat, self.warmup, self.recorder = repeat, warmup, recorder
        # what each lane sends before this turn's prompt: read now, before this turn joins the document
        self.histories: list[LaneHistory] = lane_histories(session, self.models, join_from)
        self._earlier = session  # complete mode's document is built from the turns before this one
        earlier = len(self.document["turns"])
        if keep is not None and not (earlier and 0 <= keep < len(self.models)):
            raise ConfigError(f"keep={keep}: there is no lane {keep} of an earlier turn to continue from "
                              f"(lanes 0–{len(self.models) - 1}, after a first turn)")
        self.keep = keep
        self.turn: dict[str, Any] = {"prompt": prompt, "created_at": now_iso(), "outputs": []}
        self.runs: list[Run] = []
        self.current: Run | None = None
        self._cancelled = False

    def cancel(self) -> None:
        """Stop every lane now (their text so far is kept, status ``cancelled``)."""
        self._cancelled = True
        if self.current is not None:
            self.current.cancel()

    def cancel_lane(self, lane: int) -> bool:
        """Stop one lane of the round running now; the other lanes go on. False when that lane
        is not running."""
        return self.current is not None and self.current.cancel_lane(lane)

    def _rounds(self) -> list[tuple[int | None, bool]]:
        counted = [(None, False)] if self.repeat == 1 else [(k, False) for k in range(1, self.repeat + 1)]
        return ([(0, True)] if self.warmup else []) + counted

    def _specs(self, repeat: int | None, warmup: bool) -> list[LaneSpec]:
        system = self.document.get("system")
        return [
            LaneSpec(model=m, messages=self._messages(i, h, system), params=self.params[i],
                     repeat=repeat, warmup=warmup, resolved=self.targets[i],
                     history_from=h.history_from, system=self.systems[i], continues=self.keep)
            for i, (m, h) in enumerate(zip(self.models, self.histories, strict=True))
        ]

    def _messages(self, lane: int, history: LaneHistory, system: str | None) -> tuple[Any, ...]:
        """What a lane sends: its own conversation (chat), or the document it continues (complete)
        or scores (score), from the earlier turns as they were before this one."""
        mode = self.params[lane].mode if self.params[lane] is not None else "chat"
        if mode == "chat":
            return own_system(history.messages(system, self.prompt), self.systems[lane])
        earlier = Session.of(self._earlier) if self._earlier else None
        return lane_document(earlier, lane, self.models[lane], self.prompt, mode, self.keep)

    async def events(self) -> AsyncIterator[LaneEvent]:
        """Run every round; yields each lane's stamped events. Lane indexes are per round
        (0..len(models)-1); ``self.current`` is the round running now."""
        rounds = self._rounds()
        self.runs = [Run(self.runtime, self._specs(r, w), on_end=self._saver(k))
                     for k, (r, w) in enumerate(rounds)]
        self.turn["outputs"] = [lane.record() for run in self.runs for lane in run.lanes]
        self.document["turns"].append(self.turn)
        turn_index = len(self.document["turns"]) - 1
        if self.recorder:
            lanes = self.output_lanes()
            await self.recorder.begin(self.document, turn_index, lambda i: lanes[i].record())
        n = len(self.models)
        try:
            for k, run in enumerate(self.runs):
                if self._cancelled:
                    break
                self.current = run
                async for ev in run.events():
                    if isinstance(ev.event, LaneEnd):
                        self.turn["outputs"][k * n + ev.lane] = run.lanes[ev.lane].record()
                    if self.recorder:
                        self.recorder.touch(k * n + ev.lane)
                    yield ev
        finally:
            now = time.perf_counter()
            for lane in self.output_lanes():
                if not lane.done:  # rounds never started after a Stop
                    lane.finish(now, "cancelled", shown=self.recorder is None)
            self.turn["outputs"] = [lane.record() for run in self.runs for lane in run.lanes]
            try:
                if self.recorder:
                    await self.recorder.finish(self.turn["outputs"])
            finally:
                for lane in self.output_lanes():
                    lane.show_end()

    def _saver(self, round_index: int) -> Callable[[int], Awaitable[None]] | None:
        """What a lane of that round awaits as it ends: its final record saved (with a recorder)."""
        recorder, n = self.recorder, len(self.models)
        if recorder is None:
            return None
        return lambda lane: recorder.ended(round_index * n + lane)

    def output_lanes(self) -> list[LaneState]:
        """Every lane state of the turn, in output order."""
        return [lane for run in self.runs for lane in run.lanes]

    @property
    def ok(self) -> bool:
        return all(o["status"] == "ok" for o in self.turn["outputs"])


async def compare(
    prompt: str,
    models: Sequence[str],
    *,
    system: str | None = None,
    runtime: Runtime | None = None,
    session: dict[str, Any] | None = None,
    repeat: int = 1,
    warmup: bool = False,
    recorder: Recorder | None = None,
    join_from: str | None = None,
    keep: int | None = None,
    **params: Any,
) -> dict[str, Any]:
    """Send one prompt to every model at once; returns the session document. With ``session``, a
    new turn of it: each model continues its own conversation (``Comparison``). ``params`` are
    ``backends.base.Params``' (``logprobs=5``, ``mode="complete"``...); ``keep``: see ``Comparison``."""
    comp = Comparison(runtime or default_runtime(), models, prompt, system=system,
                      params=Params(**params) if params else None, session=session,
                      repeat=repeat, warmup=warmup, recorder=recorder, join_from=join_from, keep=keep)
    async for _ in comp.events():
        pass
    return comp.document


def export_html(doc: dict[str, Any], *, blind: bool | None = None) -> str:
    """The session as one self-contained HTML file: lanes side by side with their figures, the race
    chart, a replay, and the document itself (``playground sessions import`` reads it back).
    ``blind``: leave out model names, figures and errors; by default, when the session is blind and
    no one has voted on it yet (``playground.arena.blind.names_hidden``)."""
    from playground.arena.blind import names_hidden
    from storage.html import to_html

    return to_html(doc, blind=names_hidden(doc) if blind is None else blind)


async def stream(prompt: str, models: Sequence[str], **kwargs: Any) -> AsyncIterator[LaneEvent]:
    """Like ``compare`` but yields the lane events as they arrive."""
    params = {k: kwargs.pop(k) for k in ("temperature", "top_p", "max_tokens", "seed", "stop", "logprobs", "mode")
              if k in kwargs}
    comp = Comparison(kwargs.pop("runtime", None) or default_runtime(), models, prompt,
                      params=Params(**params) if params else None, **kwargs)
    async with aclosing(comp.events()) as events:
        async for ev in events:
            yield ev
