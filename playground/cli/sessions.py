"""``playground sessions list|show|export|import|search|rerun|delete``: saved sessions in the terminal."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from backends.errors import ConfigError
from playground.cli.console import console, printable
from playground.settings import Settings
from storage.document import Session

if TYPE_CHECKING:
    from storage import Store


def add_session_commands(sub: Any) -> None:
    p = sub.add_parser("sessions", help="saved sessions")
    ss = p.add_subparsers(dest="action", required=True, parser_class=type(p))
    lst = ss.add_parser("list", help="newest first")
    lst.add_argument("--json", action="store_true")
    lst.add_argument("--limit", type=int, default=20)
    lst.add_argument("--model", help="only sessions with this model")
    show = ss.add_parser("show", help="a session's answers and figures")
    show.add_argument("id")
    exp = ss.add_parser("export", help="as JSON (playground.session/1), Markdown, or HTML that replays the race")
    exp.add_argument("id")
    exp.add_argument("-o", "--output", help="file to write (default: standard output); with several formats "
                                            "the name without its suffix: -o espresso writes espresso.json, …")
    exp.add_argument("--format", default="json",
                     help="json, md or html; or several, comma-separated (json,md,html), with -o: the "
                          "Markdown then links to the HTML and JSON beside it")
    imp = ss.add_parser("import", help="a session JSON file, or an HTML export (- for standard input)")
    imp.add_argument("file")
    srch = ss.add_parser("search", help="full text over prompts and answers")
    srch.add_argument("query")
    srch.add_argument("--model")
    srch.add_argument("--limit", type=int, default=20)
    srch.add_argument("--json", action="store_true")
    rr = ss.add_parser("rerun", help="run a session's turns again as a new, linked session")
    rr.add_argument("id")
    rr.add_argument("-m", "--model", action="append", dest="models", default=[], metavar="ID")
    rr.add_argument("--json", action="store_true")
    dele = ss.add_parser("delete", help="delete a session")
    dele.add_argument("id")


def _summaries_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    for col in ("id", "created", "title", "models", "turns", "status"):
        table.add_column(col, overflow="fold")
    for r in rows:
        statuses = r.get("statuses") or []
        table.add_row(r["id"], str(r.get("created_at", ""))[:19], r.get("title") or "",
                      ", ".join(r.get("models") or []), str(r.get("turns", "")),
                      " ".join(statuses) if isinstance(statuses, list) else str(statuses))
        if r.get("snippet"):
            table.add_row("", "", Text(r["snippet"], style="dim"), "", "", "")
    return table


def _read_file(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"file not found: {name}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {name}: {exc}") from None


def run_sessions(settings: Settings, args: argparse.Namespace) -> int:
    from playground.session.recorder import open_store
    from storage import ImportRejected, NotFound

    store = open_store(settings)
    out = console()
    try:
        if args.action == "list":
            rows = store.list_sessions(limit=args.limit, model=args.model)
            if args.json:
                print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
            else:
                out.print(_summaries_table(rows, "sessions"))
        elif args.action == "search":
            rows = store.search(args.query, model=args.model, limit=args.limit)
            if args.json:
                print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
            else:
                out.print(_summaries_table(rows, f"search: {args.query}"))
        elif args.action == "show":
            _show(out, store.get_session(args.id))
        elif args.action == "export":
            _export(store, args)
        elif args.action == "import":
            new_id, created = store.import_or_open(_read_file(args.file))
            if not created:  # same id and content as a saved session: no second copy
                print(f"session {new_id} is saved already: not copied", file=sys.stderr)
            print(new_id)
        elif args.action == "delete":
            store.delete_session(args.id)
            print(f"deleted {args.id}", file=sys.stderr)
        elif args.action == "rerun":
            return asyncio.run(_rerun(settings, store, args))
        return 0
    except NotFound:
        raise ConfigError(f"no session {args.id!r}: see playground sessions list") from None
    except ImportRejected as exc:
        raise ConfigError(f"import rejected: {exc}") from None
    finally:
        store.close()


FORMATS = {"json": ".json", "md": ".md", "html": ".html"}


def _export_paths(formats: str, output: str | None) -> dict[str, str | None]:
    """Each format asked for and where it goes (None: standard output)."""
    wanted = list(dict.fromkeys(f.strip().lower() for f in formats.split(",") if f.strip()))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise ConfigError(f"--format {formats!r}: use json, md or html, or several comma-separated (json,md,html)")
    if len(wanted) == 1:
        return {wanted[0]: output}
    if not output:
        raise ConfigError("several formats need -o NAME: -o espresso writes espresso.json, espresso.md, …")
    path = Path(output)
    stem = path.with_suffix("") if path.suffix.lower() in FORMATS.values() else path
    return {f: f"{stem}{FORMATS[f]}" for f in wanted}


def _export(store: Store, args: argparse.Namespace) -> None:
    from playground.api import export_html
    from playground.arena.blind import names_hidden
    from storage.markdown import to_markdown

    paths = _export_paths(args.format, args.output)
    doc = store.export_document(args.id)
    for fmt, path in paths.items():
        if fmt == "md":
            beside = [Path(p).name for f, p in paths.items() if f in ("html", "json") and p]
            text = to_markdown(doc, beside)
        elif fmt == "html":
            text = export_html(doc)
            if names_hidden(doc):
                print(f"session {doc['id']} is blind and not voted on: the HTML names no model and cannot be "
                      f"imported (vote: playground arena vote {doc['id']} A|B|tie|bothbad)", file=sys.stderr)
        else:
            text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
        if path is None:
            sys.stdout.write(text)
            continue
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
        print(f"wrote {path}", file=sys.stderr)


def _show(out: Console, doc: dict[str, Any]) -> None:
    from playground.cli.tables import figures_table

    session = Session.of(doc)
    out.print(Text.assemble((str(session.title), "bold"), f"  {session.id}  {session.created_at}"))
    if session.system:
        out.print(Text.assemble(("system:", "dim"), " ", session.system))
    for n, (turn, record) in enumerate(zip(session.turns, doc["turns"], strict=True), 1):
        out.rule(f"turn {n}")
        out.print(Text(f"> {turn.prompt}", style="bold"))
        for o in turn.outputs:
            out.print(Text.assemble((o.model, "cyan"), f" [{o.status}]"))
            out.print(printable(o.text))
            if o.error:
                out.print(Text(printable(str(o.error.message)), style="red"))
        out.print(figures_table({"turns": [record]}))


async def _rerun(settings: Settings, store: Store, args: argparse.Namespace) -> int:
    from playground.cli.compare import check_models
    from playground.cli.tables import figures_table
    from playground.engine.runtime import Runtime
    from playground.session.recorder import Recorder
    from playground.session.rerun import Rerun

    source = store.get_session(args.id)
    runtime = Runtime(settings)
    try:
        rerun = Rerun(runtime, source, args.models or None, recorder_factory=lambda: Recorder(store))
        check_models(rerun.targets)
        async for _ in rerun.events():
            pass
    finally:
        await runtime.aclose()
    doc = rerun.document
    if args.json:
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    else:
        for turn in doc["turns"]:
            console().print(figures_table({"turns": [turn]}))
    print(f"session {doc['id']} (re-run of {source['id']})", file=sys.stderr)
    return 0 if rerun.ok else 1
