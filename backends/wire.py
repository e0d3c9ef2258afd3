"""Readers and error translation shared by the hosted wire formats.

SSE frames (via httpx-sse), NDJSON lines, JSON frames that must be objects, a whole answer sent
as one JSON document instead of a stream, error bodies of every provider shape (JSON, plain text,
an HTML page), ``retry-after`` hints and rate-limit headers — all turned into ``backends.errors``
here, once. It sends nothing and keeps no state; ``backends.http`` sends.
"""

from __future__ import annotations

import email.utils
import html
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import httpx
from httpx_sse import EventSource, ServerSentEvent, SSEError

from backends import errors
from backends.overflow import overflow_error
from backends.redact import quote

_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_HTML_HIDDEN = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"<[^>]*>")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_RETRYABLE_TYPES = {"overloaded_error", "api_error", "server_error", "rate_limit_error",
                    "internal", "unavailable", "resource_exhausted"}


async def sse_events(response: httpx.Response, provider: str) -> AsyncIterator[ServerSentEvent]:
    """The server-sent events of a response (comments and keep-alives skipped by httpx-sse)."""
    try:
        async for event in EventSource(cast(httpx.Response, _SseText(response))).aiter_sse():
            yield event
    except SSEError as exc:
        kind = response.headers.get("content-type", "none")
        raise wrong_answer(provider, f"{kind}, not an event stream") from exc


def wrong_answer(provider: str, what: str) -> errors.StreamError:
    """A 2xx answer that is not this protocol's: most often a base URL pointing elsewhere."""
    return errors.StreamError(f"{provider} answered {what} — check the base URL")


class _SseText:
    """A response as ``EventSource`` reads it (headers, text), decoded as the SSE spec decodes a
    stream, which httpx-sse leaves to its caller: one leading UTF-8 byte-order mark is dropped —
    kept, it would glue onto the first field name and lose the first event. And a blank line
    follows the body. The spec drops an event the server did not end with a blank line before
    closing; servers and proxies that close right after their last ``data:`` line exist, and
    that last event is the one with the finish reason (Gemini has no other end marker). A frame
    cut short there still fails, as malformed JSON."""

    def __init__(self, response: httpx.Response) -> None:
        self.headers = response.headers
        self._response = response

    async def aiter_text(self) -> AsyncIterator[str]:
        first = True
        async for text in self._response.aiter_text():
            if first and text:  # the BOM may come split over writes: look at the first decoded text
                text, first = text.removeprefix("\ufeff"), False
            yield text
        yield "\n\n"


async def ndjson_objects(response: httpx.Response, provider: str) -> AsyncIterator[dict[str, Any]]:
    """One JSON object per non-empty line. Lines end at ``\n`` only: httpx's ``aiter_lines`` also
    splits at U+0085 and U+2028, which Go's JSON encoder (Ollama) leaves unescaped in strings."""
    pending = ""
    async for text in response.aiter_text():
        *lines, pending = (pending + text).split("\n")
        for line in lines:
            if line.strip():
                yield json_object(line, provider)
    if pending.strip():
        yield json_object(pending, provider)


def is_json(response: httpx.Response) -> bool:
    """Whether a 2xx answer is one JSON document rather than a stream."""
    kind = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


async def json_frames(response: httpx.Response, provider: str) -> list[dict[str, Any]]:
    """A whole answer sent as one JSON document — a server that ignored ``stream: true``, or
    Gemini without ``alt=sse`` (a list) — as the frames a stream would have carried."""
    document = load_json_document(await response.aread(), provider)
    frames = document if isinstance(document, list) else [document]
    if not all(isinstance(frame, dict) for frame in frames):
        raise wrong_answer(provider, "JSON that is not an object")
    return frames


