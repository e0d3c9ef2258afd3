"""The shared machinery of the hosted backends: one home for HTTP.

``HostedBackend`` owns, per backend instance, an ``httpx.AsyncClient`` (created lazily, closed
in ``aclose``), a request throttle and a concurrency cap. Its ``stream`` sends one request per
attempt with four distinct timeouts (connect, first byte, idle gap, total), turns error statuses
into ``backends.errors`` before any stream is read, and retries retryable failures with
exponential back-off and full jitter — only while the attempt has yielded no text, so a retry
never duplicates streamed text. Server hints (``retry-after``, ``retry-after-ms``, Gemini's
``retryDelay``) set the wait; a hint longer than ``retry.max_wait`` means give up. A model that
refuses token probabilities (a 400 about them) is asked once more without, and not again in this
process (``backends.logprob_wire``); score mode on a server that refuses it fails in one line.

It knows no wire format: a subclass builds the request (``build``), adds its auth headers and
turns a response body into typed events (``parse``), with the readers in ``backends.wire``.
It never logs, and the API key never reaches a message, an event or a repr: every error message
is redacted as it is built (``backends.errors``), against every key configured in the process.
"""

from __future__ import annotations

import asyncio
import random
from abc import abstractmethod
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
from asyncio_throttle import Throttler

from backends import errors
from backends import logprob_wire as lw
from backends.base import (
    Backend,
    Event,
    ProviderConfig,
    ReasoningDelta,
    Request,
    Retry,
    Started,
    TextDelta,
    Waiting,
)
from backends.deadlines import Clock, TimedStream
from backends.redact import quote
from backends.registry import PROVIDERS, display_name, server_name
from backends.wire import error_from_response, load_json_document


