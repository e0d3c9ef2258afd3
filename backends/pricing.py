"""Cost estimates from token usage, with the genai-prices table (pinned 0.2.3, offline snapshot).

``cost_usd`` never raises and never touches the network: 0.0 for free providers, None when the
provider or the model is unknown to the table or the usage is incomplete. It estimates from
input and output tokens only (no cache or reasoning-token discounts).
"""

from __future__ import annotations

import warnings

# the one definition of a provider that costs nothing: it runs on your own machines (local
# engines, an Ollama server) or in this process (the scripted ``test:`` model)
FREE_PROVIDERS = frozenset({"gguf", "hf", "ollama", "test"})
# our provider names -> genai-prices provider ids (a provider not listed has no known prices)
PROVIDER_IDS = {
    "openai": "openai", "anthropic": "anthropic", "gemini": "google", "openrouter": "openrouter",
    "groq": "groq", "together": "together", "mistral": "mistral", "deepseek": "deepseek",
    "fireworks": "fireworks",
}


def cost_usd(provider: str, model: str, input_tokens: int | None, output_tokens: int | None) -> float | None:
    """Estimated dollars for one request; 0.0 for free providers, None when unknown."""
    if provider in FREE_PROVIDERS:
        return 0.0
    provider_id = PROVIDER_IDS.get(provider)
    if provider_id is None or input_tokens is None or output_tokens is None:
        return None
    try:
        from genai_prices import Usage, calc_price

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            price = calc_price(Usage(input_tokens=input_tokens, output_tokens=output_tokens),
                               model, provider_id=provider_id)
        return float(price.total_price)
    except Exception:  # unknown model, missing table, anything: an unknown cost, never a crash
        return None
