"""Settings: read once at start-up from the environment and ``playground.toml``, then passed in.

Nothing else in Playground reads ``os.environ`` while handling a request. The config file is
looked up in the working directory, then in ``$PLAYGROUND_HOME``. Keys are referenced in it by
the *name* of an environment variable (``api_key_env``), never stored in it. Every key value
read is registered with ``backends.redact``, so nothing the app keeps or shows can quote it.

    [defaults]                  # default parameters for every lane
    temperature = 0.7
    max_tokens = 256
    [cpu]                       # the CPU budget of local engines
    mode = "turns"              # or "shared"
    threads = 2                 # cores to use (default: all)
    [providers.openai]          # overrides for a provider
    base_url = "http://127.0.0.1:8000/v1"
    requests = 2                # throttle: at most 2 requests ...
    period = 1.0                # ... per second
    concurrency = 4
    timeouts = { connect = 10, first_byte = 60, idle = 30, total = 300 }
    retry = { max_tries = 3, max_wait = 60 }
    [limits]                    # what one request may ask of the server
    prompt_chars = 200000       # the longest prompt (or system prompt): page, API and CLI
    upload_mb = 32              # the largest request body the page takes (an imported file too)
    [serve]                     # an exposed page (`serve --host 0.0.0.0`, `--share`)
    test_model = true           # accept the scripted test: model there too (default: off)
    [models.local-qwen]         # a named model, usable as -m local-qwen
    provider = "openai"
    base_url = "http://127.0.0.1:8000/v1"
    model = "qwen2.5"
    api_key_env = "QWEN_KEY"
    params = { temperature = 0.2 }
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from backends import redact
from backends.base import Params, ProviderConfig, RateLimit, RetryPolicy, Timeouts
from backends.errors import ConfigError
from backends.hub import hub_cache
from backends.registry import PROVIDERS, ProviderSpec

CONFIG_NAME = "playground.toml"


@dataclass(frozen=True)
class NamedModel:
    name: str
    provider: str
    model: str
    config: ProviderConfig
    label: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the server (``[limits]``); a request past one is refused with a
    line naming it."""

    prompt_chars: int = 200_000  # a prompt, or a system prompt
    upload_mb: float = 32.0  # any request body of the page, an uploaded file included

    @property
    def upload_bytes(self) -> int:
        return int(self.upload_mb * 1024 * 1024)


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None = None
    config_path: Path | None = None
    providers: dict[str, ProviderConfig] = field(default_factory=dict)
    models: dict[str, NamedModel] = field(default_factory=dict)
    defaults: Params = Params(max_tokens=256)
    cpu_mode: str = "turns"
    cpu_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    hf_hub_cache: Path | None = None  # where huggingface_hub keeps downloads (HF_HUB_CACHE/HF_HOME)
    exposed: bool = False  # set by `serve` when bound beyond loopback: restricts free-entry ids
    limits: Limits = Limits()
    exposed_test_model: bool = False  # [serve] test_model: test: is accepted on an exposed page too

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, cwd: Path | str | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("PLAYGROUND_HOME") or Path.home() / ".playground").expanduser()
        path = _find_config(Path(cwd) if cwd else Path.cwd(), home)
        data = _read_toml(path) if path else {}
        defaults = _params(data.get("defaults", {}), "defaults", Params(max_tokens=256))
        cpu = data.get("cpu", {})
        mode = cpu.get("mode", "turns")
        if mode not in ("turns", "shared"):
            raise ConfigError(f"{path}: [cpu] mode must be \"turns\" or \"shared\", not {mode!r}")
        providers = {
            name: _provider_config(spec, data.get("providers", {}).get(name, {}), env, home)
            for name, spec in PROVIDERS.items()
        }
        models = {
            name: _named_model(name, entry, providers, env, path)
            for name, entry in data.get("models", {}).items()
        }
        serve = _section(data, "serve", {"test_model"}, path)
        test_model = serve.get("test_model", False)
        if not isinstance(test_model, bool):
            raise ConfigError(f"{path}: [serve] test_model must be true or false, not {test_model!r}")
        return cls(
            home=home,
            database_url=env.get("PLAYGROUND_DATABASE_URL") or None,
            config_path=path,
            providers=providers,
            models=models,
            defaults=defaults,
            cpu_mode=mode,
            cpu_threads=int(cpu.get("threads") or os.cpu_count() or 1),
            limits=_limits(_section(data, "limits", {"prompt_chars", "upload_mb"}, path), path),
            exposed_test_model=test_model,
            hf_hub_cache=hub_cache(env),
        )


