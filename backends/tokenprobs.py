"""Token probabilities from logits, shared by the local engines (gguf, hf) inside their workers.

A local engine sees the logits of the last position at each step (llama.cpp without
``logits_all``, transformers' ``scores``); this turns one logits row into the chosen token's
natural-log probability and the K most likely alternatives (log-softmax over the whole vocabulary,
top-K by ``argpartition``: O(vocab), no full sort). The rows sent to the parent are plain lists
``[text, logprob, [[alt, logprob], ...]]`` (``backends.base.TokenProb``); numpy is imported by the
callers' workers only.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import Any

Row = list[Any]  # [text, logprob, [[alt, logprob], ...]]


def log_softmax_row(logits: Any) -> Any:
    """``logits - logsumexp(logits)`` as float64 (numpy), stable for any logit scale."""
    import numpy as np

    row = np.asarray(logits, dtype=np.float64)
    top = row.max()
    return row - (top + np.log(np.exp(row - top).sum()))


def top_k(logprobs: Any, k: int) -> list[tuple[int, float]]:
    """The k most likely ids of a log-probability row, best first (ties: lower id first)."""
    import numpy as np

    if k <= 0:
        return []
    k = min(k, logprobs.shape[0])
    ids = np.argpartition(-logprobs, k - 1)[:k]
    order = np.lexsort((ids, -logprobs[ids]))
    return [(int(i), float(logprobs[i])) for i in ids[order]]


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


def row_for(logprobs: Any, chosen: int, k: int, text: str, alone: Callable[[int], str]) -> Row:
    """One token's row: its text, its log-probability, and the top k alternatives."""
    return [text, float(logprobs[chosen]), [[alone(i), lp] for i, lp in top_k(logprobs, k)]]
