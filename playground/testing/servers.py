"""A real local HTTP server that speaks the hosted wire formats, with scripted behaviour.

``ScriptedServer`` runs uvicorn in a thread on 127.0.0.1 (port 0 picks a free one) — real TCP,
its own event loop — and answers, on one port, all four protocols by path:

    POST /v1/chat/completions, GET /v1/models          openai (base_url("openai") ends in /v1)
    POST /v1/messages, GET /v1/models + anthropic-version   anthropic
    POST /v1beta/models/{m}:streamGenerateContent      gemini (alt=sse)
    GET /v1beta/models                                 gemini (``models`` and one embedding model)
    POST /api/chat, GET /api/tags                      ollama
    POST /v1/completions, POST /api/generate           recorded as "completions", "generate"

The model lists name ``models``; ``Reply(answer_model=...)`` makes an answer name another model
than the one asked for (a server that ignores the name).

Each request takes the next ``Reply`` from the queue (``script(...)``), or, when the queue is
empty, the reply set for its model (``by_model``: concurrent lanes each get their own whatever
order they arrive in, every attempt of a retried one the same), else ``default``; and is recorded
(headers, JSON body, whether the client hung up) in ``requests``. ``Reply(raw=[...])`` sends exact bytes instead (comments, CRLF, UTF-8 split
between writes, a JSON answer to a streaming request), with ``media_type`` as the content-type.
It is test and benchmark machinery, not a model: it streams what it is told.
"""

from __future__ import annotations

import asyncio
import collections
import json
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from playground.testing.endpoints import model_list, response_headers
from playground.testing.frames import WIRES, GeminiWire, Reply, Wire
from playground.testing.logprob_frames import CompletionsWire, GenerateWire

PROTOCOLS = ("openai", "anthropic", "gemini", "ollama")
_WIRES: dict[str, Wire] = {**WIRES, "completions": CompletionsWire(), "generate": GenerateWire()}


@dataclass
class Recorded:
    """One request as the server received it."""

    protocol: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    model: str | None = None
    completed: bool = False  # the whole scripted reply was sent
    disconnected: bool = False  # the client closed the connection before the reply ended
    received_at: float = field(default_factory=time.monotonic)


class _Cut(Exception):
    """Raised inside the app to make uvicorn drop the connection mid-stream."""


_EXACT = {("POST", "/api/chat"): "ollama", ("POST", "/api/generate"): "generate", ("GET", "/api/tags"): "ollama"}
_POSTS = (("/chat/completions", "openai"), ("/v1/completions", "completions"), ("/v1/messages", "anthropic"))


def _route(method: str, path: str, headers: dict[str, str]) -> tuple[str, str, str | None] | None:
    """(protocol, action, model in the path) for a request line, or None."""
    if (method, path) in _EXACT:
        return _EXACT[method, path], "chat" if method == "POST" else "models", None
    if method == "POST":
        if path.endswith(":streamGenerateContent") and "/models/" in path:
            return "gemini", "chat", path.rsplit("/models/", 1)[1].split(":")[0]
        return next(((protocol, "chat", None) for end, protocol in _POSTS if path.endswith(end)), None)
    if method != "GET" or not path.endswith("/models"):
        return None
    if path.endswith("/v1beta/models"):
        return "gemini", "models", None
    return ("anthropic" if path.endswith("/v1/models") and "anthropic-version" in headers else "openai"), "models", None


class ScriptedServer:
    """Start with ``with ScriptedServer() as server:`` (or ``start()``/``stop()``)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.default = Reply()
        self.by_model: dict[str, Reply] = {}
        self.models = ["scripted-a", "scripted-b"]
        self.requests: list[Recorded] = []
        self._queue: collections.deque[Reply] = collections.deque()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # ---- use ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def base_url(self, protocol: str) -> str:
        """The base URL a backend of this protocol should be configured with."""
        return f"{self.url}/v1" if protocol == "openai" else self.url

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next requests, in order."""
        self._queue.extend(replies)

    def reset(self) -> None:
        self._queue.clear()
        self.requests.clear()
        self.by_model.clear()
        self.default = Reply()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> ScriptedServer:
        config = uvicorn.Config(self._app, host=self.host, port=self.port, log_level="critical",
                                lifespan="off", access_log=False, timeout_graceful_shutdown=1,
                                interface="asgi3")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="scripted-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the scripted server did not start")
            time.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)
        self._server = self._thread = None

    # ---- the ASGI app (runs in the server's thread and loop) ---------------------------------

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        route = _route(scope["method"], scope["path"], headers)
        if route is None:
            await _send_json(send, 404, {"error": f"no such path: {scope['path']}"})
            return
        protocol, action, path_model = route
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        record = Recorded(
            protocol=protocol, method=scope["method"], path=scope["path"],
            query=scope.get("query_string", b"").decode(),
            headers=headers, body=body,
            model=path_model or (body.get("model") if isinstance(body, dict) else None))
        self.requests.append(record)
        reply = self._queue.popleft() if self._queue else self.by_model.get(record.model or "", self.default)
        if reply.header_delay:
            await asyncio.sleep(reply.header_delay)
        wire = _WIRES[protocol]
        if reply.status >= 300:
            await _send_json(send, reply.status, reply.body if reply.body is not None else wire.error_body(reply),
                             reply.headers)
            record.completed = True
        elif action == "models":
            await _send_json(send, 200, model_list(protocol, self.models))
            record.completed = True
        else:
            await self._stream(send, receive, wire, reply, record)

    async def _stream(self, send: Any, receive: Any, wire: Wire, reply: Reply, record: Recorded) -> None:
        headers = response_headers({"content-type": reply.media_type or wire.media_type, "cache-control": "no-cache"},
                           reply.headers)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        hung_up = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            async for frame in _frames(wire, reply, record):
                if hung_up.done():
                    record.disconnected = True
                    return
                await send({"type": "http.response.body", "body": frame, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            record.completed = True
        finally:
            hung_up.cancel()


async def _frames(wire: Wire, reply: Reply, record: Recorded) -> AsyncIterator[bytes]:
    model = reply.answer_model or record.model or "scripted"
    if reply.first_delay:
        await asyncio.sleep(reply.first_delay)
    if reply.raw is not None:
        for piece in reply.raw:
            if reply.delay:
                await asyncio.sleep(reply.delay)
            yield piece
        return
    if reply.blocked and isinstance(wire, GeminiWire):
        yield wire.blocked(reply)
        return
    for frame in wire.head(reply, model):
        yield frame
    pieces = [(text, True) for text in reply.reasoning] + [(text, False) for text in reply.chunks]
    for i in range(len(pieces) + 1):
        if i == reply.stall_after:
            await asyncio.sleep(reply.stall)
        if i == reply.malformed_after:
            yield wire.malformed()
        if i == reply.error_after:
            yield wire.error_frame(reply)
            return
        if i == reply.cut_after:
            raise _Cut
        if i == len(pieces):
            break
        if reply.delay:
            await asyncio.sleep(reply.delay)
        text, reasoning = pieces[i]
        yield wire.delta(text, reasoning, i, reply, model)
    for frame in wire.tail(reply, model, record.body):
        yield frame


async def _wait_disconnect(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _send_json(send: Any, status: int, body: Any, headers: Any = None) -> None:
    data = body if isinstance(body, bytes) else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
    raw = response_headers({"content-type": "application/json"}, headers or {})
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data, "more_body": False})
