"""``hf:`` — models in Hugging Face transformers, each in its own worker process.

Model ids: ``hf:smollm2`` (the embedded SmolLM2 GGUF, loaded with ``gguf_file=`` and dequantised
to fp32), ``hf:DIR`` (a local model directory with ``config.json``, absolute, relative, or under
``$PLAYGROUND_HOME/models``), ``hf:PATH.gguf`` (any GGUF file, the same way as smollm2) and
``hf:OWNER/REPO`` (from the hub's cache or downloaded, as ``from_pretrained`` does: ``HF_HOME``
and ``HF_HUB_OFFLINE`` honoured). A path is pinned once to the real file or folder it names
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
from backends.local import EMBEDDED, LocalBackend, embedded_gguf, is_gguf, locate

DEFAULT_MAX_NEW_TOKENS = 256
_HUB_REPO = re.compile(r"^[\w.-]+/[\w.-]+$")
_TRUE = {"1", "ON", "YES", "TRUE"}  # what huggingface_hub accepts as "set"


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
        if _HUB_REPO.match(model) and not model.startswith((".", "/", "~")):
            offline = str(self.config.options.get("hf_offline") or "").upper() in _TRUE
            return model, {"source": model, "hub": True, "offline": offline}
        raise ConfigError(f"not found: {model} — give a local model directory, OWNER/REPO, or smollm2")


class TransformersEngine:
    """Child side: one loaded tokenizer and model; one generation at a time."""

    def __init__(self, source: str, gguf_file: str | None = None, hub: bool = False,
                 offline: bool = False) -> None:
        os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars over the terminal's live view
        if offline:
            os.environ["HF_HUB_OFFLINE"] = "1"  # this worker only: the settings said so
        import torch
        import transformers

        transformers.logging.set_verbosity_error()
        self.torch, self.version = torch, transformers.__version__
        self.default_threads = torch.get_num_threads()
        extra = {"gguf_file": gguf_file} if gguf_file else {}
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(source, **extra)
            self.model = transformers.AutoModelForCausalLM.from_pretrained(source, **extra)
        except Exception as exc:
            if not hub:
                raise
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            raise RuntimeError(
                f"could not load {source} from the Hugging Face hub or its cache "
                f"({type(exc).__name__}: {first}) — download it first (hf download {source}) "
                "or give hf: a local model directory") from exc
        self.model.eval()
        eos = self.model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [] if eos is None else [eos])

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
            self._score(document(request["messages"]), k or 0, threads, emit)
            return
        inputs = self._prompt(request["messages"], mode).to(self.model.device)
        prompt_len = int(inputs["input_ids"].shape[1])
        max_new = int(params.get("max_tokens") or DEFAULT_MAX_NEW_TOKENS)
        stops = [s for s in params.get("stop") or () if s]
        recorder = _Recorder(self, k) if k is not None else None
        streamer = _streamer(transformers)(self.tokenizer, recorder, skip_prompt=True, skip_special_tokens=True)
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
        info: dict[str, Any] = {"threads": threads, "prompt_cache_hit": False,
                                "engine": f"transformers {self.version}"}
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


    def _score(self, text: str, k: int, threads: int, emit: Callable[..., None]) -> None:
        """Score mode: one forward pass; each token's log-probability given the ones before (the
        first is unscored unless the tokenizer puts a BOS before it)."""
        torch = self.torch
        ids = self.tokenizer(text, return_tensors="pt")["input_ids"].to(self.model.device)
        emit("info", {"threads": threads, "prompt_cache_hit": False, "logprob_kind": "raw",
                      "engine": f"transformers {self.version}"})
        emit("started")
        torch.set_num_threads(threads)
        with torch.inference_mode():
            logprobs = torch.log_softmax(self.model(ids).logits[0].double(), dim=-1)
        seq = ids[0].tolist()
        pieces = _Pieces(self.tokenizer)
        special = set(self.tokenizer.all_special_ids)
        first = pieces.next(seq[0]) if seq and seq[0] not in special else ""
        if first:
            emit("text", first)  # shown, not scored: nothing came before it
        top = torch.topk(logprobs[:-1], k, dim=-1) if k else None
        rows = []
        for i in range(1, len(seq)):
            alts = ([[pieces.alone(int(t)), float(v)] for t, v in zip(top.indices[i - 1].tolist(),
                                                                        top.values[i - 1].tolist(), strict=True)]
                    if top is not None else [])
            rows.append([pieces.next(seq[i]), float(logprobs[i - 1, seq[i]]), alts])
        if rows:
            emit("text", "".join(r[0] for r in rows))
            emit("logprobs", rows)
        emit("usage", len(seq), 0)
        emit("finish", "stop")


def document(messages: list[dict[str, str]]) -> str:
    """Complete and score modes: the messages' texts joined as they are (backends.gguf.document)."""
    return "".join(m["content"] for m in messages if m["role"] != "system")


