"""Re-run a saved session: its turns again, same (or substituted) models, each lane with the
parameters and the own system prompt recorded for it, as a new session linked to its source by
``rerun_of`` — so the two can be compared.

Used by ``playground sessions rerun`` and the page's Re-run button; renders nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from typing import Any

from backends.base import Params
from backends.errors import ConfigError
from playground.api import Comparison
from playground.engine.run import LaneEvent
from playground.engine.runtime import Resolved, Runtime
from playground.session.document import new_document
from playground.session.history import lane_keys, model_output, session_models, turn_lanes
from playground.session.recorder import Recorder
from storage.document import Session


def substitute(source_models: list[str], given: Sequence[str] | None) -> list[str]:
    """``-m`` ids replace the source's models: one for one, or the given list for every lane."""
    if not given:
        return source_models
    return list(given)


def _sources(turn: dict[str, Any], source_models: list[str], lanes: int) -> list[dict[str, Any] | None]:
    """The output each lane re-runs in that turn: the source model's it stands for (lane i re-runs
    ``source_models[i]``, found in the turn by model, not by position), else the turn's first lane's
    (a model that was not in that turn, or lanes beyond the source's)."""
    outputs = turn_lanes(turn)
    keys = lane_keys(source_models)
    return [(model_output(outputs, *keys[i]) if i < len(keys) else None) or (outputs[0] if outputs else None)
            for i in range(lanes)]


def lane_params(turn: dict[str, Any], source_models: list[str], lanes: int) -> list[Params | None]:
    """Each lane's recorded parameters in that turn (``_sources``)."""
    return [Params.from_record(src["params"]) if src else None for src in _sources(turn, source_models, lanes)]


def lane_systems(turn: dict[str, Any], source_models: list[str], lanes: int) -> list[str | None]:
    """Each lane's own system prompt in that turn, as recorded in its output's params (None: the
    session's)."""
    return [(src.get("params") or {}).get("system") if src else None
            for src in _sources(turn, source_models, lanes)]


class Rerun:
    """Iterate ``events()`` to run every turn; ``document`` is the new session."""

    def __init__(self, runtime: Runtime, source: dict[str, Any], models: Sequence[str] | None = None,
                 recorder_factory: Callable[[], Recorder] | None = None) -> None:
        if not source.get("turns"):
            raise ConfigError(f"session {source.get('id')} has no turns to re-run")
        self.runtime, self.source = runtime, source
        self.source_models = session_models(source)
        self.models = substitute(self.source_models, models)
        # resolved and checked once for every turn (the CLI checks them before the first)
        self.targets: list[Resolved] = runtime.prepare(self.models)
        self.recorder_factory = recorder_factory
        self._start = new_document(source["turns"][0]["prompt"], source.get("system"))
        self._start["title"] = f"Re-run: {source.get('title') or ''}".strip()
        self._start["rerun_of"] = source["id"]
        self.comparison: Comparison | None = None
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True
        if self.comparison:
            self.comparison.cancel()

    async def events(self) -> AsyncIterator[tuple[int, LaneEvent]]:
        """Yields (turn index, lane event) as every turn runs in order."""
        for index, turn in enumerate(self.source["turns"]):
            if self._cancelled:
                return
            self.comparison = Comparison(
                self.runtime, self.models, turn["prompt"], system=self.source.get("system"),
                params=lane_params(turn, self.source_models, len(self.models)), session=self.document,
                systems=lane_systems(turn, self.source_models, len(self.models)),
                recorder=self.recorder_factory() if self.recorder_factory else None,
                resolved=self.targets)
            async with aclosing(self.comparison.events()) as events:
                async for ev in events:
                    yield index, ev

    @property
    def document(self) -> dict[str, Any]:
        """The new session so far: each turn's comparison extends the previous one's document."""
        return self.comparison.document if self.comparison else self._start

    @property
    def ok(self) -> bool:
        return all(o.status == "ok" for t in Session.of(self.document).turns for o in t.outputs)
