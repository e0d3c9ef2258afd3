"""One home for keeping credentials out of everything Playground stores, shows, logs or exports.

Every API key the process is configured with is registered here (``ProviderConfig`` registers
its own key and credential headers; ``Settings`` registers every provider's key variables,
whichever of them a config uses). Outside text — an error body, a frame quoted in an error, a
header, an exception message, an answer — passes through one of these before it is kept:

    redact(text)    configured keys and credential-shaped text (``Authorization: Bearer …``,
                    ``x-api-key: …``, ``?key=…``, ``user:pass@`` in URLs) → "[redacted]".
                    ``PlaygroundError`` applies it to every message it is built with.
    quote(text, n)  redact, then clip to n characters: a clip must never leave half a key.
    mask(text)      configured keys → "*" of the same length: for streamed text, whose chunk
                    lengths are recorded (the timeline must still add up to the text). Text that
                    merely looks like a header is left alone there: answers about HTTP APIs are
                    full of "Authorization: Bearer YOUR_TOKEN".
    redact_value(v) ``redact`` through nested dicts and lists (server metrics).

Log records are redacted as they are made (a log-record factory installed on import), whoever
logs them. Values shorter than ``MIN_SECRET`` are not secrets worth masking ("EMPTY", "none":
what local servers are given as a key) — masking them would garble ordinary text.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

REDACTED = "[redacted]"
MIN_SECRET = 8

# Credential-shaped text, whatever the value: a header (as written in HTTP, JSON, a repr or a
# log line), a bearer token, a key in a query string, a password in a URL.
_HEADER = re.compile(
    r"""(?ix)
    (\b(?:proxy-)?authorization|\bx-api-key|\bx-goog-api-key|\bapi[-_]key|\bx-auth-token)
    (["']?\s*[:=]\s*["']?)                  # : or = with optional quotes around
    (?:(bearer|basic|token)\s+)?            # an auth scheme
    ([^\s"',;&}]+)""")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_QUERY = re.compile(r"(?i)([?&](?:key|api_key|apikey|access_token|token)=)[^&#\s\"']+")
_USERINFO = re.compile(r"(://)[^/\s:@\"']+:[^/\s@\"']+@")
_CREDENTIAL_HEADER = re.compile(r"(?i)authorization|api[-_]?key|token|secret")

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()  # longest first, so a key that contains another goes whole
_any: re.Pattern[str] | None = None


def register(*values: str | None) -> None:
    """Add values that must never be kept or shown (API keys, credential header values)."""
    global _secrets, _any
    new = {v for v in values if isinstance(v, str) and len(v.strip()) >= MIN_SECRET}
    new = {v.strip() for v in new} | new
    if new <= set(_secrets):
        return
    with _lock:
        merged = sorted(set(_secrets) | new, key=lambda s: (-len(s), s))
        _any = re.compile("|".join(re.escape(s) for s in merged))
        _secrets = tuple(merged)


def register_headers(headers: dict[str, Any] | None) -> None:
    """Register the values of credential headers (``Authorization``, ``api-key``, ...) a config
    sends, and the token after an auth scheme ("Bearer <token>")."""
    for name, value in (headers or {}).items():
        if _CREDENTIAL_HEADER.search(str(name)) and isinstance(value, str):
            register(value, value.partition(" ")[2] if " " in value.strip() else None)


def redact(text: str) -> str:
    """``text`` with every configured key and every credential-shaped value as "[redacted]"."""
    pattern = _any
    if pattern is not None and _has_secret(text):
        text = pattern.sub(REDACTED, text)
    if not _looks_credentialed(text):
        return text
    text = _HEADER.sub(_header_value, text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _QUERY.sub(lambda m: m.group(1) + REDACTED, text)
    return _USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)


def quote(text: str, limit: int) -> str:
    """Redacted, then at most ``limit`` characters."""
    return redact(text)[:limit]


def mask(text: str) -> str:
    """Every configured key replaced by as many "*": the length of the text is kept. So is the start
    of a key at the very end (``_PARTIAL_MIN`` characters or more): a live view reads the text while a
    key split over chunks has only partly arrived."""
    pattern = _any
    if pattern is None:
        return text
    if _has_secret(text):
        text = pattern.sub(lambda m: "*" * len(m.group(0)), text)
    return _mask_partial_tail(text)


_PARTIAL_MIN = 6


def _mask_partial_tail(text: str) -> str:
    for secret in _secrets:
        if len(secret) <= _PARTIAL_MIN:
            continue
        tail = text[-(len(secret) - 1):]
        head = secret[:_PARTIAL_MIN]
        start = tail.find(head)
        while start != -1:
            if secret.startswith(tail[start:]):
                return text[: len(text) - len(tail) + start] + "*" * (len(tail) - start)
            start = tail.find(head, start + 1)
    return text


def redact_value(value: Any) -> Any:
    """``redact`` applied to every string in nested dicts and lists (keys included)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_value(k): redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value


def _has_secret(text: str) -> bool:
    """Whether a configured key is in ``text``: ``in`` per key is a C-speed scan, far cheaper than
    the regular expression, and most text (every redraw of a lane's answer) has none."""
    return any(secret in text for secret in _secrets)


def _looks_credentialed(text: str) -> bool:
    """A cheap pre-check before the header patterns (most text has none of these words)."""
    lowered = text.lower()
    return any(word in lowered for word in ("auth", "key", "bearer", "token", "@"))


def _header_value(m: re.Match[str]) -> str:
    scheme = f"{m.group(3)} " if m.group(3) else ""
    return f"{m.group(1)}{m.group(2)}{scheme}{REDACTED}"


# ---- log records -------------------------------------------------------------------------------


def _clean_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed log call is logging's to report, not ours
        return record
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def _install_log_redaction() -> None:
    """Wrap the log-record factory once per process: every record any library makes is redacted
    before a handler sees it (handlers and formatters are configured elsewhere, by others)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_playground_redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return _clean_record(previous(*args, **kwargs))

    factory._playground_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


_install_log_redaction()
