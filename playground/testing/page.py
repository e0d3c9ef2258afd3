"""The page served for a browser test: a scripted OpenAI-compatible server on 127.0.0.1 behind
``OPENAI_BASE_URL``, a Playground home with its own ``playground.toml``, and the page itself on a
free port — started together and stopped together (``served_page``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

from playground.settings import Settings
from playground.testing.ports import free_port
from playground.testing.servers import ScriptedServer
from playground.web.serve import start, stop


@contextmanager
def served_page(home: Path, models: Sequence[str], *, key: str, toml: str | None = None,
                env: dict[str, str] | None = None, listed: list[str] | None = None) -> Iterator[SimpleNamespace]:
    """``SimpleNamespace(server, ctx, url)``: the page on ``models`` with ``home`` as its home
    (``toml``: its playground.toml), the scripted server answering as ``openai`` with ``key``
    (``listed``: the models its ``/models`` lists), plus any other ``env``."""
    server = ScriptedServer().start()
    try:
        if listed is not None:
            server.models = listed
        if toml is not None:
            (home / "playground.toml").write_text(toml)
        settings = Settings.load(env={"PLAYGROUND_HOME": str(home), "OPENAI_API_KEY": key,
                                      "OPENAI_BASE_URL": server.base_url("openai"), **(env or {})}, cwd=home)
        demo, ctx, url = start(settings, models=list(models), port=free_port())
        try:
            yield SimpleNamespace(server=server, ctx=ctx, url=url)
        finally:
            stop(demo, ctx)
    finally:
        server.stop()
