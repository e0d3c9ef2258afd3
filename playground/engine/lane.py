"""One lane's state as its stamped events arrive, and its output record (docs/architecture.md#the-session-document).

The engine applies each ``(t, event)`` here; front ends read ``text``/``status`` live and call
``record()`` for the saved output. Figures are derived by ``playground.engine.metrics`` from what is
kept here, so every backend is timed the same way.

This is also where a backend's outside text becomes the lane's: every error, retry note and
server figure is redacted (``backends.redact``) and the answer is masked, so what the page and
the terminal show and what the store and exports keep can never quote a configured key.

A lane that is being saved ends in two steps: ``finish(..., shown=False)`` fixes its record
(``ended``), and ``show_end()`` lets ``status`` (what every live view draws) say so once that
record is committed, so no view says "ok" before the store does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backends.base import (
    Answered,
    EngineInfo,
    Finish,
    Loading,
    Params,
    ReasoningDelta,
    Retry,
    ServerMetrics,
    Started,
    TextDelta,
    TokenLogprobs,
    TokenProb,
    Usage,
    Waiting,
)
from backends.errors import PlaygroundError
from backends.redact import mask, redact, redact_value
from playground.engine import metrics
from playground.engine.tokens import probability_record
from storage.document import MAX_COUNT


@dataclass
class LaneState:
    model: str
    params: Params
    label: str | None = None
    provider: str = ""
    provider_model: str = ""  # the model part sent to the provider (a named model's target)
    engine: str = ""
    local: bool = False
    prompt_chars: int = 0
    repeat: int | None = None
    warmup: bool = False
    history_from: str | None = None  # recorded as is: whose answers it was sent for turns it missed
    system: str | None = None  # this lane's own system prompt (replacing the session's), if any

    status: str = "waiting"  # waiting, queued, loading, running, streaming, then ok/error/cancelled
    ended: str | None = None  # the terminal status of the record, set by finish(), shown by show_end()
    chunks: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)  # perf_counter of each text chunk
    t0: float | None = None  # the answering attempt's request sent (the last Started)
    t_first: float | None = None  # the first attempt's request sent; t0 too unless retried
    t_end: float | None = None
    queue_s: float = 0.0
    load_s: float = 0.0
    _open: tuple[str, float] | None = None  # ("queue"|"load", since)
    input_tokens: int | None = None
    output_tokens: int | None = None
    token_source: str | None = None
    finish_reason: str | None = None
    error: dict[str, str] | None = None
    server_metrics: dict[str, Any] = field(default_factory=dict)
    retries: list[dict[str, Any]] = field(default_factory=list)
    threads: int | None = None
    prompt_cache_hit: bool | None = None
    shared_with: list[str] = field(default_factory=list)
    waited_for: list[str] = field(default_factory=list)
    cost_usd: float | None = None
    answered: str | None = None  # the model the answer names (backends.base.Answered)
    tokens: list[TokenProb] = field(default_factory=list)  # per-token probabilities, in order
    logprob_kind: str | None = None  # raw, sampled or provider (backends.base.LogprobKind)
    revision: str | None = None  # the commit a hub revision resolved to
    template: bool | None = None  # False: a chat-mode prompt sent as plain text (no template)
    continues: int | None = None  # complete mode: the lane whose continuation the document kept

    @property
    def text(self) -> str:
        # masked, not redacted: the same length, so the timeline's chunk lengths still add up
        return mask("".join(self.chunks))

    @property
    def done(self) -> bool:
        return self.ended is not None

    def _close_open(self, t: float) -> None:
        if self._open:
            what, since = self._open
            if what == "queue":
                # a wait after the first request was sent (back-off, a throttle slot for the
                # next attempt) is part of the retries (t0 - t_first), not of queue_ms
                if self.t_first is None:
                    self.queue_s += t - since
            else:
                self.load_s += t - since
            self._open = None

    def apply(self, t: float, event: object) -> None:
        """Fold one stamped event into the state. Hot path: keep it cheap."""
        if isinstance(event, TextDelta):
            if event.text:
                self.chunks.append(event.text)
                self.stamps.append(t)
                self.status = "streaming"
        elif isinstance(event, TokenLogprobs):
            self.tokens.extend(event.tokens)
        elif isinstance(event, Started):
            self._close_open(t)
            if self.t_first is None:
                self.t_first = t
            self.t0 = t
            self.status = "running"
        elif isinstance(event, Waiting):
            self._close_open(t)
            self._open = ("queue", t)
            self.status = "queued"
        elif isinstance(event, Loading):
            self._close_open(t)
            self._open = ("load", t)
            self.status = "loading"
        elif isinstance(event, Usage):
            # A provider's counts as given only when the record can hold them (storage.schema
            # refuses a save with -5 or 10**30 tokens); anything else counts as not reported.
            if _count(event.input_tokens):
                self.input_tokens = event.input_tokens
            if _count(event.output_tokens):
                self.output_tokens = event.output_tokens
            self.token_source = event.source
        elif isinstance(event, Finish):
            self.finish_reason = event.reason
        elif isinstance(event, ReasoningDelta):
            self.reasoning.append(event.text)
        elif isinstance(event, ServerMetrics):
            self.server_metrics.update(redact_value(event.values))
        elif isinstance(event, Retry):
            self.retries.append(self._attempt(t, event))
        elif isinstance(event, Answered):
            self.answered = redact(" ".join(event.model.split()))[:_NAME_MAX] or None
        elif isinstance(event, EngineInfo):
            if event.threads is not None:
                self.threads = event.threads
            if event.prompt_cache_hit is not None:
                self.prompt_cache_hit = event.prompt_cache_hit
            if event.logprob_kind is not None:
                self.logprob_kind = event.logprob_kind
            if event.revision is not None:
                self.revision = event.revision
            if event.template is not None:
                self.template = event.template

    def _attempt(self, t: float, event: Retry) -> dict[str, Any]:
        """A failed attempt as recorded: when it was sent (ms after the first attempt was), how
        long it took until it failed, why, and how long the back-off before the next one was."""
        start = self.t0 if self.t0 is not None else t
        first = self.t_first if self.t_first is not None else start
        return {"attempt": event.attempt, "start_ms": round((start - first) * 1000, 1),
                "duration_ms": round((t - start) * 1000, 1), "error_type": event.error_type or None,
                "error": redact(event.error), "wait_ms": round(event.wait_s * 1000, 1)}

    def finish(self, t: float, status: str, exc: BaseException | None = None, *, shown: bool = True) -> None:
        """End the lane and price it; with ``shown=False`` its ``status`` stays as it was until
        ``show_end()``."""
        self._close_open(t)
        self.t_end = t
        self.ended = status
        self.cost_usd = metrics.price(self)
        if shown:
            self.status = status
        if exc is not None:
            if isinstance(exc, PlaygroundError):
                self.error = {"type": exc.kind, "message": redact(exc.message)}
            else:
                self.error = {"type": "internal", "message": redact(f"{type(exc).__name__}: {exc}")}

    @property
    def answered_by(self) -> str | None:
        """The model that answered when the answer names another than the one asked for — a
        server that ignores the name (``openai:nope``); None when it is the same one."""
        if self.answered is None or _same_model(self.answered, self.provider_model or self.model):
            return None
        return self.answered

    def show_end(self) -> None:
        """Let ``status`` say how the lane ended (its record is saved)."""
        if self.ended is not None:
            self.status = self.ended

    def figures(self) -> dict[str, Any]:
        """What a live view draws under a lane (status, error, metrics): the record without the
        text and the timeline, which grow with every chunk and are not needed to redraw figures."""
        shown = self.ended is not None and self.status == self.ended
        out = {"status": self.status if shown else "running", "error": self.error if shown else None,
               "metrics": metrics.compute(self), "finish_reason": self.finish_reason if shown else None}
        if self.answered_by is not None:
            out["answered_by"] = self.answered_by
        return out

    def record(self) -> dict[str, Any]:
        """The output record (``playground.session/1``, docs/architecture.md#the-session-document)."""
        t0 = self.t0
        timeline = [] if t0 is None else [
            [round((s - t0) * 1000, 1), len(c)] for s, c in zip(self.stamps, self.chunks, strict=True)
        ]
        out: dict[str, Any] = {
            "model": self.model,
            "label": self.label,
            "params": self.params.to_record() | ({"system": self.system} if self.system is not None else {}),
            "text": self.text,
            "status": self.ended or "running",
            "error": self.error,
            "finish_reason": self.finish_reason,
            "metrics": metrics.compute(self),
            "server_metrics": dict(self.server_metrics),
            "timeline": timeline,
        }
        if self.answered_by is not None:
            out["answered_by"] = self.answered_by
        if self.reasoning:
            out["reasoning"] = mask("".join(self.reasoning))
        out.update(probability_record(self))
        if self.retries:
            out["retries"] = list(self.retries)
        if self.repeat is not None:
            out["repeat"] = self.repeat
        if self.warmup:
            out["warmup"] = True
        if self.history_from is not None:
            out["history_from"] = self.history_from
        return out


_NAME_MAX = 200  # a model name longer than this is a server's noise, not a name


def _same_model(answered: str, asked: str) -> bool:
    """Whether the name an answer gives is the model asked for, written as its provider writes
    it: Gemini's ``models/`` prefix, Ollama's ``:latest`` tag and letter case do not count."""
    def norm(name: str) -> str:
        return name.strip().lower().removeprefix("models/").removesuffix(":latest")
    return norm(answered) == norm(asked)


def _count(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_COUNT
