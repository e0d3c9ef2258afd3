"""``playground arena vote|judge|battle|leaderboard|export|import``: blind votes and the leaderboard
in the terminal. Gathering and fitting live in ``playground.arena.ratings`` and ``playground.arena``."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from backends.errors import ConfigError
from playground.cli.console import console
from playground.settings import Settings
from storage.document import Turn

if TYPE_CHECKING:
    from storage import Store


def add_arena_commands(sub: Any) -> None:
    p = sub.add_parser("arena", help="blind votes, judge votes and the leaderboard")
    aa = p.add_subparsers(dest="action", required=True, parser_class=type(p))
    vote = aa.add_parser("vote", help="vote on a session's turn (A, B, tie, bothbad, or a letter)")
    vote.add_argument("id")
    vote.add_argument("answer")
    vote.add_argument("--turn", type=int, default=-1)
    vote.add_argument("--named", action="store_true", help="the names were visible when you judged")
    vote.add_argument("--withdraw", action="store_true", help="remove your vote on that turn")
    judge = aa.add_parser("judge", help="let a model vote on a session's turn")
    judge.add_argument("id")
    judge.add_argument("-m", "--model", required=True, dest="judge_model")
    judge.add_argument("--rubric", help="a file holding the rubric prompt (default: built in)")
    judge.add_argument("--turn", type=int, default=-1)
    battle = aa.add_parser("battle", help="a blind comparison of two models drawn from a pool")
    battle.add_argument("--pool", action="append", default=[], metavar="ID", required=True)
    battle.add_argument("--lanes", type=int, default=2)
    battle.add_argument("prompt")
    board = aa.add_parser("leaderboard", help="Bradley–Terry ratings with 95%% intervals")
    board.add_argument("--source", choices=("human", "judge", "both"), default="human")
    board.add_argument("--include-named", action="store_true", help="also votes cast with names visible")
    board.add_argument("--bothbad", choices=("exclude", "tie"), default="exclude")
    board.add_argument("--since")
    board.add_argument("--until")
    board.add_argument("--tag", action="append", dest="tags")
    board.add_argument("--json", action="store_true")
    exp = aa.add_parser("export", help="votes as Chatbot Arena battle JSON lines")
    exp.add_argument("file", help="- for standard output")
    imp = aa.add_parser("import", help="a battle file (JSON lines or Chatbot Arena's JSON)")
    imp.add_argument("file")


def run_arena(settings: Settings, args: argparse.Namespace) -> int:
    from playground.session.recorder import open_store

    if args.action == "battle":
        return asyncio.run(_battle(settings, args))
    store = open_store(settings)
    try:
        if args.action == "vote":
            return _vote(store, args)
        if args.action == "judge":
            return asyncio.run(_judge(settings, store, args))
        if args.action == "leaderboard":
            return _leaderboard(store, args)
        if args.action == "export":
            return _export(store, args)
        if args.action == "import":
            from playground.arena.ratings import import_battle_text

            try:
                text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
                n = import_battle_text(store, text)
            except FileNotFoundError:
                raise ConfigError(f"file not found: {args.file}") from None
            except (ValueError, KeyError) as exc:
                raise ConfigError(f"not a battle file: {exc}") from None
            print(f"imported {n} battles", file=sys.stderr)
        return 0
    finally:
        store.close()


def _turn_index(doc: dict[str, Any], turn: int) -> int:
    n = len(doc["turns"])
    index = turn if turn >= 0 else n + turn
    if not 0 <= index < n:
        raise ConfigError(f"session {doc['id']} has {n} turn(s): no turn {turn}")
    return index


def _vote(store: Store, args: argparse.Namespace) -> int:
    from playground.arena import withdraw_vote
    from playground.arena.blind import record_vote, vote_from_answer

    doc = store.get_session(args.id)
    turn = _turn_index(doc, args.turn)
    if args.withdraw:
        store.set_votes(doc["id"], withdraw_vote(doc, turn).get("votes") or [])
        print("vote withdrawn", file=sys.stderr)
        return 0
    models = [o.model for o in Turn.of(doc["turns"][turn]).counted]
    try:
        vote = vote_from_answer(args.answer, turn, models, blind=not args.named)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    record_vote(store, doc, vote)
    for i, model in enumerate(models):
        print(f"Model {chr(65 + i)} was {model}", file=sys.stderr)
    return 0


async def _judge(settings: Settings, store: Store, args: argparse.Namespace) -> int:
    from playground.arena.blind import record_vote
    from playground.arena.judge import DEFAULT_RUBRIC, judge_turn
    from playground.engine.runtime import Runtime

    doc = store.get_session(args.id)
    rubric = Path(args.rubric).read_text(encoding="utf-8") if args.rubric else DEFAULT_RUBRIC
    runtime = Runtime(settings)
    try:
        vote = await judge_turn(runtime, doc, _turn_index(doc, args.turn), args.judge_model, rubric)
    finally:
        await runtime.aclose()
    record_vote(store, doc, vote)
    print(vote["judge"]["reasoning"])
    print(f"judge vote: {vote['outcome']}" + (f" (lane {vote['winner']})" if vote["winner"] is not None else ""),
          file=sys.stderr)
    return 0


async def _battle(settings: Settings, args: argparse.Namespace) -> int:
    from playground.arena import choose_battle, pair_counts
    from playground.arena.ratings import Filters, all_battles
    from playground.cli.compare import run_compare
    from playground.session.recorder import open_store

    if len(set(args.pool)) < args.lanes:
        raise ConfigError(f"the pool needs at least {args.lanes} different models")
    store = open_store(settings)
    try:
        battles = all_battles(store, Filters(blind_only=False, source="both"))
    finally:
        store.close()
    counts = pair_counts((b.model_a, b.model_b) for b in battles)
    models = choose_battle(sorted(set(args.pool)), counts, lanes=args.lanes)
    # the arguments of `compare --blind -m A -m B -- PROMPT`, parsed by compare's own parser: every
    # option compare reads gets its default (a hand-made Namespace missed the ones added since)
    from playground.cli.main import build_parser

    argv = ["compare", "--blind", *(x for m in models for x in ("-m", m)), "--", args.prompt]
    return await run_compare(settings, build_parser().parse_args(argv))


def _leaderboard(store: Store, args: argparse.Namespace) -> int:
    from playground.arena.ratings import Filters, board

    filters = Filters(since=args.since, until=args.until, tags=tuple(args.tags) if args.tags else None,
                      blind_only=not args.include_named, source=args.source, bothbad=args.bothbad)
    result = board(store, filters)
    if args.json:
        rows = [dataclasses.asdict(r) for r in result["ratings"]]
        print(json.dumps({"battles": result["battles"], "ratings": rows}, indent=2))
        return 0
    table = Table(title=f"leaderboard — {result['battles']} battles ({args.source}, "
                        f"{'all votes' if args.include_named else 'blind votes'}, both-bad {args.bothbad})")
    for col in ("rank", "model", "rating", "95% interval", "votes", "W-T-L"):
        table.add_column(col)
    for r in result["ratings"]:
        if r.rating is None:
            table.add_row("—", r.model, "unrated", "", "0", "")
            continue
        table.add_row(str(r.rank), r.model, f"{r.rating:.0f}", f"{r.lower:.0f} – {r.upper:.0f}",
                      str(r.votes), f"{r.wins}-{r.ties}-{r.losses}")
    console().print(table)
    return 0


def _export(store: Store, args: argparse.Namespace) -> int:
    from playground.arena import write_battles
    from playground.arena.ratings import Filters, all_battles

    battles = all_battles(store, Filters(blind_only=False, source="both"))
    if args.file == "-":
        n = write_battles(battles, sys.stdout)
    else:
        with open(args.file, "w", encoding="utf-8") as fh:
            n = write_battles(battles, fh)
    print(f"exported {n} battles", file=sys.stderr)
    return 0
