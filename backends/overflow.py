"""A context overflow, told apart from other errors: the one home of every provider's wording.

A prompt (with the conversation before it) longer than the model's context window is refused in
as many words as there are servers — an error status, an error frame inside a 200 stream, or (for
llama-cpp-python's server) a stream closed before its first frame, whose words only a second,
non-streaming ask brings out (``backends.openai``). ``overflow_error`` reads the message and the
error object's fields and, when they say overflow, returns a ``ContextOverflowError`` with the
numbers the server gave, in one sentence without "try again" (retrying cannot help). The shapes
are listed in docs/protocols.md, "Context overflow".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from backends.errors import ContextOverflowError
from backends.redact import quote

_I = re.IGNORECASE | re.DOTALL
# (pattern, group of the tokens asked, group of the window's limit); 0: not in this wording
_NUMBERED: tuple[tuple[re.Pattern[str], int, int], ...] = (
    # llama-cpp-python's own ValueError (its server's log, a proxy passing it on)
    (re.compile(r"Requested tokens \((\d+)\) exceed context window of (\d+)", _I), 1, 2),
    # OpenAI, vLLM, Groq, llama-cpp-python's server: "maximum context length is 2048 tokens.
    # However, you requested 2257 tokens" / "your messages resulted in" / "your request has"
    (re.compile(r"maximum context length is (\d+) tokens.*?(?:requested|resulted in|request has) (\d+)", _I), 2, 1),
    # Anthropic
    (re.compile(r"prompt is too long: (\d+) tokens > (\d+) maximum", _I), 1, 2),
    (re.compile(r"input length and `?max_tokens`? exceed context limit: (\d+) \+ \d+ > (\d+)", _I), 1, 2),
    # Gemini
    (re.compile(r"input token count \((\d+)\) exceeds the maximum number of tokens allowed \((\d+)\)", _I), 1, 2),
    # Mistral
    (re.compile(r"Prompt contains (\d+) tokens.*?too large for model with (\d+) maximum context length", _I), 1, 2),
)
# the same news without numbers (llama.cpp's server before it added them, Ollama, proxies)
_WORDED = re.compile(r"exceeds? the available context size|context[ _]length[ _]exceeded|"
                     r"exceeds? (?:the |its )?(?:maximum )?context (?:length|window)|"
                     r"too (?:long|large) for (?:the |this )?(?:model'?s? )?context", _I)
_KINDS = {"context_length_exceeded", "exceed_context_size_error", "context_window_exceeded"}


def _number(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def overflow_error(where: str, message: str, fields: Mapping[str, Any] | None = None, *,
                   status: int | None = None, kind: str | None = None) -> ContextOverflowError | None:
    """A ``ContextOverflowError`` when ``message`` (or the error object's ``fields``: ``code``,
    ``type``, llama.cpp's ``n_prompt_tokens``/``n_ctx``) says the prompt does not fit; else None.
    ``where`` names the server ("127.0.0.1:8080 (openai-compatible)", "Anthropic")."""
    fields = fields or {}
    asked = limit = None
    for pattern, asked_at, limit_at in _NUMBERED:
        if found := pattern.search(message):
            asked, limit = int(found.group(asked_at)), int(found.group(limit_at))
            break
    else:
        asked, limit = _number(fields.get("n_prompt_tokens")), _number(fields.get("n_ctx"))
        tags = {str(fields.get(name) or "").lower() for name in ("code", "type")} | {str(kind or "").lower()}
        if not (tags & _KINDS or _WORDED.search(message) or (asked is not None and limit is not None)):
            return None
    if asked is not None and limit is not None:
        numbers = f"{asked:,} tokens asked, the context window holds {limit:,}"
    elif limit is not None:
        numbers = f"the context window holds {limit:,} tokens"
    else:
        numbers = f"as it put it: {quote(message, 200)}"
    text = (f"the prompt is too long for the model at {where} ({numbers}) — shorten the prompt or start "
            "a new session, or use a model with a larger context window")
    return ContextOverflowError(text, asked=asked, limit=limit, status=status, provider_type=kind)
