"""The long-lived state of one Playground process: settings, backend instances, CPU budget.

Built once at start-up (CLI, web app, or lazily for the Python API) and passed in. Backend
instances are kept per provider configuration, so a loaded local model stays warm and a
provider's throttle is shared by every run of the process.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends.base import Backend, Params, ProviderConfig
from backends.errors import ConfigError
from backends.redact import redact
from backends.registry import load_backend_class, provider_spec, split_model_id
from playground.engine.contention import CpuBudget, Occupancy
from playground.settings import Settings


@dataclass(frozen=True)
class Target:
    """What a model id resolves to."""

    model_id: str  # as the user wrote it (recorded in the session)
    provider: str
    model: str  # the model part sent to the backend
    backend: Backend
    label: str | None
    engine: str
    params: dict[str, Any]  # a named model's own parameters

    @property
    def local(self) -> bool:
        return self.backend.local

    @property
    def resource(self) -> str | None:
        """What this lane shares with others: the CPU (local engines) or a server endpoint."""
        return "cpu" if self.backend.local else self.backend.endpoint(self.model)


@dataclass(frozen=True)
class Resolved:
    """One model id of a run, resolved and checked once: what the CLI checks before the run, the
    engine drives and the page reads (``local``), so no layer resolves the id again."""

    model_id: str
    target: Target | None  # None: the id did not resolve (``error`` says why)
    error: Exception | None = None  # the id did not resolve: its lane's error, as raised
    problem: str | None = None  # it resolved, but cannot run (its backend's cheap check, one line)

    @property
    def local(self) -> bool:
        return self.target is not None and self.target.local

    def check(self) -> None:
        """Raise what stops this id from running, naming it (the CLI's exit 2 before a request)."""
        if self.error is not None:
            raise self.error
        if self.problem:
            shown = self.model_id if len(self.model_id) <= 120 else self.model_id[:120] + "…"
            raise ConfigError(f"{redact(shown)}: {self.problem}")  # one line, whatever was typed


_heap_settled = False


def settle_heap() -> None:
    """Move what the imports built (modules, classes, the document types: ~30,000 objects, ~200,000
    with Gradio) out of the garbage collector's reach, once per process. Every full collection
    otherwise walks all of them while a run streams: measured at ~0.4 µs of the engine's ~2 µs
    per event (docs/benchmarks.md). Objects made later are collected as before."""
    global _heap_settled
    if not _heap_settled:
        _heap_settled = True
        gc.freeze()


class Runtime:
    def __init__(self, settings: Settings | None = None) -> None:
        settle_heap()  # the front ends build their runtime once their imports are done
        self.settings = settings or Settings.load()
        self.cpu = CpuBudget(self.settings.cpu_threads, self.settings.cpu_mode)
        self.occupancy = Occupancy()
        self._backends: dict[tuple[str, str | None, str | None], Backend] = {}
        # how often each model id was resolved and checked: resolving pins a path and may build a
        # backend, so a run does it once per id (``prepare``); tests read these to hold that
        self.resolutions: Counter[str] = Counter()
        self.checks: Counter[str] = Counter()

    def backend_for(self, config: ProviderConfig) -> Backend:
        key = (config.name, config.base_url, config.key_env)
        backend = self._backends.get(key)
        if backend is None:
            cls = load_backend_class(provider_spec(config.name))
            backend = self._backends[key] = cls(config)
        return backend

    def resolve(self, model_id: str) -> Target:
        """A model id (``provider:model`` or a named model of the config file) → its backend."""
        self.resolutions[model_id] += 1
        model_id = model_id.strip()
        named = self.settings.models.get(model_id)
        if named is not None:  # the config file's owner chose it: no fence
            backend = self.backend_for(named.config)
            return Target(model_id, named.provider, backend.pin(named.model), backend, named.label,
                          provider_spec(named.provider).engine, named.params)
        provider, model = split_model_id(model_id)
        spec = provider_spec(provider)
        exposed = self.settings.exposed
        if exposed and spec.name == "test" and not self.settings.exposed_test_model:
            raise ConfigError("the test: model is off on an exposed server — set test_model = true "
                              "under [serve] in playground.toml to offer it")
        backend = self.backend_for(self.settings.providers[spec.name])
        # pinned once, here: a local path becomes the real file it names now, and that exact file
        # is what the lane checks and loads (an exposed page: only under the models directory)
        return Target(model_id, spec.name, backend.pin(model, confined=exposed), backend, None,
                      spec.engine, {})

    def problem(self, target: Target) -> str | None:
        """Why this target cannot run (one line: a missing key, file or extra), or None. Cheap."""
        self.checks[target.model_id] += 1
        return target.backend.check(target.model)

    def prepare(self, model_ids: Sequence[str]) -> list[Resolved]:
        """Every lane's id resolved and checked, once per distinct id; an id that does not resolve
        or cannot run is kept with why (its lane's error: the other lanes go on)."""
        done: dict[str, Resolved] = {}
        for model_id in model_ids:
            if model_id in done:
                continue
            try:
                target = self.resolve(model_id)
            except Exception as exc:  # noqa: BLE001 - the lane's error; the run goes on
                done[model_id] = Resolved(model_id, None, error=exc)
                continue
            done[model_id] = Resolved(model_id, target, problem=self.problem(target))
        return [done[m] for m in model_ids]

    def params_for(self, target: Target, given: Params | None) -> Params:
        """Defaults < the named model's params < what the user set for this run."""
        merged = {**self.settings.defaults.to_record(), **target.params}
        if given is not None:
            merged.update(given.to_record())
        return Params.from_record(merged)

    def loaded_models(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for backend in self._backends.values():
            lister = getattr(backend, "loaded", None)
            if lister:
                out.extend(lister())
        return out

    async def unload(self, provider: str, model: str) -> bool:
        for backend in self._backends.values():
            if backend.config.name == provider and hasattr(backend, "unload"):
                if await backend.unload(model):
                    return True
        return False

    async def aclose(self) -> None:
        backends, self._backends = list(self._backends.values()), {}
        for backend in backends:
            await backend.aclose()

    @property
    def home(self) -> Path:
        return self.settings.home
