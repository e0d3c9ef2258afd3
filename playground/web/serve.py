"""``playground serve`` and ``python app.py``: check the exposure flags, make the one Runtime and
the one Store of this process, build the page and serve it; close both on the way out.

Safe by default: bound to 127.0.0.1. Binding elsewhere or ``--share`` needs ``--auth user:pass``
(or an explicit ``--no-auth``), and then marks the settings ``exposed`` so free-entry local model
ids may only name configured models and files under the models directory, and the scripted
``test:`` model is refused unless ``[serve] test_model = true`` (``Runtime.resolve`` holds both
fences). Request bodies and prompts are bounded on every page (``[limits]``, ``web/limits.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sys
import threading
from typing import Any

from playground.engine.runtime import Runtime
from playground.session.recorder import open_store
from playground.settings import Settings

LOOPBACK = ("127.0.0.1", "localhost", "::1")
EXIT_USAGE = 2


def check_exposure(host: str, auth: str | None, no_auth: bool, share: bool) -> tuple[bool, tuple[str, str] | None]:
    """(exposed, auth pair); raises ValueError with a one-line reason when unsafe or malformed."""
    exposed = share or host not in LOOPBACK
    pair = None
    if auth:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise ValueError("--auth must be user:password")
        pair = (user, password)
    if exposed and pair is None and not no_auth:
        raise ValueError(f"serving on {'a share link' if share else host} needs --auth user:password "
                         "(or --no-auth to expose it without one)")
    return exposed, pair


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 7860, auth: str | None = None,
          no_auth: bool = False, share: bool = False) -> int:
    try:
        exposed, pair = check_exposure(host, auth, no_auth, share)
    except ValueError as exc:
        print(f"playground: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if exposed:
        settings = dataclasses.replace(settings, exposed=True)
    from playground.web.app import build_app, launch_options
    from playground.web.context import Context

    ctx = Context(settings, Runtime(settings), open_store(settings))
    demo = build_app(ctx)
    queue(demo)
    try:
        demo.launch(server_name=host, server_port=port, auth=pair, share=share, **launch_options(ctx))
    except KeyboardInterrupt:
        pass
    finally:
        stop(demo, ctx)
    return 0


def queue(demo: Any) -> None:
    """The streaming events set their own limit (none); the rest share 8 workers. A bounded queue
    turns a flood into "queue full" errors instead of unbounded memory."""
    demo.queue(default_concurrency_limit=8, max_size=256)


def start(settings: Settings, *, models: list[str] | None = None, port: int | None = None) -> tuple[Any, Any, str]:
    """Build and launch the page in a background thread on 127.0.0.1 (tests, benchmarks, screenshots);
    returns (demo, context, url). End it with ``stop(demo, ctx)``."""
    from playground.web.app import build_app, launch_options
    from playground.web.context import Context

    ctx = Context(settings, Runtime(settings), open_store(settings))
    demo = build_app(ctx, models)
    queue(demo)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                            **launch_options(ctx))
    return demo, ctx, url


def stop(demo: Any, ctx: Any) -> None:
    """Close the page, then the runtime (local workers end) and the store (running outputs marked)."""
    with contextlib.suppress(Exception):
        demo.close()
    # in a thread of its own: the caller may be inside a running event loop (a test, a notebook)
    closer = threading.Thread(target=lambda: asyncio.run(ctx.runtime.aclose()), name="runtime-close")
    closer.start()
    closer.join(timeout=15)
    ctx.store.close()
