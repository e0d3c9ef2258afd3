"""Helpers for tests and benchmarks that drain a backend's event stream."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from backends.base import Event, ReasoningDelta, TextDelta


@dataclass(frozen=True, slots=True)
class Stamped:
    t: float  # time.perf_counter() when the event arrived
    event: Event


async def collect(stream: AsyncIterator[Event], into: list[Stamped] | None = None) -> list[Stamped]:
    """Every event with its arrival time. Pass ``into`` to keep what came before an exception."""
    out = [] if into is None else into
    async for event in stream:
        out.append(Stamped(time.perf_counter(), event))
    return out


def text_of(stamped: list[Stamped]) -> str:
    return "".join(s.event.text for s in stamped if isinstance(s.event, TextDelta))


def reasoning_of(stamped: list[Stamped]) -> str:
    return "".join(s.event.text for s in stamped if isinstance(s.event, ReasoningDelta))


def kinds(stamped: list[Stamped]) -> list[str]:
    return [s.event.kind for s in stamped]