def _find_config(cwd: Path, home: Path) -> Path | None:
    for candidate in (cwd / CONFIG_NAME, home / CONFIG_NAME):
        if candidate.is_file():
            return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc} — fix that line") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def _section(data: Mapping[str, Any], name: str, known: set[str], path: Path | None) -> Mapping[str, Any]:
    section = data.get(name, {})
    if not isinstance(section, Mapping):
        raise ConfigError(f"{path}: [{name}] must be a table of settings")
    unknown = set(section) - known
    if unknown:
        raise ConfigError(f"{path}: [{name}]: unknown setting(s) {', '.join(sorted(unknown))}; "
                          f"use {', '.join(sorted(known))}")
    return section


def _limits(data: Mapping[str, Any], path: Path | None) -> Limits:
    for key, value in data.items():
        least = 1 if key == "prompt_chars" else 0
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not least < value < 1e12:
            raise ConfigError(f"{path}: [limits] {key} must be a positive number, not {value!r}")
    return Limits(prompt_chars=int(data.get("prompt_chars", Limits.prompt_chars)),
                  upload_mb=float(data.get("upload_mb", Limits.upload_mb)))


def _params(data: Mapping[str, Any], where: str, base: Params | None = None) -> Params:
    known = {"temperature", "top_p", "max_tokens", "seed", "stop"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"[{where}]: unknown parameter(s) {', '.join(sorted(unknown))}; "
                          f"use {', '.join(sorted(known))}")
    merged = {**(base.to_record() if base else {}), **data}
    return Params.from_record(merged)


def _provider_config(spec: ProviderSpec, data: Mapping[str, Any], env: Mapping[str, str],
                     home: Path) -> ProviderConfig:
    key_envs = (data["api_key_env"],) if "api_key_env" in data else spec.key_envs
    # every key variable of the provider, used or not (GOOGLE_API_KEY beside GEMINI_API_KEY):
    # a server must not be able to quote any of them into a record or a log line
    redact.register(*(env.get(name) for name in (*spec.key_envs, *key_envs)))
    key_env = next((name for name in key_envs if env.get(name)), key_envs[0] if key_envs else None)
    base_url = data.get("base_url") or (env.get(spec.base_url_env) if spec.base_url_env else None)
    base_url = base_url or spec.default_base_url
    if spec.name == "ollama" and base_url and "://" not in base_url:
        base_url = f"http://{base_url}"  # OLLAMA_HOST is often given as host:port
    return ProviderConfig(
        name=spec.name,
        base_url=base_url.rstrip("/") if base_url else None,
        api_key=env.get(key_env) if key_env else None,
        key_env=key_env,
        timeouts=_timeouts(data),
        retry=_retry(data),
        rate=RateLimit(requests=data.get("requests"), period=float(data.get("period", 1.0)),
                       concurrency=data.get("concurrency")),
        default_max_tokens=int(data.get("default_max_tokens", 1024)),
        options={"models_dir": str(home / "models"), "hf_offline": env.get("HF_HUB_OFFLINE"),
                 "hf_hub_cache": str(hub_cache(env)), **data.get("options", {})},
    )


def _timeouts(data: Mapping[str, Any]) -> Timeouts:
    given = data.get("timeouts", {})
    unknown = set(given) - {"connect", "first_byte", "idle", "total"}
    if unknown:
        raise ConfigError(f"unknown timeout(s) {', '.join(sorted(unknown))}: "
                          "use connect, first_byte, idle, total")
    return replace(Timeouts(), **given)


def _retry(data: Mapping[str, Any]) -> RetryPolicy:
    given = data.get("retry", {})
    unknown = set(given) - {"max_tries", "max_wait", "base_delay"}
    if unknown:
        raise ConfigError(f"unknown retry setting(s) {', '.join(sorted(unknown))}: "
                          "use max_tries, max_wait, base_delay")
    return replace(RetryPolicy(), **given)


def _named_model(name: str, entry: Mapping[str, Any], providers: dict[str, ProviderConfig],
                 env: Mapping[str, str], path: Path | None) -> NamedModel:
    provider = entry.get("provider")
    model = entry.get("model")
    if provider not in PROVIDERS or not model:
        raise ConfigError(f"{path}: [models.{name}] needs provider = one of {', '.join(PROVIDERS)} "
                          "and model = \"...\"")
    base = providers[provider]
    config = base
    if "base_url" in entry or "api_key_env" in entry:
        key_env = entry.get("api_key_env", base.key_env)
        config = replace(
            base,
            base_url=str(entry.get("base_url", base.base_url)).rstrip("/"),
            key_env=key_env,
            api_key=env.get(key_env) if key_env else None,
        )
    params = dict(entry.get("params", {}))
    _params(params, f"models.{name}.params")  # validate
    return NamedModel(name=name, provider=provider, model=str(model), config=config,
                      label=entry.get("label"), params=params)
