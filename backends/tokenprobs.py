"""Token probabilities from logits, shared by the local engines (gguf, hf) inside their workers.

A local engine sees the logits of the last position at each step (llama.cpp without
``logits_all``, transformers' ``scores``); this turns one logits row into the chosen token's
natural-log probability and the K most likely alternatives (log-sum-exp over the whole vocabulary,
top-K by ``argpartition``: O(vocab), no full sort). The rows sent to the parent are plain lists
``[text, logprob, [[alt, logprob], ...]]`` (``backends.base.TokenProb``); numpy is imported by the
callers' workers only.
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Callable
from typing import Any

Row = list[Any]  # [text, logprob, [[alt, logprob], ...]]


def row_from_logits(logits: Any, chosen: int, k: int, text: str, alone: Callable[[int], str]) -> Row:
    """One token's row from a float32 logits row (numpy): its text, its natural-log probability and
    the top k alternatives, best first (ties: lower id first).

    Per token, so it is kept to what the figures need (it runs once per generated token, inside the
    decode loop): the log-sum-exp takes one exp over the vocabulary in float32, summed in float64
    (within ~1e-8 nats of a float64 log-softmax; the record keeps 4 decimals), and the alternatives
    come from the logits themselves (the log-softmax keeps their order), so no float64 copy of the
    row is made and only k values are converted. For SmolLM2's 49,152 logits: ~0.1–0.2 ms, against
    ~1.1–1.7 ms for the float64 log-softmax + negated ``argpartition`` it replaced (10 % of decode)."""
    import numpy as np

    top = float(logits.max())
    shifted = logits - top
    np.exp(shifted, out=shifted)
    lse = top + math.log(float(shifted.sum(dtype=np.float64)))
    alternatives: list[list[Any]] = []
    k = min(k, logits.shape[0])
    if k > 0:
        ids = np.argpartition(logits, -k)[-k:]
        values = logits[ids]
        order = np.lexsort((ids, -values))
        alternatives = [[alone(i), v - lse] for i, v in zip(ids[order].tolist(), values[order].tolist(), strict=True)]
    return [text, float(logits[chosen]) - lse, alternatives]


class Pieces:
    """Token ids to text, piece by piece: a character split over tokens (UTF-8 bytes) is given to
    the token that completes it, so the pieces of a run join to exactly the decoded text."""

    def __init__(self, to_bytes: Callable[[int], bytes]) -> None:
        self.to_bytes = to_bytes
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def next(self, token: int) -> str:
        return self.decoder.decode(self.to_bytes(token))

    def alone(self, token: int) -> str:
        """An alternative's text on its own (a partial character shown as U+FFFD)."""
        return self.to_bytes(token).decode("utf-8", "replace")
