"""``playground compare`` and ``playground models``: the lanes live side by side in the terminal.

Thin over ``playground.api.Comparison``: it validates the input (exit 2 on anything unusable,
before a single request), shows the lanes live (``playground.cli.live``), saves unless
``--no-save``, and prints the figures (``playground.cli.tables``). Ctrl-C stops every lane and
still shows and saves what arrived. With ``--json`` stdout carries the session document (token
probabilities included) and nothing else.
"""

from __future__ import annotations

import argparse
import json
import random
import sys

from rich.table import Table

from backends.base import Params
from backends.errors import ConfigError
from playground.api import Comparison
from playground.cli.console import console as make_console
from playground.cli.live import drive
from playground.cli.tables import figures_table, likelihood_table, repeat_table
from playground.engine.runtime import Resolved, Runtime
from playground.session.prompt import check_prompt
from playground.session.recorder import Recorder, open_store
from playground.settings import Settings

EMPTY_HINT = "give a question, or pass - to read it from standard input"  # check_prompt's, in CLI words


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
    if getattr(args, "logprobs", None) is not None:
        given["logprobs"] = args.logprobs
    if getattr(args, "mode", "chat") != "chat":
        given["mode"] = args.mode
    return Params(**given) if given else None


def check_models(resolved: list[Resolved]) -> None:
    """Every id must resolve and pass its backend's cheap check, or the run does not start."""
    for lane in resolved:
        lane.check()


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
        await drive(comp, args.json, blind)
        doc = comp.document
        if args.json:
            sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        else:
            out = make_console()
            out.print(figures_table(doc, blind))
            likelihoods = likelihood_table(doc, blind)
            if likelihoods is not None:
                out.print(likelihoods)
            if args.repeat > 1:
                out.print(repeat_table(doc["turns"][-1]["outputs"], blind))
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
