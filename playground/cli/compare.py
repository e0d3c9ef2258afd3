"""``playground compare`` and ``playground models``: the lanes live side by side in the terminal.

Thin over ``playground.api.Comparison``: it validates the input (exit 2 on anything unusable,
before a single request), renders the lanes with rich at ~10 frames/s, saves unless
``--no-save``, and prints the figures. Ctrl-C stops every lane and still shows and saves what
arrived. With ``--json`` stdout carries the session document and nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import sys
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from backends.base import Params
from backends.errors import ConfigError
from playground.api import Comparison
from playground.cli.console import console as make_console
from playground.engine import figures
from playground.engine.runtime import Resolved, Runtime
from playground.session.prompt import check_prompt
from playground.session.recorder import Recorder, open_store
from playground.settings import Settings

LANES_PER_ROW = 4
EMPTY_HINT = "give a question, or pass - to read it from standard input"  # check_prompt's, in CLI words
STATUS_STYLE = {"ok": "green", "error": "red", "cancelled": "yellow", "streaming": "cyan"}


def read_prompt(arg: str, limit: int) -> str:
    if arg == "-":
        try:
            text = sys.stdin.read(limit + 1)  # one past the limit is enough to refuse it
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the prompt from standard input: {exc}") from None
        if len(text) > limit:
            raise ConfigError(f"the prompt on standard input is over the limit of {limit:,} characters — "
                              "shorten it (or raise prompt_chars under [limits] in playground.toml)")
        return check_prompt(text, limit, empty_hint=EMPTY_HINT)
    return check_prompt(arg, limit, empty_hint=EMPTY_HINT)


def params_from(args: argparse.Namespace) -> Params | None:
    given = {k: getattr(args, k) for k in ("temperature", "top_p", "max_tokens", "seed")
             if getattr(args, k) is not None}
    if args.stop:
        given["stop"] = tuple(args.stop)
    return Params(**given) if given else None


def check_models(resolved: list[Resolved]) -> None:
    """Every id must resolve and pass its backend's cheap check, or the run does not start."""
    for lane in resolved:
        lane.check()


def _lane_panel(lane: Any, record: dict[str, Any], best: dict[str, set[int]], index: int,
                height: int | None, blind_name: str | None) -> tuple[Text, Text, Text]:
    name = blind_name or (lane.label or lane.model)
    engine = "" if blind_name else f" ({lane.engine})" if lane.engine else ""
    header = Text(f"{name}{engine}", style="bold")
    body = Text(lane.text if height is None else _tail(lane.text, height))
    if record.get("error"):
        body.append(f"\n⚠ {record['error']['message']}", style="red")
    status = lane.status
    foot = Text(f"[{status}] ", style=STATUS_STYLE.get(status, "dim"))
    foot.append(figures.summary_line(record, best, index))
    notes = figures.notes(record["metrics"]) if blind_name else figures.output_notes(record)
    if notes:
        foot.append("\n" + "; ".join(notes), style="dim")
    return header, body, foot


def _tail(text: str, lines: int) -> str:
    parts = text.splitlines()
    return "\n".join(parts[-lines:]) if len(parts) > lines else text


def render(comp: Comparison, height: int | None = None, blind: list[str] | None = None) -> Group:
    lanes = comp.current.lanes if getattr(comp, "current", None) else []
    records = [lane.figures() for lane in lanes]  # not record(): no timeline to build per refresh
    best = figures.best_lanes(records)
    tables = []
    for start in range(0, len(lanes), LANES_PER_ROW):
        table = Table(expand=True, show_lines=True)
        cells = [_lane_panel(lanes[i], records[i], best, i, height, blind[i] if blind else None)
                 for i in range(start, min(start + LANES_PER_ROW, len(lanes)))]
        for header, _, _ in cells:
            table.add_column(header, ratio=1, overflow="fold")
        table.add_row(*[body for _, body, _ in cells])
        table.add_row(*[foot for _, _, foot in cells])
        tables.append(table)
    return Group(*tables)


def figures_table(doc: dict[str, Any], names: list[str] | None = None) -> Table:
    outputs = doc["turns"][-1]["outputs"]
    best = figures.best_lanes(outputs)
    table = Table(title="figures", expand=False)
    for col in ("lane", "status", "TTFT", "total", "tokens", "tok/s", "cost", "notes"):
        table.add_column(col)
    for i, out in enumerate(outputs):
        m = out["metrics"]
        star = {k: " ★" if i in best.get(k, set()) else "" for k in figures.FIGURES}
        name = names[i] if names else out["model"]
        if out.get("repeat") is not None:
            name += f" #{out['repeat']}" + (" (warm-up)" if out.get("warmup") else "")
        table.add_row(
            name, out["status"],
            figures.fmt_ms(m["ttft_ms"]) + star["ttft_ms"],
            figures.fmt_ms(m["total_ms"]) + star["total_ms"],
            f"{figures.estimated_mark(m, 'output_tokens')}{m['output_tokens']}",
            figures.estimated_mark(m, "tokens_per_s") + figures.fmt_rate(m["tokens_per_s"]) + star["tokens_per_s"],
            figures.fmt_cost(m["cost_usd"]) + star["cost_usd"],
            "; ".join(figures.output_notes(out)) or "",
        )
    return table


