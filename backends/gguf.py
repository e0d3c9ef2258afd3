"""``gguf:`` — GGUF models in llama-cpp-python, each in its own worker process.

Model ids: ``gguf:smollm2`` (the embedded default), ``gguf:PATH.gguf`` (absolute, relative, or
under ``$PLAYGROUND_HOME/models``), ``gguf:OWNER/REPO/FILE.gguf`` (fetched from the Hugging Face
hub when it is reachable); a path is pinned once to the real file it names (``backends.local``), and
that file is checked and loaded. ``LlamaEngine`` runs inside the worker (see ``backends.worker``);
llama_cpp is imported there only, so this module imports fast.

Honest figures: the KV cache is reset before every generation, so an identical prompt neither
gets a cached first token nor a different greedy answer (docs/protocols.md#gguf-in-llama-cpp-python: "most important" vs
"most significant" on a reused ``Llama``); the run says ``prompt_cache_hit: false``. Threads
follow the engine's CPU grant (``Request.threads``), not llama.cpp's default of half the cores.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backends.errors import ConfigError
from backends.local import EMBEDDED, LocalBackend, embedded_gguf, is_gguf, locate

_HUB_FILE = re.compile(r"^[\w.-]+/[\w.-]+/(?:[\w.-]+/)*[\w.-]+\.gguf$")


def check_gguf_file(path: Path) -> None:
    if not path.is_file():
        raise ConfigError(f"file not found: {path} — give a .gguf path, OWNER/REPO/FILE.gguf, or smollm2")
    if not is_gguf(path):
        raise ConfigError(f"not a GGUF file: {path} — llama.cpp needs a .gguf model file")


class GGUFBackend(LocalBackend):
    engine_target = "backends.gguf:LlamaEngine"
    requires = ("llama_cpp",)

    def resolve(self, model: str) -> tuple[str, dict[str, Any]]:
        n_ctx = int(self.config.options.get("n_ctx", 4096))
        if model == EMBEDDED:
            path = embedded_gguf()
            return str(path), {"model_path": str(path), "n_ctx": n_ctx}
        found = locate(model, self.models_dir)  # a pinned path: itself, nothing else
        if found is not None:
            check_gguf_file(found)
            return str(found), {"model_path": str(found), "n_ctx": n_ctx}
        if _HUB_FILE.match(model) and not model.startswith((".", "/")):
            repo_id = "/".join(model.split("/")[:2])
            filename = model[len(repo_id) + 1:]
            return model, {"hub_repo": repo_id, "hub_file": filename, "n_ctx": n_ctx}
        raise ConfigError(f"file not found: {model} — give a .gguf path, OWNER/REPO/FILE.gguf, or smollm2")


class LlamaEngine:
    """Child side: one loaded ``llama_cpp.Llama``; one generation at a time."""

    def __init__(self, n_ctx: int, model_path: str | None = None, hub_repo: str | None = None,
                 hub_file: str | None = None) -> None:
        import llama_cpp

        if model_path is None:
            model_path = _download(hub_repo or "", hub_file or "")
        self.version = getattr(llama_cpp, "__version__", "?")
        self.threads = os.cpu_count() or 1
        self.llm = llama_cpp.Llama(model_path=model_path, n_ctx=n_ctx, n_threads=self.threads,
                                   n_threads_batch=self.threads, verbose=False)

    def _set_threads(self, threads: int | None) -> None:
        if threads and threads != self.threads:
            self.llm._ctx.set_n_threads(threads, threads)  # noqa: SLF001 - no public setter
            self.threads = threads

    def generate(self, request: dict[str, Any], emit: Callable[..., None],
                 cancelled: Callable[[], bool]) -> None:
        params = request["params"]
        self._set_threads(request.get("threads"))
        self.llm.reset()  # no prefix-cache reuse: same settings, same text, no borrowed TTFT
        prompt_len: list[int] = []

        def note_prompt(input_ids: Any, scores: Any) -> Any:
            if not prompt_len:
                prompt_len.append(len(input_ids))
            return scores

        kwargs: dict[str, Any] = {"stream": True, "logits_processor": [note_prompt]}
        if params.get("temperature") is not None:
            kwargs["temperature"] = params["temperature"]
        if params.get("top_p") is not None:
            kwargs["top_p"] = params["top_p"]
        if params.get("max_tokens") is not None:
            kwargs["max_tokens"] = params["max_tokens"]
        if params.get("seed") is not None:
            kwargs["seed"] = params["seed"]
        if params.get("stop"):
            kwargs["stop"] = list(params["stop"])
        emit("info", {"threads": self.threads, "prompt_cache_hit": False,
                      "engine": f"llama-cpp-python {self.version}"})
        emit("started")
        parts: list[str] = []
        finish = None
        stream = self.llm.create_chat_completion(request["messages"], **kwargs)
        try:
            for chunk in stream:
                if cancelled():
                    finish = "cancelled"
                    break
                choice = chunk["choices"][0]
                text = choice["delta"].get("content")
                if text:
                    parts.append(text)
                    emit("text", text)
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
        finally:
            stream.close()
        text = "".join(parts)
        out_tokens = len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0
        emit("usage", prompt_len[0] if prompt_len else None, out_tokens)
        if finish and finish != "cancelled":
            emit("finish", finish)


def _download(repo: str, filename: str) -> str:
    """Fetch a file from the hub into its usual cache (HF_HOME, HF_HUB_OFFLINE honoured)."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:
        raise RuntimeError("huggingface_hub is missing: pip install 'playground[local]'") from exc
    try:
        return hf_hub_download(repo_id=repo, filename=filename)
    except Exception as exc:
        raise RuntimeError(
            f"could not fetch {repo}/{filename} from the Hugging Face hub ({type(exc).__name__}) — "
            "download the file and use gguf:PATH instead") from exc
