"""The backend contract: a request goes in, an async stream of typed events comes out.

A backend knows one wire format or one local engine and nothing about other models, the
UI or storage. It raises errors of ``backends.errors``; it never yields error values and
never accumulates the full text (front ends do). It does not stamp times: the engine
stamps every event with ``time.perf_counter()`` as it arrives.

Timing markers, so the engine can apply the definitions of docs/architecture.md#timing the same way for all:
``Waiting`` opens a wait (throttle slot, CPU turn: counted in ``queue_ms``), ``Loading`` opens
a model load (``load_ms``), and ``Started`` is t0 — emitted just before the request is sent or
local generation starts. Each ``Started`` closes the open wait or load; a retry emits ``Retry``
(the failed attempt's end) + ``Waiting`` and then ``Started`` again: the first ``Started`` to the
last is the lane's ``retry_ms``, and the last one is the t0 of TTFT and the timeline.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from backends import redact

Role = Literal["system", "user", "assistant"]
Mode = Literal["chat", "complete", "score"]
MODES: tuple[str, ...] = ("chat", "complete", "score")
MAX_TOP_LOGPROBS = 20  # what OpenAI's top_logprobs allows; the record is sized for it
# How a lane's probabilities were measured (docs/architecture.md#token-probabilities):
# raw = the model's own distribution (before temperature, top-p, penalties); sampled = after the
# sampler's transforms; provider = a hosted API's figures (it does not say which).
LogprobKind = Literal["raw", "sampled", "provider"]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class Params:
    """Sampling parameters; None means "the provider's default" and is not sent.

    ``logprobs``: None = no probabilities (the default, costs nothing); K = 0..20 = each token's
    log-probability and its K most likely alternatives. ``mode``: ``chat`` (roles and the chat
    template), ``complete`` (the prompt is a document the model continues) or ``score`` (no
    generation: the log-probability of every token of the prompt)."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    logprobs: int | None = None
    mode: Mode = "chat"

    def __post_init__(self) -> None:
        lp = self.logprobs
        if lp is not None and (type(lp) is not int or not 0 <= lp <= MAX_TOP_LOGPROBS):
            raise ValueError(f"logprobs must be a whole number from 0 to {MAX_TOP_LOGPROBS} "
                             f"(the alternatives per token), got {lp!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")

    def to_record(self) -> dict[str, Any]:
        """The params as stored in a session record (unset values left out, chat mode too)."""
        out: dict[str, Any] = {}
        for name in ("temperature", "top_p", "max_tokens", "seed", "logprobs"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.stop:
            out["stop"] = list(self.stop)
        if self.mode != "chat":
            out["mode"] = self.mode
        return out

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Params:
        return cls(
            temperature=data.get("temperature"),
            top_p=data.get("top_p"),
            max_tokens=data.get("max_tokens"),
            seed=data.get("seed"),
            stop=tuple(data.get("stop") or ()),
            logprobs=data.get("logprobs"),
            mode=data.get("mode") or "chat",
        )


@dataclass(frozen=True, slots=True)
class Request:
    """One generation: the model part of the id, the conversation and the parameters.

    ``threads`` is set by the engine for local engines (its CPU budget); hosted backends ignore it.
    """

    model: str
    messages: tuple[Message, ...]
    params: Params = Params()
    threads: int | None = None


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds; None disables that timeout."""

    connect: float | None = 10.0
    first_byte: float | None = 120.0
    idle: float | None = 60.0
    total: float | None = 600.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_tries: int = 3  # attempts in all, the first included
    max_wait: float = 60.0  # never wait longer than this between attempts
    base_delay: float = 0.5  # exponential back-off base when the server gives no hint


@dataclass(frozen=True, slots=True)
class RateLimit:
    requests: int | None = None  # at most this many requests ...
    period: float = 1.0  # ... per this many seconds (None requests: no throttle)
    concurrency: int | None = None  # at most this many requests in flight


@dataclass(frozen=True)
class ProviderConfig:
    """Everything a backend instance needs, resolved once from settings.

    ``api_key`` never appears in a repr, a record or a log line; ``key_env`` names where it
    comes from, for error messages ("set OPENAI_API_KEY"). Building one registers its key and
    credential headers with ``backends.redact``, so no text the app keeps can quote them.
    """

    name: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    key_env: str | None = None
    timeouts: Timeouts = Timeouts()
    retry: RetryPolicy = RetryPolicy()
    rate: RateLimit = RateLimit()
    default_max_tokens: int = 1024
    options: dict[str, Any] = field(default_factory=dict)  # backend-specific (n_ctx, models_dir...)

    def __post_init__(self) -> None:
        redact.register(self.api_key)
        headers = self.options.get("headers")
        redact.register_headers(headers if isinstance(headers, dict) else None)


# ---- events -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Waiting:
    reason: Literal["throttle", "retry", "cpu", "server"]
    detail: str = ""
    kind: ClassVar[str] = "waiting"


@dataclass(frozen=True, slots=True)
class Loading:
    detail: str = ""
    kind: ClassVar[str] = "loading"


@dataclass(frozen=True, slots=True)
class Started:
    kind: ClassVar[str] = "started"


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str
    kind: ClassVar[str] = "text"


@dataclass(frozen=True, slots=True)
class TokenProb:
    """One token of the answer (or of the scored text): its text, natural-log probability, and the
    most likely alternatives at that position, best first, as (text, logprob) pairs."""

    text: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()

    def row(self) -> list[Any]:
        """The record's compact row: ``[text, logprob, [[alt, logprob], ...]]`` (4 decimals)."""
        return [self.text, round(self.logprob, 4), [[t, round(lp, 4)] for t, lp in self.top]]


@dataclass(frozen=True, slots=True)
class TokenLogprobs:
    """The probabilities of one or more tokens, in order, following (or for score mode, instead
    of) the text they belong to; several per chunk are allowed (hosted APIs batch them)."""

    tokens: tuple[TokenProb, ...]
    kind: ClassVar[str] = "logprobs"


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """Reasoning ("thinking") text, kept apart from the answer."""

    text: str
    kind: ClassVar[str] = "reasoning"


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts. ``source`` says where they come from; later Usage events replace earlier ones
    field by field (a None field keeps the earlier value)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    source: Literal["provider", "tokenizer"] = "provider"
    kind: ClassVar[str] = "usage"


@dataclass(frozen=True, slots=True)
class Finish:
    """The normalised reason: stop, length, content_filter, tool_calls, safety, cancelled, other."""

    reason: str
    raw: str | None = None
    kind: ClassVar[str] = "finish"


@dataclass(frozen=True, slots=True)
class ServerMetrics:
    """Figures the server reports about itself (Ollama durations, llama.cpp timings), kept apart."""

    values: dict[str, Any]
    kind: ClassVar[str] = "server_metrics"


@dataclass(frozen=True, slots=True)
class Retry:
    """An attempt failed and another follows after ``wait_s``: emitted the moment the failure is
    known, so the engine's stamp is the failed attempt's end (its start was the last Started)."""

    attempt: int  # the attempt that failed, 1-based
    wait_s: float
    error: str  # "<kind>: <message>"
    error_type: str = ""  # the error's kind alone ("timeout.connect", "rate_limit", ...)
    kind: ClassVar[str] = "retry"


@dataclass(frozen=True, slots=True)
class Answered:
    """The model the answer says produced it (OpenAI-compatible chunks' ``model``, Anthropic's
    ``message.model``, Gemini's ``modelVersion``, Ollama's ``model``) — or, for a compatible server
    that echoes whatever name it was sent, the one model it lists. The engine records it when it
    is not the model asked for."""

    model: str
    kind: ClassVar[str] = "answered"


@dataclass(frozen=True, slots=True)
class EngineInfo:
    """What a local engine says about a run: threads used, whether a prompt cache was hit."""

    threads: int | None = None
    prompt_cache_hit: bool | None = None
    engine: str | None = None
    logprob_kind: LogprobKind | None = None  # set when the run carries probabilities
    revision: str | None = None  # the commit a hub revision resolved to, when loaded from the hub
    template: bool | None = None  # False: no chat template, the prompt was sent as plain text
    kind: ClassVar[str] = "engine_info"


Event = (
    Waiting | Loading | Started | TextDelta | ReasoningDelta | Usage | Finish | ServerMetrics
    | Retry | EngineInfo | Answered | TokenLogprobs
)


class Backend(ABC):
    """Base of every backend. Subclasses implement ``stream``; everything else is a helper.

    ``local`` backends run an engine on this machine's CPU: the engine schedules them under
    its CPU budget and passes ``Request.threads``.
    """

    local: ClassVar[bool] = False
    modes: ClassVar[tuple[str, ...]] = ("chat",)  # the Params.mode values this backend serves
    planned_modes: ClassVar[tuple[str, ...]] = ()  # modes its wire format has, not wired yet

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    @abstractmethod
    def stream(self, request: Request) -> AsyncIterator[Event]:
        """The request's events, as an async generator."""

    def endpoint(self, model: str) -> str | None:
        """The server this model is reached at (lanes sharing one queue inside it), if any."""
        return self.config.base_url

    def check(self, model: str) -> str | None:
        """Why this model cannot be used here (one line), or None if it looks usable.
        Must not do network or heavy I/O."""
        return None

    def mode_problem(self, mode: str) -> str | None:
        """Why this backend cannot run a lane in ``mode`` (one line), or None when it can."""
        if mode in self.modes:
            return None
        if mode in self.planned_modes:
            return f"{mode} mode not yet supported for {self.config.name} — use a gguf: or hf: model"
        return f"{mode} mode not offered by {self.config.name} — use a gguf: or hf: model"

    def pin(self, model: str, *, confined: bool = False) -> str:
        """The model part to send for ``model``, fixed once when a lane's id is resolved. Local
        engines turn a path into the real file it names now, so what is checked is what is loaded;
        ``confined`` (an exposed page) limits them to what the server's owner put in place; raises
        ConfigError when refused. Other backends send the name as given."""
        return model

    async def aclose(self) -> None:  # noqa: B027 - optional: most backends hold nothing
        """Release what the backend holds (HTTP clients, worker processes)."""
