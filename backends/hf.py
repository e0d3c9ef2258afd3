"""``hf:`` — models in Hugging Face transformers, each in its own worker process.

Model ids: ``hf:smollm2`` (the embedded SmolLM2 GGUF, loaded with ``gguf_file=`` and dequantised
to fp32), ``hf:DIR`` (a local model directory with ``config.json``, absolute, relative, or under
``$PLAYGROUND_HOME/models``), ``hf:PATH.gguf`` (any GGUF file, the same way as smollm2) and
``hf:OWNER/REPO[@REVISION]`` (a branch, tag or commit, ``backends.hub``; downloaded by
``from_pretrained(revision=)``, or offline — ``HF_HUB_OFFLINE`` — loaded from the cache's snapshot of
that revision; the commit it resolved to is reported with every run). A path is pinned once to the real file or folder it names
(``backends.local``), and that is what is checked and loaded. ``TransformersEngine`` runs inside
the worker (see ``backends.worker``); torch and transformers are imported there only, so the
parent stays light.

One generation: the chat template (plain concatenation for a model without one), then ``generate``
in a thread feeding a ``TextIteratorStreamer`` that the worker's main thread forwards as text.
Greedy unless the temperature is above 0; a seed reseeds torch before every generation, and no
state (KV cache, RNG draws) carries over, so the same request gives the same text whatever ran
before. Stop strings end generation (``stop_strings=``) and are cut from the text, as hosted APIs
do. Stop is a ``StoppingCriteria`` polling the worker's cancel flag at every token. Token counts
are exact: the prompt's ids and the ids generated (a final EOS left out).

Not here: batching, quantised inference (a GGUF file is dequantised), GPUs or device placement.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

from backends.errors import ConfigError
from backends.hf_tokens import Recorder, recording_streamer, score
from backends.hub import HubRef, cached_commit, hub_cache_now, hub_ref, not_cached, snapshot, split_revision
from backends.local import EMBEDDED, LocalBackend, embedded_gguf, is_gguf, locate

DEFAULT_MAX_NEW_TOKENS = 256
_HUB_REPO = re.compile(r"^[\w.-]+/[\w.-]+$")


class HFBackend(LocalBackend):
    engine_target = "backends.hf:TransformersEngine"
    requires = ("torch", "transformers")

    def resolve(self, model: str) -> tuple[str, dict[str, Any]]:
        """Cheap checks only: no torch, no network (see ``Backend.check``)."""
        if model == EMBEDDED:
            path = embedded_gguf()
            return str(path), {"source": str(path.parent), "gguf_file": path.name}
        path = locate(model, self.models_dir)  # a pinned path: itself, nothing else
        if path is not None:
            if path.is_dir():
                if not (path / "config.json").is_file():
                    raise ConfigError(f"no config.json in {path} — hf needs a transformers model "
                                      "directory (config.json, tokenizer and weights)")
                return str(path), {"source": str(path)}
            if path.is_file() and is_gguf(path):  # by content: a hub cache's blob has no suffix
                return str(path), {"source": str(path.parent), "gguf_file": path.name}
            raise ConfigError(f"not a model directory: {path} — give a directory with "
                              "config.json, a .gguf file, OWNER/REPO, or smollm2")
        repo, revision = split_revision(model)
        if _HUB_REPO.match(repo) and not repo.startswith((".", "/", "~")):
            # the worker key is the id with its @REVISION: two revisions are two models, two workers
            ref = hub_ref(repo, revision)
            return model, {"source": ref.repo, "hub": True, **self.hub_args(ref)}
        raise ConfigError(f"not found: {model} — give a local model directory, OWNER/REPO, or smollm2")

    def hub_target(self, args: dict[str, Any]) -> HubRef | None:
        return HubRef(args["source"], args.get("revision")) if args.get("hub") else None


class TransformersEngine:
    """Child side: one loaded tokenizer and model; one generation at a time."""

    def __init__(self, source: str, gguf_file: str | None = None, hub: bool = False,
                 offline: bool = False, revision: str | None = None, cache: str | None = None) -> None:
        os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars over the terminal's live view
        if offline:
            os.environ["HF_HUB_OFFLINE"] = "1"  # this worker only: the settings said so
        if cache:
            os.environ["HF_HUB_CACHE"] = cache  # the cache the parent checked, not this env's guess
        ref, self.commit = HubRef(source, revision), None
        extra: dict[str, Any] = {"gguf_file": gguf_file} if gguf_file else {}
        if hub and offline:  # the snapshot folder itself: nothing asks the hub what a branch means
            found = snapshot(cache or hub_cache_now(), ref)
            if found is None:
                raise RuntimeError(f"{not_cached(ref)}; or give hf: a local model directory")
            source, self.commit = str(found[0]), found[1]
        elif hub and revision:
            extra["revision"] = revision  # downloaded as that branch, tag or commit (refs/<revision> cached)
        import torch
        import transformers

        transformers.logging.set_verbosity_error()
        self.torch, self.version = torch, transformers.__version__
        self.default_threads = torch.get_num_threads()
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(source, **extra)
            self.model = transformers.AutoModelForCausalLM.from_pretrained(source, **extra)
        except Exception as exc:
            if not hub:
                raise
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            raise RuntimeError(
                f"could not load {ref.repo}{ref.suffix} from the Hugging Face hub or its cache "
                f"({type(exc).__name__}: {first}) — download it first ({ref.fetch_command()}) "
                "or give hf: a local model directory") from exc
        if hub and self.commit is None:  # online: what the download resolved the revision to
            self.commit = (cached_commit(cache or hub_cache_now(), ref)
                           or getattr(self.model.config, "_commit_hash", None))
        self.model.eval()
        eos = self.model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [] if eos is None else [eos])

    def _info(self, threads: int) -> dict[str, Any]:
        """What every run of this engine reports: threads, no prompt cache, the engine, the commit."""
        info: dict[str, Any] = {"threads": threads, "prompt_cache_hit": False,
                                "engine": f"transformers {self.version}"}
        if self.commit:
            info["revision"] = self.commit
        return info

    @property
    def templated(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def _prompt(self, messages: list[dict[str, str]], mode: str) -> Any:
        if mode == "complete":  # the document as it is: no template, no system prompt
            return self.tokenizer(document(messages), return_tensors="pt")
        if self.templated:
            return self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        # a base model in chat mode: it continues the text (the lane says "no chat template")
        return self.tokenizer("\n\n".join(m["content"] for m in messages), return_tensors="pt")

    def _sampling(self, params: dict[str, Any]) -> dict[str, Any]:
        temperature = params.get("temperature")
        if temperature is None or temperature <= 0:  # greedy, whatever the model's generation_config says
            return {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        out: dict[str, Any] = {"do_sample": True, "temperature": float(temperature)}
        if params.get("top_p") is not None:
            out["top_p"] = float(params["top_p"])
        return out

    def generate(self, request: dict[str, Any], emit: Callable[..., None],
                 cancelled: Callable[[], bool]) -> None:
        import transformers

        torch, params = self.torch, request["params"]
        mode, k = params.get("mode") or "chat", params.get("logprobs")
        threads = request.get("threads") or self.default_threads
        if mode == "score":
            score(self, document(request["messages"]), k or 0, threads, self._info(threads), emit)
            return
        inputs = self._prompt(request["messages"], mode).to(self.model.device)
        prompt_len = int(inputs["input_ids"].shape[1])
        max_new = int(params.get("max_tokens") or DEFAULT_MAX_NEW_TOKENS)
        stops = [s for s in params.get("stop") or () if s]
        recorder = Recorder(self, k) if k is not None else None
        streamer = recording_streamer(transformers)(self.tokenizer, recorder, skip_prompt=True, skip_special_tokens=True)
        kwargs: dict[str, Any] = {
            **inputs, **self._sampling(params), "max_new_tokens": max_new, "streamer": streamer,
            "stopping_criteria": transformers.StoppingCriteriaList([_Cancel(cancelled, torch)]),
        }
        if stops:
            kwargs.update(stop_strings=stops, tokenizer=self.tokenizer)
        result: dict[str, Any] = {}

        def run() -> None:
            try:
                torch.set_num_threads(threads)  # in this thread: OpenMP's setting is per thread
                result["ids"] = self.model.generate(**kwargs)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the worker's main thread
                result["error"] = exc
                streamer.end()

        if params.get("seed") is not None:
            torch.manual_seed(int(params["seed"]))
        info = self._info(threads)
        if k is not None:
            info["logprob_kind"] = "raw"  # the model's logits, before temperature and top-p
        if mode == "chat" and not self.templated:
            info["template"] = False
        emit("info", info)
        emit("started")
        thread = threading.Thread(target=run, name="generate", daemon=True)
        if recorder is not None:
            recorder.attach()
        thread.start()
        cut = StopCut(stops)
        try:
            for chunk in streamer:
                text = cut.feed(chunk)
                if text:
                    emit("text", text)
                if recorder is not None:
                    rows = recorder.take()
                    if rows:
                        emit("logprobs", rows)
            tail = cut.flush()
            if tail:
                emit("text", tail)
        finally:
            thread.join()
            if recorder is not None:
                recorder.detach()
        if recorder is not None:
            rows = recorder.take()
            if rows:
                emit("logprobs", rows)
        if "error" in result:
            raise result["error"]
        generated = result["ids"][0, prompt_len:].tolist()
        ended_by_eos = bool(generated) and generated[-1] in self.eos_ids
        emit("usage", prompt_len, len(generated) - ended_by_eos)
        if cancelled():
            return  # the lane says "cancelled"; no finish reason of the model's
        emit("finish", "length" if len(generated) >= max_new and not (ended_by_eos or cut.hit)
             else "stop")


def document(messages: list[dict[str, str]]) -> str:
    """Complete and score modes: the messages' texts joined as they are (backends.gguf.document)."""
    return "".join(m["content"] for m in messages if m["role"] != "system")


class _Cancel:
    """A StoppingCriteria: the worker's cancel flag, checked after every token."""

    def __init__(self, cancelled: Callable[[], bool], torch: Any) -> None:
        self.cancelled, self.torch = cancelled, torch

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        return self.torch.full((input_ids.shape[0],), self.cancelled(), dtype=self.torch.bool)


class StopCut:
    """Passes streamed text through up to the first stop string, which is cut with what follows.

    A tail that could be the start of a stop string is held back until the next chunk decides.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.pending = ""
        self.hit = False

    def feed(self, chunk: str) -> str:
        if self.hit:
            return ""
        text = self.pending + chunk
        found = [i for i in (text.find(s) for s in self.stops) if i >= 0]
        if found:
            self.hit, self.pending = True, ""
            return text[:min(found)]
        held = max((k for s in self.stops for k in range(1, len(s)) if text.endswith(s[:k])), default=0)
        self.pending = text[len(text) - held:] if held else ""
        return text[:len(text) - held]

    def flush(self) -> str:
        out, self.pending = ("" if self.hit else self.pending), ""
        return out
