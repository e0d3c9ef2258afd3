"""transformers' token probabilities, inside the hf worker (``backends.hf.TransformersEngine``):
generated ids to text piece by piece, a recorder pairing each chosen token with the distribution it
was chosen from, and the streamer that hands it each token. torch and transformers come from the
engine (imported in the worker only)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Pieces:
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


class Recorder:
    """Probabilities of each generated token, paired by step, not by text.

    A forward hook keeps the log-softmax of the last position's logits as the model computes them
    (raw: before temperature, top-p and every logits processor); the streamer's ``put`` — called
    with each chosen token right after sampling — pairs that distribution with the token. The
    ``TextIteratorStreamer`` buffers text to a space, so rows are sent after each text chunk and
    may run ahead of it; end-of-sequence tokens are left out (they have no text)."""

    def __init__(self, engine: Any, k: int) -> None:
        self.engine, self.k = engine, k
        self.torch = engine.torch
        self.pending: Any = None
        self.rows: list[list[Any]] = []
        self.lock = threading.Lock()
        self.pieces = Pieces(engine.tokenizer)
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


def recording_streamer(transformers: Any) -> type:
    """A TextIteratorStreamer that also hands each chosen token to a recorder (None: it is the plain one)."""

    class RecordingStreamer(transformers.TextIteratorStreamer):
        def __init__(self, tokenizer: Any, recorder: Recorder | None, **kwargs: Any) -> None:
            super().__init__(tokenizer, **kwargs)
            self.recorder = recorder

        def put(self, value: Any) -> None:
            if self.recorder is not None and not (self.skip_prompt and self.next_tokens_are_prompt):
                self.recorder.chosen(value)
            super().put(value)

    return RecordingStreamer


def score(engine: Any, text: str, k: int, threads: int, info: dict[str, Any], emit: Callable[..., None]) -> None:
    """Score mode: one forward pass; each token's log-probability given the ones before (the
    first is unscored unless the tokenizer puts a BOS before it). ``info`` is the run's engine info."""
    torch, tokenizer = engine.torch, engine.tokenizer
    ids = tokenizer(text, return_tensors="pt")["input_ids"].to(engine.model.device)
    emit("info", {**info, "logprob_kind": "raw"})
    emit("started")
    torch.set_num_threads(threads)
    with torch.inference_mode():
        logprobs = torch.log_softmax(engine.model(ids).logits[0].double(), dim=-1)
    seq = ids[0].tolist()
    pieces = Pieces(tokenizer)
    special = set(tokenizer.all_special_ids)
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
