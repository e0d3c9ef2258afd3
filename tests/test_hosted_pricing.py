"""Cost estimates: genai-prices for hosted models, 0 for local, None when unknown — never raising."""

from __future__ import annotations

import pytest

from backends.pricing import cost_usd


def test_known_hosted_models_have_a_cost():
    small = cost_usd("openai", "gpt-4o-mini", 1000, 1000)
    assert small is not None and 0 < small < 0.01
    assert cost_usd("openai", "gpt-4o-mini", 2000, 2000) == pytest.approx(2 * small)
    assert (cost_usd("anthropic", "claude-3-5-sonnet-latest", 1000, 500) or 0) > 0
    assert (cost_usd("gemini", "gemini-2.0-flash", 1000, 1000) or 0) > 0


@pytest.mark.parametrize("provider", ["gguf", "hf", "ollama", "test"])
def test_local_is_free(provider):
    assert cost_usd(provider, "anything", 100, 100) == 0.0


@pytest.mark.parametrize(("provider", "model", "tokens"), [
    ("openai", "no-such-model-xyz", (1, 1)), ("my-vllm", "gpt-4o", (1, 1)),
    ("openai", "gpt-4o-mini", (None, 5)), ("openai", "gpt-4o-mini", (5, None)), ("openai", "", (1, 1)),
])
def test_unknown_is_none(provider, model, tokens):
    assert cost_usd(provider, model, *tokens) is None