@dataclass(frozen=True, slots=True)
class HttpCall:
    """One request as a backend builds it (auth headers are added when it is sent)."""

    url: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class HostedBackend(Backend):
    """Base of the HTTP backends. Subclasses implement ``build``, ``auth_headers``, ``parse``."""

    needs_key: ClassVar[bool] = True
    accept: ClassVar[str] = "text/event-stream"
    protocol: ClassVar[str] = "compatible"  # what a server at another address speaks, in messages

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self.name = display_name(config.name)
        self.where = server_name(config, self.protocol)
        self._client: httpx.AsyncClient | None = None
        rate = config.rate
        self._throttle = Throttler(rate.requests, rate.period) if rate.requests else None
        self._slots = asyncio.Semaphore(rate.concurrency) if rate.concurrency else None

    # ---- for subclasses ----------------------------------------------------------------------

    @abstractmethod
    def build(self, request: Request) -> HttpCall:
        """The HTTP call for a request (URL, body, extra headers)."""

    def auth_headers(self) -> dict[str, str]:
        return {}

    @abstractmethod
    def parse(self, response: httpx.Response, request: Request) -> AsyncIterator[Event]:
        """The events of a 2xx streaming response."""

    def hint(self, status: int, request: Request | None) -> str | None:
        """What to do about an error status (appended to the message after " — ")."""
        if status in (401, 403):
            return f"set {self.config.key_env}" if self.config.key_env else "check the credentials"
        if status == 404:
            return f"check the model name ({request.model})" if request else "check the base URL"
        if status == 429:
            return "wait, or lower this provider's rate limit"
        if status >= 500:
            return "the provider failed; try again later"
        return "check the request parameters"

    def retry_after_from_body(self, payload: Any) -> float | None:
        """A wait the error body asks for (Gemini's RetryInfo); None when it says nothing."""
        return None

    # ---- the contract ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        spec = PROVIDERS.get(self.config.name)
        base = self.config.base_url or (spec.default_base_url if spec else None)
        if not base:
            raise errors.ConfigError(f"no base URL for {self.config.name}: set it in playground.toml")
        return base.rstrip("/")

    def check(self, model: str) -> str | None:
        if self._key_required() and not self.config.api_key:
            return f"no API key for {self.config.name}: set {self.config.key_env or 'its API key'}"
        return None

    def endpoint(self, model: str) -> str | None:
        return self.base_url

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def stream(self, request: Request) -> AsyncIterator[Event]:
        self._require_key()
        endpoint = self.endpoint(request.model) or ""
        if lw.asks_probabilities(request) and lw.refused_before(endpoint, request.model):
            request = lw.without_probabilities(request)  # refused before in this process: not asked again
        call = self.build(request)
        policy = self.config.retry
        attempt = 0
        while True:
            attempt += 1
            streamed = refused = False
            failure: errors.BackendError | None = None
            if self._throttle is not None or self._slots is not None:
                yield Waiting("throttle")
            await self._acquire()
            try:
                yield Started()
                try:
                    async for event in self._attempt(call, request):
                        streamed = streamed or isinstance(event, TextDelta | ReasoningDelta)
                        yield event
                    return
                except errors.BackendError as exc:
                    if not streamed and lw.asks_probabilities(request) and lw.refuses_probabilities(exc):
                        # the answer matters more than its probabilities: ask once more without them,
                        # and not again for this model (the lane's record says none were offered)
                        lw.remember_refusal(endpoint, request.model)
                        request, refused = lw.without_probabilities(request), True
                        call = self.build(request)
                    elif not streamed and request.params.mode == "score" and lw.refuses_scoring(exc):
                        raise lw.scoring_refused(request.model, self.where, quote(exc.message, 200)) from exc
                    elif streamed or not exc.retryable or attempt >= policy.max_tries:
                        raise
                    failure = exc
            finally:
                if self._slots is not None:
                    self._slots.release()
            assert failure is not None
            wait = 0.0 if refused else self._backoff(failure, attempt)
            if wait is None:
                raise failure
            yield Retry(attempt, wait, f"{failure.kind}: {failure.message}", failure.kind)
            yield Waiting("retry", detail=failure.kind)
            await asyncio.sleep(wait)

    def mode_problem(self, mode: str) -> str | None:
        if mode in self.modes:
            return None
        return (f"{mode} mode not offered by {self.config.name} — use a gguf:, hf:, ollama: or "
                "OpenAI-compatible model" + (" (score: gguf:, hf: or a vLLM server)" if mode == "score" else ""))

    async def get_json(self, url: str, headers: dict[str, str] | None = None) -> Any:
        """GET a small JSON document (model lists) under the same timeouts and error mapping."""
        self._require_key()
        clock = Clock(self.config.timeouts, self.name)
        client = self._http()
        req = client.build_request("GET", url, headers=self._headers(headers or {}))
        response = await self._send(client, req, clock)
        try:
            body = await response.aread()
            if not response.is_success:
                raise self._status_error(response, body, None)
        except httpx.TransportError as exc:
            raise errors.StreamError(f"connection to {self.name} broke: {type(exc).__name__}") from exc
        finally:
            await response.aclose()
        return load_json_document(body, self.name)

    # ---- internals ---------------------------------------------------------------------------

    def _key_required(self) -> bool:
        """Option ``needs_key`` decides; else a key is needed for the provider's own public
        service, not for a compatible server at another base URL (vLLM, llama.cpp, LM Studio)."""
        if "needs_key" in self.config.options:
            return bool(self.config.options["needs_key"])
        spec = PROVIDERS.get(self.config.name)
        default = spec.default_base_url.rstrip("/") if spec and spec.default_base_url else None
        return self.needs_key and (self.config.base_url is None or self.config.base_url.rstrip("/") == default)

    def _require_key(self) -> None:
        if self._key_required() and not self.config.api_key:
            raise errors.ConfigError(
                f"no API key for {self.config.name}: set {self.config.key_env or 'its API key'}")

    def _headers(self, extra: dict[str, str]) -> dict[str, str]:
        headers = {**self.config.options.get("headers", {}), **extra}
        if self.config.api_key:
            headers.update(self.auth_headers())
        return headers

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(None, connect=self.config.timeouts.connect),
                trust_env=bool(self.config.options.get("trust_env", True)),
            )
        return self._client

    async def _acquire(self) -> None:
        if self._slots is not None:
            await self._slots.acquire()
        if self._throttle is not None:
            try:
                await self._throttle.acquire()
            except BaseException:
                if self._slots is not None:
                    self._slots.release()
                raise

    def _backoff(self, failure: errors.BackendError, attempt: int) -> float | None:
        policy = self.config.retry
        if failure.retry_after is not None:
            return failure.retry_after if failure.retry_after <= policy.max_wait else None
        return random.uniform(0.0, min(policy.max_wait, policy.base_delay * 2 ** (attempt - 1)))

    async def _send(self, client: httpx.AsyncClient, req: httpx.Request, clock: Clock) -> httpx.Response:
        try:
            response = await clock.run(client.send(req, stream=True))
        except httpx.ConnectTimeout as exc:
            raise errors.ConnectTimeout(
                f"could not connect to {self.name} at {self.base_url} within "
                f"{self.config.timeouts.connect:g} s — is it reachable?") from exc
        except httpx.TransportError as exc:
            raise errors.ConnectError(
                f"cannot reach {self.name} at {self.base_url} ({type(exc).__name__}) — "
                "is the server running and the base URL right?") from exc
        response.stream = TimedStream(response.stream, clock)  # type: ignore[arg-type]
        return response

    async def _attempt(self, call: HttpCall, request: Request) -> AsyncIterator[Event]:
        clock = Clock(self.config.timeouts, self.name)
        client = self._http()
        headers = self._headers({"accept": self.accept, "accept-encoding": "identity", **call.headers})
        req = client.build_request("POST", call.url, json=call.body, headers=headers)
        response = await self._send(client, req, clock)
        try:
            if not response.is_success:
                raise self._status_error(response, await response.aread(), request)
            async with aclosing(self.parse(response, request)) as events:
                async for event in events:
                    yield event
        except httpx.RequestError as exc:
            raise errors.StreamError(
                f"{self.where} broke the connection mid-stream ({type(exc).__name__}) — the server or "
                "the network between failed; its log may say why") from exc
        finally:
            await response.aclose()

    async def probe(self, call: HttpCall) -> errors.ProviderError | None:
        """Send ``call`` once more, not streamed, to learn why a stream closed before its first frame
        (llama-cpp-python's server refuses an overflowing prompt so): the error its answer gives,
        or None when it answers. Short, and not retried beyond a stale kept-alive connection; a
        failure to ask is no answer."""
        client = self._http()
        headers = self._headers({"accept": "application/json", **call.headers})
        response = None
        for _ in range(2):  # twice: a kept-alive connection the server has since closed fails at once
            try:
                async with asyncio.timeout(min(self.config.timeouts.first_byte or 30.0, 30.0)):
                    response = await client.post(call.url, json=call.body, headers=headers)
                break
            except httpx.TransportError:
                continue
            except (httpx.HTTPError, TimeoutError):
                return None
        if response is None or response.is_success:
            return None
        return self._status_error(response, response.content, None)

    def _status_error(self, response: httpx.Response, body: bytes, request: Request | None) -> errors.ProviderError:
        return error_from_response(
            response.status_code, response.headers, body, provider=self.name,
            hint=self.hint(response.status_code, request),
            body_retry_after=self.retry_after_from_body, where=self.where)
