"""``gguf:`` — GGUF models in llama-cpp-python, each in its own worker process.

Model ids: ``gguf:smollm2`` (the embedded default), ``gguf:PATH.gguf`` (absolute, relative, or
under ``$PLAYGROUND_HOME/models``), ``gguf:OWNER/REPO/FILE.gguf[@REVISION]`` (fetched from the
Hugging Face hub at that branch, tag or commit when it is reachable, from the cache's snapshot of it
offline; ``backends.hub``); a path is pinned once to the real file it names (``backends.local``), and
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
from backends.hub import HubRef, fetch_file, hub_ref, split_revision
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

    def hub_target(self, args: dict[str, Any]) -> HubRef | None:
        return HubRef(args["hub_repo"], args.get("revision")) if args.get("hub_repo") else None

    def resolve(self, model: str) -> tuple[str, dict[str, Any]]:
        n_ctx = int(self.config.options.get("n_ctx", 4096))
        if model == EMBEDDED:
            path = embedded_gguf()
            return str(path), {"model_path": str(path), "n_ctx": n_ctx}
        found = locate(model, self.models_dir)  # a pinned path: itself, nothing else
        if found is not None:
            check_gguf_file(found)
            return str(found), {"model_path": str(found), "n_ctx": n_ctx}
        name, revision = split_revision(model)
        if _HUB_FILE.match(name) and not name.startswith((".", "/")) and ".." not in name.split("/"):
            ref = hub_ref("/".join(name.split("/")[:2]), revision)
            # the worker key is the id with its @REVISION: two revisions are two models, two workers
            return model, {"hub_repo": ref.repo, "hub_file": name[len(ref.repo) + 1:], "n_ctx": n_ctx,
                           **self.hub_args(ref)}
        raise ConfigError(f"file not found: {model} — give a .gguf path, OWNER/REPO/FILE.gguf, or smollm2")


class LlamaEngine:
    """Child side: one loaded ``llama_cpp.Llama``; one generation at a time."""

    def __init__(self, n_ctx: int, model_path: str | None = None, hub_repo: str | None = None,
                 hub_file: str | None = None, revision: str | None = None, offline: bool = False,
                 cache: str | None = None) -> None:
        import llama_cpp

        self.commit: str | None = None  # a hub file's: the commit its revision resolved to
        if model_path is None:
            model_path, self.commit = fetch_file(HubRef(hub_repo or "", revision), hub_file or "",
                                                 offline=offline, cache=cache)
        self.version = getattr(llama_cpp, "__version__", "?")
        self.threads = os.cpu_count() or 1
        self.llm = llama_cpp.Llama(model_path=model_path, n_ctx=n_ctx, n_threads=self.threads,
                                   n_threads_batch=self.threads, verbose=False)

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"threads": self.threads, "prompt_cache_hit": False,
                                "engine": f"llama-cpp-python {self.version}"}
        if self.commit:
            info["revision"] = self.commit
        return info

    def _set_threads(self, threads: int | None) -> None:
        if threads and threads != self.threads:
            self.llm._ctx.set_n_threads(threads, threads)  # noqa: SLF001 - no public setter
            self.threads = threads

    def generate(self, request: dict[str, Any], emit: Callable[..., None],
                 cancelled: Callable[[], bool]) -> None:
        params = request["params"]
        mode = params.get("mode") or "chat"
        k = params.get("logprobs")
        self._set_threads(request.get("threads"))
        self.llm.reset()  # no prefix-cache reuse: same settings, same text, no borrowed TTFT
        if mode == "score":
            self._score(document(request["messages"]), k or 0, emit)
            return
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
        elif mode == "complete":
            kwargs["max_tokens"] = None  # create_completion's default is 16; chat's is "until the end"
        if params.get("seed") is not None:
            kwargs["seed"] = params["seed"]
        if params.get("stop"):
            kwargs["stop"] = list(params["stop"])
        info = self._info()
        if k is not None:
            info["logprob_kind"] = "raw"
        emit("info", info)
        emit("started")
        recorder = _Recorder(self.llm, k) if k is not None else None
        parts: list[str] = []
        finish = None
        if mode == "complete":
            stream = self.llm.create_completion(document(request["messages"]), **kwargs)
        else:
            stream = self.llm.create_chat_completion(request["messages"], **kwargs)
        try:
            for chunk in stream:
                if cancelled():
                    finish = "cancelled"
                    break
                choice = chunk["choices"][0]
                text = choice["text"] if mode == "complete" else choice["delta"].get("content")
                if text:
                    parts.append(text)
                    emit("text", text)
                if recorder is not None and recorder.rows:
                    emit("logprobs", recorder.take())
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
        finally:
            stream.close()
            if recorder is not None:
                recorder.detach()
        if recorder is not None and recorder.rows:
            emit("logprobs", recorder.take())
        text = "".join(parts)
        out_tokens = len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0
        emit("usage", prompt_len[0] if prompt_len else None, out_tokens)
        if finish and finish != "cancelled":
            emit("finish", finish)

    def _score(self, text: str, k: int, emit: Callable[..., None]) -> None:
        """Score mode: one forward pass over the text, logits kept for every position (this batch
        only: the context was not built with ``logits_all``), each token's log-probability given
        the ones before. The first token has no context unless the model adds a BOS: unscored."""
        import numpy as np

        from backends.tokenprobs import Pieces, row_from_logits

        llm = self.llm
        bos = [llm.token_bos()] if llm._model.add_bos_token() else []  # noqa: SLF001 - no public reader
        ids = bos + llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        if len(ids) > llm.n_ctx():
            raise ValueError(f"the text is {len(ids)} tokens, over this model's context of "
                             f"{llm.n_ctx()}: shorten it or raise n_ctx")
        emit("info", {**self._info(), "logprob_kind": "raw"})
        emit("started")
        llm._ctx.kv_cache_seq_rm(-1, 0, -1)  # noqa: SLF001 - a fresh sequence for this pass
        n_vocab, pieces = llm.n_vocab(), Pieces(piece_reader(llm))
        if not bos and ids:
            emit("text", pieces.next(ids[0]))  # shown, not scored: nothing came before it
        for start in range(0, max(len(ids) - 1, 0), llm.n_batch):
            batch = ids[start:start + llm.n_batch]
            llm._batch.set_batch(batch=batch, n_past=start, logits_all=True)  # noqa: SLF001
            llm._ctx.decode(llm._batch)  # noqa: SLF001
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(len(batch), n_vocab))  # noqa: SLF001
            rows = []
            for j in range(len(batch)):
                if start + j + 1 >= len(ids):
                    break
                chosen = ids[start + j + 1]
                piece = pieces.next(chosen)
                rows.append(row_from_logits(logits[j], chosen, k, piece, pieces.alone))
            if rows:
                emit("text", "".join(r[0] for r in rows))
                emit("logprobs", rows)
        emit("usage", len(ids), 0)
        emit("finish", "stop")


def piece_reader(llm: Any) -> Callable[[int], bytes]:
    """A token id's bytes as the model writes them (no special tokens), remembered per id.
    Not ``_model.token_to_piece``: it returns its whole 32-byte buffer, NULs included."""
    import ctypes

    import llama_cpp

    vocab = llm._model.vocab  # noqa: SLF001 - the vocabulary handle
    cache: dict[int, bytes] = {}

    def piece(token: int) -> bytes:
        found = cache.get(token)
        if found is None:
            size = 64
            while True:
                buf = ctypes.create_string_buffer(size)
                n = llama_cpp.llama_token_to_piece(vocab, token, buf, size, 0, False)
                if n >= 0:
                    break
                size = -n  # too small: llama.cpp says how large it must be
            found = cache[token] = buf.raw[:n]
        return found

    return piece


def document(messages: list[dict[str, str]]) -> str:
    """Complete and score modes: the prompt is one document — the messages' texts as they are,
    joined with nothing (the core sends the whole document as one message; no system prompt)."""
    return "".join(m["content"] for m in messages if m["role"] != "system")


class _Recorder:
    """Probabilities of each sampled token, from the last position's logits, without ``logits_all``.

    It wraps this ``Llama``'s ``sample`` for one generation: after the sampler has chosen, the
    logits it chose from are still in the context (``llama_get_logits_ith(-1)``, the last
    position's row); their log-softmax gives the chosen token's log-probability and the top K —
    the model's raw distribution, before temperature and top-p (kind ``raw``). End-of-generation
    tokens are left out (they have no text). Off (no recorder) changes nothing."""

    def __init__(self, llm: Any, k: int) -> None:
        import numpy as np

        from backends.tokenprobs import Pieces, row_from_logits

        self.llm, self.k, self.rows = llm, k, []
        pieces = Pieces(piece_reader(llm))
        eog = _eog_check(llm)
        n_vocab, original = llm.n_vocab(), llm.sample

        def sample(*args: Any, **kwargs: Any) -> int:
            token = original(*args, **kwargs)
            if not eog(token):
                logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(n_vocab,))  # noqa: SLF001
                self.rows.append(row_from_logits(logits, token, k, pieces.next(token), pieces.alone))
            return token

        llm.sample = sample  # this instance only, for this generation (detach removes it)

    def take(self) -> list[Any]:
        rows, self.rows = self.rows, []
        return rows

    def detach(self) -> None:
        self.llm.__dict__.pop("sample", None)


def _eog_check(llm: Any) -> Callable[[int], bool]:
    import llama_cpp

    vocab = getattr(llm._model, "vocab", None)  # noqa: SLF001
    if vocab is not None and hasattr(llama_cpp, "llama_vocab_is_eog"):
        return lambda token: bool(llama_cpp.llama_vocab_is_eog(vocab, token))
    eos = llm.token_eos()
    return lambda token: token == eos