async def one_json_answer(response: httpx.Response, provider: str, what: str,
                          looks_right: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """The one JSON object a server that ignored ``stream: true`` answered, when ``looks_right``
    accepts it (the protocol's answer, or its error object); else "not {what}"."""
    frames = await json_frames(response, provider)
    if len(frames) != 1 or not looks_right(frames[0]):
        raise wrong_answer(provider, f"JSON that is not {what}")
    return frames[0]


def json_object(text: str, provider: str) -> dict[str, Any]:
    """A frame that must be a JSON object; anything else is a broken stream."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise errors.StreamError(
            f"{provider} sent a malformed frame mid-stream: {quote(text, 80)!r} — try again")
    return value


def mid_stream_error(provider: str, error: Any, where: str | None = None) -> errors.BackendError:
    """An error frame inside a 200 stream. A StreamError, marked retryable when the server says it
    was overloaded or failed (the retry loop still never retries once text was streamed); a
    ContextOverflowError when it says the prompt does not fit (``where`` names the server)."""
    message, kind, code = _error_fields(error)
    if overflow := overflow_error(where or provider, message, _fields(error), kind=kind):
        return overflow
    if kind is None and isinstance(code, str) and not code.isdigit():
        kind = code  # OpenRouter: {"code": "server_error", "message": ...}
    err = errors.StreamError(f"{provider} reported an error mid-stream: {message}"
                             + (f" ({kind})" if kind else ""))
    status = int(code) if isinstance(code, int) or (isinstance(code, str) and code.isdigit()) else None
    if (status is not None and (status == 429 or status >= 500)) or str(kind).lower() in _RETRYABLE_TYPES:
        err.retryable = True
    return err


def error_from_response(
    status: int,
    headers: httpx.Headers,
    body: bytes,
    *,
    provider: str,
    hint: str | None,
    body_retry_after: Callable[[Any], float | None] = lambda payload: None,
    where: str | None = None,
) -> errors.ProviderError:
    """The ProviderError for a non-2xx answer: "401 from OpenAI: <message> — set OPENAI_API_KEY"."""
    try:
        payload: Any = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        payload = payload[0]  # Gemini without alt=sse wraps its error in a list
    if payload is None:
        message, kind = _plain_text(body), None
    else:
        message, kind, _ = _error_fields(payload.get("error", payload) if isinstance(payload, dict)
                                         else payload)
    fields = _fields(payload.get("error", payload)) if isinstance(payload, dict) else None
    if overflow := overflow_error(where or provider, message, fields, status=status, kind=kind):
        return overflow  # any status: llama.cpp's server sent its overflow as a 500 for a while
    retry_after = retry_after_header(headers)
    if retry_after is None and payload is not None:
        retry_after = body_retry_after(payload)
    limits = rate_limit_note(headers) if status == 429 else None
    if status == 429 and retry_after is None:
        retry_after = rate_limit_reset(headers)
    text = f"{status} from {provider}: {message}"
    if limits:
        text += f" ({limits})"
    if hint:
        text += f" — {hint}"
    return errors.error_for_status(status)(text, status=status, provider_type=kind, retry_after=retry_after)


def _plain_text(body: bytes) -> str:
    """An error body that is not JSON, as one line: an HTML page from a proxy or load balancer
    (nginx, Cloudflare) gives its <title>, or its text without tags."""
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("<"):
        title = _HTML_TITLE.search(text)
        text = html.unescape(title.group(1) if title else _HTML_TAG.sub(" ", _HTML_HIDDEN.sub(" ", text)))
    return quote(" ".join(text.split()), 300) or "(empty body)"


def _fields(error: Any) -> dict[str, Any] | None:
    """The innermost error object (``{"error": {...}}`` unwrapped), for the fields beside its message."""
    while isinstance(error, dict) and isinstance(error.get("error"), dict) and "message" not in error:
        error = error["error"]
    return error if isinstance(error, dict) else None


def _error_fields(error: Any) -> tuple[str, str | None, Any]:
    """(message, type, code) from {"message","type"|"status","code"}, a bare string, or anything."""
    if isinstance(error, dict):
        inner = error.get("error")
        if isinstance(inner, dict | str) and "message" not in error:
            return _error_fields(inner)
        message = error.get("message") or error.get("detail") or quote(json.dumps(error), 300)
        kind = error.get("type") or error.get("status")
        return str(message), (str(kind) if kind else None), error.get("code")
    if isinstance(error, str):
        return error, None, None
    return quote(json.dumps(error), 300), None, None


def retry_after_header(headers: httpx.Headers) -> float | None:
    """Seconds from ``retry-after-ms``, or ``retry-after`` as seconds or an HTTP date."""
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def duration_seconds(text: str) -> float | None:
    """"6m0s", "1.5s", "20ms", "45.8s" -> seconds; None if it is not a duration."""
    parts = _DURATION.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        return None
    return sum(float(n) * _UNIT_S[u] for n, u in parts)


def rate_limit_reset(headers: httpx.Headers) -> float | None:
    """When an exhausted OpenAI-style quota resets (``x-ratelimit-reset-*`` of the one at 0)."""
    waits = []
    for what in ("requests", "tokens"):
        if headers.get(f"x-ratelimit-remaining-{what}") == "0":
            reset = duration_seconds(headers.get(f"x-ratelimit-reset-{what}", ""))
            if reset is not None:
                waits.append(reset)
    return max(waits) if waits else None


def rate_limit_note(headers: httpx.Headers) -> str | None:
    """"remaining requests 0, resets in 6m0s" from the ``x-ratelimit-*`` headers, if any."""
    notes = []
    for what in ("requests", "tokens"):
        remaining = headers.get(f"x-ratelimit-remaining-{what}")
        if remaining is not None:
            reset = headers.get(f"x-ratelimit-reset-{what}")
            notes.append(f"remaining {what} {remaining}" + (f", resets in {reset}" if reset else ""))
    return "; ".join(notes) or None


def load_json_document(body: bytes, provider: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise errors.StreamError(f"{provider} sent a body that is not JSON — check the base URL") from exc