def repeat_table(outputs: list[dict[str, Any]], names: list[str] | None = None) -> Table:
    from playground.session.aggregate import aggregate

    table = Table(title="repeat runs: median · p90 (min–max)")
    for col in ("lane", "runs", "TTFT", "tok/s", "total"):
        table.add_column(col)
    cell = figures.fmt_summary
    for i, row in enumerate(aggregate(outputs)):
        runs = f"{row['runs']}" + (f" (+{row['failed']} failed)" if row["failed"] else "")
        table.add_row(names[i] if names else row["model"], runs, cell(row["ttft_ms"], "ms"),
                      cell(row["tokens_per_s"], "tok/s"), cell(row["total_ms"], "ms"))
    return table


async def run_compare(settings: Settings, args: argparse.Namespace, runtime: Runtime | None = None) -> int:
    """``playground compare``; ``runtime``: one the caller keeps (and closes), else its own."""
    prompt = read_prompt(args.prompt, settings.limits.prompt_chars)
    own = runtime is None
    runtime = runtime or Runtime(settings)
    store = None if args.no_save else open_store(settings)
    try:
        session = None
        join_from = args.join_from
        if join_from is not None and not args.session:
            raise ConfigError("--join-from needs --session: it says whose earlier answers a model "
                              "new to that session is sent")
        if args.session:
            if store is None:
                raise ConfigError("--session needs saving: drop --no-save")
            session = store.get_session(args.session)
        models = args.models
        if session is not None and not models:
            from playground.session.history import session_models

            models = session_models(session)
        resolved = runtime.prepare(models or [])  # once: checked here, then driven by the run
        check_models(resolved)
        if args.blind:  # the display order gives nothing away
            resolved = random.sample(resolved, len(resolved))
            models = [r.model_id for r in resolved]
        comp = Comparison(runtime, models, prompt, system=args.system, params=params_from(args),
                          session=session, repeat=args.repeat, warmup=args.warmup,
                          recorder=Recorder(store) if store else None,
                          resolved=resolved if models else None, join_from=join_from)
        blind = None
        if args.blind:
            from playground.arena.blind import blind_names

            blind = blind_names(len(comp.models))
        await _drive(comp, args.json, blind)
        doc = comp.document
        if args.json:
            sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        else:
            make_console().print(figures_table(doc, blind))
            if args.repeat > 1:
                make_console().print(repeat_table(doc["turns"][-1]["outputs"], blind))
        if store is not None:
            print(f"session {doc['id']}", file=sys.stderr)
        if blind:
            from playground.arena.blind import vote_in_terminal

            vote_in_terminal(store, doc, blind)
        return 0 if comp.ok else 1
    finally:
        if own:
            await runtime.aclose()
        if store is not None:
            store.close()


async def _drive(comp: Comparison, json_mode: bool, blind: list[str] | None) -> None:
    """Run the comparison under a live view; Ctrl-C cancels every lane and keeps their text."""
    console = make_console(stderr=json_mode)
    show = console.is_terminal or not json_mode
    loop = asyncio.get_running_loop()
    with _ctrl_c(loop, comp.cancel):
        if not show:
            async for _ in comp.events():
                pass
            return
        height = max(4, console.size.height - 8) if console.is_terminal else None
        with Live(console=console, refresh_per_second=10, auto_refresh=False,
                  vertical_overflow="visible") as live:
            last = 0.0
            async for _ in comp.events():
                now = loop.time()
                if now - last >= 0.1:
                    live.update(render(comp, height, blind), refresh=True)
                    last = now
            live.update(render(comp, None, blind), refresh=True)


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


async def print_models(settings: Settings) -> int:
    from playground.engine.discovery import discover

    runtime = Runtime(settings)
    try:
        found = await discover(runtime)
    finally:
        await runtime.aclose()
    table = Table(title="models")
    for col in ("id", "usable", "source", "why / what"):
        table.add_column(col, overflow="fold")
    for m in found:
        table.add_row(m.id, "yes" if m.usable else "no", m.source, m.why)
    make_console().print(table)
    return 0
