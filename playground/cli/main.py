"""The ``playground`` command line: argument parsing and dispatch only.

    playground serve [--host H] [--port P] [--auth U:P | --no-auth] [--share]
    playground models
    playground compare -m ID [-m ID ...] [--system S] [--temperature T] [--max-tokens N] [--seed N]
                       [--logprobs K] [--mode chat|complete|score]
                       [--repeat N] [--warmup] [--session ID [--join-from ID]] [--json] [--no-save]
                       PROMPT|-
    playground sessions list|show|export|import|search|rerun|delete ...
    playground arena vote|judge|battle|leaderboard|export|import ...

Exit codes: 0 every lane ok; 1 a lane failed (its output is still shown and saved); 2 unusable
input (an unknown provider, session or database), with a one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from backends.base import MAX_TOP_LOGPROBS, MODES
from backends.errors import ConfigError, PlaygroundError
from storage.errors import StorageError

EXIT_OK, EXIT_LANE_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse's own default is 2 too)
        self.exit(EXIT_USAGE, f"playground: {message} — see playground {self.prog.split()[-1]} --help\n")


def _add_params(p: argparse.ArgumentParser) -> None:
    p.add_argument("--system", help="system prompt")
    p.add_argument("--temperature", type=float)
    p.add_argument("--top-p", type=float, dest="top_p")
    p.add_argument("--max-tokens", type=int, dest="max_tokens")
    p.add_argument("--seed", type=int)
    p.add_argument("--stop", action="append", default=[], help="a stop sequence (repeatable)")


def _top_k(value: str) -> int:
    """``--logprobs K``: a whole number from 0 to 20, or a one-line refusal."""
    try:
        k = int(value)
    except ValueError:
        k = -1
    if not 0 <= k <= MAX_TOP_LOGPROBS:
        raise argparse.ArgumentTypeError(
            f"give a whole number from 0 to {MAX_TOP_LOGPROBS} (the alternatives kept per token), not {value!r}")
    return k


def _add_probabilities(p: argparse.ArgumentParser) -> None:
    p.add_argument("--logprobs", type=_top_k, metavar="K",
                   help=f"token probabilities with the K (0–{MAX_TOP_LOGPROBS}) most likely alternatives "
                   "per token: each token coloured by its probability")
    p.add_argument("--mode", choices=MODES, default="chat",
                   help="chat (the default), complete (the prompt is a document to continue) or "
                   "score (no answer: how likely each model finds the prompt's text)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="playground", description="Compare LLMs side by side with honest figures.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = sub.add_parser("serve", help="the web page")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=7860)
    serve.add_argument("--auth", help="user:password required when exposed beyond this machine")
    serve.add_argument("--no-auth", action="store_true", help="expose without a password (unsafe)")
    serve.add_argument("--share", action="store_true", help="a public Gradio share link")

    sub.add_parser("models", help="what can be used here, and why not")

    cmp_ = sub.add_parser("compare", help="one prompt to several models, live side by side")
    cmp_.add_argument("-m", "--model", action="append", dest="models", default=[], metavar="ID")
    _add_params(cmp_)
    _add_probabilities(cmp_)
    cmp_.add_argument("--repeat", type=int, default=1, help="run each lane N times")
    cmp_.add_argument("--warmup", action="store_true", help="one uncounted warm-up run first")
    cmp_.add_argument("--session", help="continue this saved session (its models unless -m); each "
                      "model is sent its own earlier answers")
    cmp_.add_argument("--join-from", metavar="ID", dest="join_from",
                      help="with --session: a model new to the session is sent ID's earlier answers "
                      "(default: the earlier prompts only)")
    cmp_.add_argument("--blind", action="store_true", help="hide model names until you vote")
    cmp_.add_argument("--json", action="store_true", help="print the session document only")
    cmp_.add_argument("--no-save", action="store_true", help="do not save the session")
    cmp_.add_argument("prompt", help="the prompt, or - to read it from standard input")

    from playground.cli.arena import add_arena_commands
    from playground.cli.sessions import add_session_commands

    add_session_commands(sub)
    add_arena_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Warnings (a stored session a view skipped, a save that failed) as one line each on stderr.
    logging.basicConfig(level=logging.WARNING, format="playground: %(message)s")
    try:
        return _dispatch(args)
    except (ConfigError, StorageError) as exc:  # unusable input: an unknown session, a bad database URL
        print(f"playground: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PlaygroundError as exc:
        print(f"playground: {exc}", file=sys.stderr)
        return EXIT_LANE_FAILED
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    from playground.settings import Settings

    settings = Settings.load()
    if args.command == "serve":
        from playground.web.serve import serve

        return serve(settings, host=args.host, port=args.port, auth=args.auth,
                     no_auth=args.no_auth, share=args.share)
    if args.command == "models":
        from playground.cli.compare import print_models

        return asyncio.run(print_models(settings))
    if args.command == "compare":
        from playground.cli.compare import run_compare

        return asyncio.run(run_compare(settings, args))
    if args.command == "arena":
        from playground.cli.arena import run_arena

        return run_arena(settings, args)
    if args.command == "sessions":
        from playground.cli.sessions import run_sessions

        return run_sessions(settings, args)
    raise ConfigError(f"unknown command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
