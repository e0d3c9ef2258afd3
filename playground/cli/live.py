"""The live lanes of ``playground compare``: side by side, redrawn ~10 times a second, each
token coloured by its probability when the run asked for them and the terminal has colours
(``playground.cli.tokens``). Ctrl-C stops every lane and keeps the text that arrived."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from playground.api import Comparison
from playground.cli.console import console as make_console
from playground.cli.console import printable
from playground.cli.tokens import Shader, legend, shading
from playground.engine import figures
from playground.engine.tokens import NO_TEMPLATE_NOTE, probability_info

LANES_PER_ROW = 4
STATUS_STYLE = {"ok": "green", "error": "red", "cancelled": "yellow", "streaming": "cyan"}


def _lane_panel(lane: Any, record: dict[str, Any], best: dict[str, set[int]], index: int,
                height: int | None, blind_name: str | None, shader: Shader) -> tuple[Text, Text, Text]:
    name = blind_name or (lane.label or lane.model)
    engine = "" if blind_name else f" ({lane.engine})" if lane.engine else ""
    header = Text(printable(f"{name}{engine}"), style="bold")
    body = shader.body(lane, height)
    if record.get("error"):
        body.append(f"\n⚠ {printable(record['error']['message'])}", style="red")
    status = lane.status
    foot = Text(f"[{status}] ", style=STATUS_STYLE.get(status, "dim"))
    foot.append(figures.summary_line(record, best, index))
    likely = figures.likelihood_line(record["metrics"])
    if likely:
        foot.append(" · " + likely)
    notes = figures.notes(record["metrics"])
    if lane.template is False and not blind_name:  # a base model asked to chat
        notes.append(NO_TEMPLATE_NOTE)
    info = probability_info(lane)
    if status == "ok" and info and info.get("note"):  # said with the name shown (a blind lane's letter)
        notes.append(f"probabilities not offered by {name}")
    if notes:
        foot.append("\n" + printable("; ".join(notes)), style="dim")
    return header, body, foot


def render(comp: Comparison, height: int | None = None, blind: list[str] | None = None,
           shader: Shader | None = None) -> Group:
    lanes = comp.current.lanes if getattr(comp, "current", None) else []
    shader = shader or Shader(False)
    records = [lane.figures() for lane in lanes]  # not record(): no timeline to build per refresh
    best = figures.best_lanes(records)
    parts: list[Any] = []
    if shader.shade and any(lane.params.logprobs is not None or lane.tokens for lane in lanes):
        parts.append(legend())
    for start in range(0, len(lanes), LANES_PER_ROW):
        table = Table(expand=True, show_lines=True)
        cells = [_lane_panel(lanes[i], records[i], best, i, height, blind[i] if blind else None, shader)
                 for i in range(start, min(start + LANES_PER_ROW, len(lanes)))]
        for header, _, _ in cells:
            table.add_column(header, ratio=1, overflow="fold")
        table.add_row(*[body for _, body, _ in cells])
        table.add_row(*[foot for _, _, foot in cells])
        parts.append(table)
    return Group(*parts)


async def drive(comp: Comparison, json_mode: bool, blind: list[str] | None) -> None:
    """Run the comparison under a live view; Ctrl-C cancels every lane and keeps their text."""
    console = make_console(stderr=json_mode)
    show = console.is_terminal or not json_mode
    loop = asyncio.get_running_loop()
    with _ctrl_c(loop, comp.cancel):
        if not show:
            async for _ in comp.events():
                pass
            return
        shader = Shader(shading(console))
        height = max(4, console.size.height - 8) if console.is_terminal else None
        with Live(console=console, refresh_per_second=10, auto_refresh=False,
                  vertical_overflow="visible") as live:
            last = 0.0
            async for _ in comp.events():
                now = loop.time()
                if now - last >= 0.1:
                    live.update(render(comp, height, blind, shader), refresh=True)
                    last = now
            live.update(render(comp, None, blind, shader), refresh=True)


@contextlib.contextmanager
def _ctrl_c(loop: asyncio.AbstractEventLoop, cancel: Any) -> Any:
    """Ctrl-C calls ``cancel`` (the lanes stop, their text is kept) instead of killing the loop.
    Where the loop cannot take signal handlers (Windows), Ctrl-C keeps its default behaviour."""
    installed = True
    try:
        loop.add_signal_handler(signal.SIGINT, cancel)
    except (NotImplementedError, RuntimeError):  # no signal handlers on this loop
        installed = False
    try:
        yield
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
