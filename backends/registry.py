"""Providers registered as data: prefix -> backend class (imported lazily) and its defaults.

Importing this module imports no backend; ``load_backend_class`` imports one on demand, so
``openai:...`` never imports llama_cpp, and a missing optional dependency only breaks the
backend that needs it, with a message naming the extra to install.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from backends.base import Backend, ProviderConfig
from backends.errors import ConfigError, MissingExtraError


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    target: str  # "module:Class"
    default_base_url: str | None = None
    key_envs: tuple[str, ...] = ()  # the first set one wins
    base_url_env: str | None = None
    extra: str | None = None  # the pip extra that provides its dependencies
    needs_key: bool = True
    engine: str = ""  # shown in lane headers


_OPENAI = "backends.openai:OpenAIBackend"

PROVIDERS: dict[str, ProviderSpec] = {
    p.name: p
    for p in (
        ProviderSpec("openai", _OPENAI, "https://api.openai.com/v1", ("OPENAI_API_KEY",),
                     "OPENAI_BASE_URL", engine="OpenAI API"),
        ProviderSpec("openrouter", _OPENAI, "https://openrouter.ai/api/v1", ("OPENROUTER_API_KEY",),
                     "OPENROUTER_BASE_URL", engine="OpenRouter"),
        ProviderSpec("groq", _OPENAI, "https://api.groq.com/openai/v1", ("GROQ_API_KEY",),
                     "GROQ_BASE_URL", engine="Groq"),
        ProviderSpec("together", _OPENAI, "https://api.together.xyz/v1", ("TOGETHER_API_KEY",),
                     "TOGETHER_BASE_URL", engine="Together"),
        ProviderSpec("mistral", _OPENAI, "https://api.mistral.ai/v1", ("MISTRAL_API_KEY",),
                     "MISTRAL_BASE_URL", engine="Mistral"),
        ProviderSpec("deepseek", _OPENAI, "https://api.deepseek.com/v1", ("DEEPSEEK_API_KEY",),
                     "DEEPSEEK_BASE_URL", engine="DeepSeek"),
        ProviderSpec("fireworks", _OPENAI, "https://api.fireworks.ai/inference/v1",
                     ("FIREWORKS_API_KEY",), "FIREWORKS_BASE_URL", engine="Fireworks"),
        ProviderSpec("anthropic", "backends.anthropic:AnthropicBackend", "https://api.anthropic.com",
                     ("ANTHROPIC_API_KEY",), "ANTHROPIC_BASE_URL", engine="Anthropic API"),
        ProviderSpec("gemini", "backends.gemini:GeminiBackend",
                     "https://generativelanguage.googleapis.com", ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
                     "GEMINI_BASE_URL", engine="Gemini API"),
        ProviderSpec("ollama", "backends.ollama:OllamaBackend", "http://127.0.0.1:11434", (),
                     "OLLAMA_HOST", needs_key=False, engine="Ollama"),
        ProviderSpec("gguf", "backends.gguf:GGUFBackend", None, (), None, extra="local",
                     needs_key=False, engine="llama.cpp"),
        ProviderSpec("hf", "backends.hf:HFBackend", None, (), None, extra="local",
                     needs_key=False, engine="transformers"),
        ProviderSpec("test", "backends.scripted:ScriptedBackend", None, (), None,
                     needs_key=False, engine="scripted"),
    )
}

# modules whose absence means "install the extra", not a bug of ours
_OPTIONAL_MODULES = {"llama_cpp", "transformers", "torch", "accelerate", "gguf", "genai_prices"}


def split_model_id(model_id: str) -> tuple[str, str]:
    """``provider:model`` split at the first colon only (``ollama:llama3.2:3b`` keeps its tag)."""
    provider, sep, model = model_id.strip().partition(":")
    if not sep or not provider or not model:
        raise ConfigError(
            f"model id {model_id!r} is not provider:model — e.g. openai:gpt-4o-mini or gguf:smollm2"
        )
    return provider.lower(), model


def provider_spec(provider: str) -> ProviderSpec:
    try:
        return PROVIDERS[provider]
    except KeyError:
        known = ", ".join(PROVIDERS)
        raise ConfigError(f"unknown provider {provider!r}: use one of {known}, "
                          "or a named model from playground.toml") from None


def load_backend_class(spec: ProviderSpec) -> type[Backend]:
    module_name, _, class_name = spec.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        root = (exc.name or "").split(".")[0]
        if root in _OPTIONAL_MODULES:
            extra = spec.extra or "all"
            raise MissingExtraError(
                f"{spec.name}: the Python package {root!r} is missing — "
                f"pip install 'playground[{extra}]'"
            ) from exc
        raise
    return getattr(module, class_name)


def display_name(provider: str) -> str:
    """"OpenAI", "Anthropic", ... from the registry's engine label; the config name otherwise."""
    spec = PROVIDERS.get(provider)
    return spec.engine.removesuffix(" API") if spec and spec.engine else provider


def server_name(config: ProviderConfig, protocol: str) -> str:
    """Who answers, for messages about what the server did (cut a stream, refused a prompt): the
    provider's name at its own address ("OpenAI"), else the host and the protocol it speaks
    ("127.0.0.1:8080 (openai-compatible)") — a compatible server is not OpenAI."""
    spec = PROVIDERS.get(config.name)
    default = (spec.default_base_url or "").rstrip("/") if spec else ""
    base = (config.base_url or "").rstrip("/")
    if not base or base == default:
        return display_name(config.name)
    host = urlsplit(base if "://" in base else f"http://{base}").netloc or base
    return f"{host} ({protocol})"
