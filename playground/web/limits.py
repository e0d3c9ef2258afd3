"""The page's bound on request bodies: an ASGI middleware in front of Gradio's routes.

Gradio bounds uploaded files (``max_file_size``, given the same figure) but reads any other body
whole — a join of the queue carrying a gigabyte of "prompt" would be held in memory before a
handler could refuse it. This answers 413 with one line instead: at once when the declared
``Content-Length`` is over the limit, or as soon as a body sent without one goes past it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

BODY_SLACK = 1024 * 1024  # a multipart upload's framing around a file of the largest size
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def too_large_text(max_bytes: int) -> str:
    return (f"request body over the limit of {max_bytes / 1024 / 1024:g} MB — send less "
            "(or raise upload_mb under [limits] in playground.toml)")


class BodyLimit:
    """Refuses request bodies over ``max_bytes`` (and the slack of an upload's framing) with 413
    and a one-line message."""

    def __init__(self, app: Callable[..., Awaitable[None]], max_bytes: int) -> None:
        self.app, self.max_bytes, self.allowed = app, max_bytes, max_bytes + BODY_SLACK

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.allowed):
            await self._refuse(send)
            return
        seen = 0
        over = started = False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.allowed:  # the app sees a client gone; its answer is replaced
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def answer(message: Message) -> None:
            nonlocal started
            if over:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, answer)
        except Exception:
            if not over:
                raise
        if over and not started:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = too_large_text(self.max_bytes).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
