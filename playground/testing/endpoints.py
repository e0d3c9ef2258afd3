"""What the scripted servers answer besides a reply: a provider's model list and the headers of a
response (``servers.py`` serves them; ``frames.py`` renders the replies themselves)."""

from __future__ import annotations

from typing import Any


def model_list(protocol: str, models: list[str]) -> dict[str, Any]:
    """A model listing in the protocol's shape (docs/protocols.md, "Model lists")."""
    if protocol == "openai":
        return {"object": "list", "data": [{"id": m, "object": "model", "created": 1, "owned_by": "scripted"}
                                           for m in models]}
    if protocol == "anthropic":
        return {"data": [{"type": "model", "id": m, "display_name": m, "created_at": "2026-01-01T00:00:00Z"}
                         for m in models], "has_more": False,
                "first_id": models[0] if models else None, "last_id": models[-1] if models else None}
    if protocol == "gemini":  # an embedding model too: it cannot generateContent, a picker leaves it out
        return {"models": [{"name": f"models/{m}", "displayName": m,
                            "supportedGenerationMethods": ["generateContent", "countTokens"]} for m in models]
                + [{"name": "models/scripted-embedding", "supportedGenerationMethods": ["embedContent"]}]}
    return {"models": [{"name": m, "model": m, "size": 1, "digest": "0" * 64} for m in models]}


def response_headers(defaults: dict[str, str], scripted: Any) -> list[tuple[bytes, bytes]]:
    """Response headers: the defaults, each replaced by a scripted header of the same name."""
    merged = {**defaults, **{k.lower(): str(v) for k, v in scripted.items()}}
    return [(k.encode(), v.encode()) for k, v in merged.items()]
