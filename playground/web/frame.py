"""One update of the Compare view, by name: what a streaming action (Run, Replay, Re-run, Stop)
sends to the lanes and to the page around them.

A ``Frame`` holds each lane's header, answer, figures and earlier turns by lane number, and the
session, race chart, export files and notice by name; a field left at ``KEEP`` (or a lane not in
its dict) is not sent. ``updates()`` maps it onto the components as Gradio's dict return
(``{component: value}``); Gradio leaves an output that is not in the dict as it is. Nothing here
knows which action made the frame, so adding an output is one field here and one in ``views``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from playground.web.views import LaneOutputs, PageOutputs


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()  # "leave this output as it is": None is a value (it clears a download button)
_PAGE = tuple(f.name for f in fields(PageOutputs))
_LANES = ("heads", "texts", "stats", "earlier")


@dataclass
class Frame:
    heads: dict[int, str] = field(default_factory=dict)
    texts: dict[int, str] = field(default_factory=dict)
    stats: dict[int, str] = field(default_factory=dict)
    earlier: dict[int, str] = field(default_factory=dict)
    session: Any = KEEP
    race: Any = KEEP
    export_json: Any = KEEP
    export_md: Any = KEEP
    notice: Any = KEEP

    def merged(self, later: Frame) -> Frame:
        """This frame with what ``later`` sends on top."""
        lanes = {name: {**getattr(self, name), **getattr(later, name)} for name in _LANES}
        page = {name: getattr(self, name) if getattr(later, name) is KEEP else getattr(later, name)
                for name in _PAGE}
        return Frame(**lanes, **page)

    def updates(self, lanes: LaneOutputs, page: PageOutputs) -> dict[Any, Any]:
        """``{component: value}`` for what this frame sends. A lane past the components given (a
        replay of fewer lanes than are shown) is left out, and so are headers when ``lanes.heads``
        is empty (an event that does not write them)."""
        out: dict[Any, Any] = {}
        for name in _LANES:
            components = getattr(lanes, name)
            for i, value in getattr(self, name).items():
                if i < len(components):
                    out[components[i]] = value
        for name in _PAGE:
            value = getattr(self, name)
            if value is not KEEP:
                out[getattr(page, name)] = value
        return out
