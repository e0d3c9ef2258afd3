"""The one error tree of Playground's backends.

Every backend translates its library's or its server's failures into one of these at its
boundary (``raise ... from exc``); the engine turns them into a lane's terminal error, so
the other lanes go on. Each message says what to do next.

    PlaygroundError
     ├── ConfigError              unusable input: unknown provider, missing key, bad file (exit 2)
     │    └── MissingExtraError   an optional dependency is not installed
     └── BackendError             a request failed
          ├── ProviderError       the server answered with an error status (carries ``status``)
          │    ├── AuthError          401/403
          │    ├── BadRequestError    400/404/413/422
          │    │    └── ContextOverflowError  the prompt does not fit the model's context window
          │    ├── RateLimitError     429           (retryable)
          │    └── ServerError        5xx, 529      (retryable)
          ├── StreamError         the stream broke: an error frame, malformed data, cut off
          ├── ConnectError        the server could not be reached      (retryable)
          ├── TimeoutError_       base of the four timeouts below
          │    ├── ConnectTimeout     (retryable)
          │    ├── FirstByteTimeout   no response header / first chunk in time (retryable)
          │    ├── IdleTimeout        a gap between chunks was too long
          │    └── TotalTimeout       the whole request took too long
          ├── BlockedError        the provider refused the prompt (safety block)
          ├── ModelLoadError      a local model could not be loaded
          └── EngineCrashed       a local engine's worker process died

``kind`` is the stable string stored in a record's ``error.type``. Every message is passed
through ``backends.redact.redact`` when the error is built: a server that quotes an API key (in
an error body, a frame, a header) cannot get it into a lane, a record, a log line or a toast.
"""

from __future__ import annotations

from backends.redact import redact


class PlaygroundError(Exception):
    kind = "error"

    def __init__(self, message: str) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(PlaygroundError):
    kind = "config"


class MissingExtraError(ConfigError):
    kind = "missing_extra"


class BackendError(PlaygroundError):
    kind = "backend"
    retryable = False
    retry_after: float | None = None


class ProviderError(BackendError):
    kind = "provider"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        provider_type: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.provider_type = provider_type
        self.retry_after = retry_after


class AuthError(ProviderError):
    kind = "auth"


class BadRequestError(ProviderError):
    kind = "bad_request"


class ContextOverflowError(BadRequestError):
    """The conversation does not fit the model's context window: retrying cannot help. Carries the
    numbers the server gave (``asked`` tokens, the window's ``limit``), either may be unknown."""

    kind = "context_overflow"

    def __init__(self, message: str, *, asked: int | None = None, limit: int | None = None,
                 status: int | None = None, provider_type: str | None = None) -> None:
        super().__init__(message, status=status, provider_type=provider_type)
        self.asked = asked
        self.limit = limit


class RateLimitError(ProviderError):
    kind = "rate_limit"
    retryable = True


class ServerError(ProviderError):
    kind = "server"
    retryable = True


class StreamError(BackendError):
    kind = "stream"


class ConnectError(BackendError):
    kind = "connect"
    retryable = True


class TimeoutError_(BackendError):  # noqa: N801 - avoid shadowing the builtin
    kind = "timeout"


class ConnectTimeout(TimeoutError_):
    kind = "timeout.connect"
    retryable = True


class FirstByteTimeout(TimeoutError_):
    kind = "timeout.first_byte"
    retryable = True


class IdleTimeout(TimeoutError_):
    kind = "timeout.idle"


class TotalTimeout(TimeoutError_):
    kind = "timeout.total"


class BlockedError(BackendError):
    kind = "blocked"


class ModelLoadError(BackendError):
    kind = "model_load"


class EngineCrashed(BackendError):
    kind = "engine_crashed"


def error_for_status(status: int) -> type[ProviderError]:
    """The error class for an HTTP status."""
    if status in (401, 403):
        return AuthError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return BadRequestError