class _Pieces:
    """Generated ids to text one token at a time, each decoded after the token before it (so a
    tokenizer that drops a leading space on a lone token keeps it), a split character held until
    it is whole: the pieces join to the decoded text."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer, self.ids, self.prefix = tokenizer, [], ""

    def next(self, token: int) -> str:
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):
            return ""  # a character split over tokens: its last token gets it
        piece = text[len(self.prefix):] if text.startswith(self.prefix) else text
        self.ids = self.ids[-1:]
        self.prefix = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        return piece

    def alone(self, token: int) -> str:
        return self.tokenizer.decode([token])


class _Recorder:
    """Probabilities of each generated token, paired by step, not by text.

    A forward hook keeps the log-softmax of the last position's logits as the model computes them
    (raw: before temperature, top-p and every logits processor); the streamer's ``put`` — called
    with each chosen token right after sampling — pairs that distribution with the token. The
    ``TextIteratorStreamer`` buffers text to a space, so rows are sent after each text chunk and
    may run ahead of it; end-of-sequence tokens are left out (they have no text)."""

    def __init__(self, engine: TransformersEngine, k: int) -> None:
        self.engine, self.k = engine, k
        self.torch = engine.torch
        self.pending: Any = None
        self.rows: list[list[Any]] = []
        self.lock = threading.Lock()
        self.pieces = _Pieces(engine.tokenizer)
        self.handle: Any = None

    def attach(self) -> None:
        def hook(module: Any, args: Any, output: Any) -> None:
            self.pending = self.torch.log_softmax(output.logits[0, -1].double(), dim=-1)

        self.handle = self.engine.model.register_forward_hook(hook)

    def detach(self) -> None:
        if self.handle is not None:
            self.handle.remove()
            self.handle = None

    def chosen(self, value: Any) -> None:
        logprobs, self.pending = self.pending, None
        if logprobs is None:
            return
        token = int(value.reshape(-1)[0])
        if token in self.engine.eos_ids:
            return
        top = self.torch.topk(logprobs, self.k) if self.k else None
        alts = ([[self.pieces.alone(int(t)), float(v)] for t, v in zip(top.indices.tolist(), top.values.tolist(),
                                                                      strict=True)] if top is not None else [])
        row = [self.pieces.next(token), float(logprobs[token]), alts]
        with self.lock:
            self.rows.append(row)

    def take(self) -> list[list[Any]]:
        with self.lock:
            rows, self.rows = self.rows, []
        return rows


def _streamer(transformers: Any) -> type:
    """A TextIteratorStreamer that also hands each chosen token to a recorder (None: it is the plain one)."""

    class RecordingStreamer(transformers.TextIteratorStreamer):
        def __init__(self, tokenizer: Any, recorder: _Recorder | None, **kwargs: Any) -> None:
            super().__init__(tokenizer, **kwargs)
            self.recorder = recorder

        def put(self, value: Any) -> None:
            if self.recorder is not None and not (self.skip_prompt and self.next_tokens_are_prompt):
                self.recorder.chosen(value)
            super().put(value)

    return RecordingStreamer


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
