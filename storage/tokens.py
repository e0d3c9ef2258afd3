"""An output's token rows (``[[text, logprob, [[alt, logprob], ...]], ...]``) split into flat columns,
once per save: the check (``storage.plain.check_tokens``) and the packer (``storage.codec.pack_tokens``)
both read the columns.

Why: an 8-lane turn of 2,000 tokens with 20 alternatives holds 336,000 strings and numbers. A
per-item Python walk costs ~1 µs an item; every pass here runs in C (``map``, ``chain``, ``set``,
``array``) at 10–30 ns an item, and a save used to make ~25 of them (the check and the packer each
split the rows again, then the packer checked its logprobs against a 10⁻⁴ grid in four more). Inside
``one_split()`` (each write of the store) a second split of the same list is the first one's result.
"""

from __future__ import annotations

import array
import contextlib
import math
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

LOGPROB_LIMIT = 1e9  # |logprob| at most this: larger is no probability, and is refused


@dataclass(frozen=True, slots=True)
class TokenColumns:
    """The rows as columns, in order: each token's text, logprob and number of alternatives, then
    every alternative's text and logprob. ``floats``: every number is a float (not an int)."""

    texts: list[str]
    logprobs: array.array
    counts: list[int]
    alt_texts: list[str]
    alt_logprobs: array.array
    floats: bool


_memo: ContextVar[dict[int, tuple[list[Any], TokenColumns | None]] | None] = ContextVar("token_split", default=None)


@contextlib.contextmanager
def one_split() -> Iterator[None]:
    """Within this block, a list of rows split once is not split again (a save checks, then packs)."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def split_tokens(tokens: Any) -> TokenColumns | None:
    """The columns of well-formed rows (strings; finite numbers within ±1e9), else None — the
    caller then walks the rows one by one to say which is wrong, or keeps them as they are."""
    memo = _memo.get()
    if memo is not None:
        hit = memo.get(id(tokens))
        if hit is not None and hit[0] is tokens:
            return hit[1]
    columns = _split(tokens)
    if memo is not None:
        memo[id(tokens)] = (tokens, columns)  # held: no other list can take its id() meanwhile
    return columns


def _split(tokens: Any) -> TokenColumns | None:
    if type(tokens) is not list:
        return None
    try:
        if tokens and (set(map(type, tokens)) != {list} or set(map(len, tokens)) != {3}):
            return None
        tops = list(map(itemgetter(2), tokens))
        if tops and set(map(type, tops)) != {list}:
            return None
        flat = list(chain.from_iterable(tops))
        if flat and set(map(type, flat)) != {list}:
            return None
        alt_texts = list(map(itemgetter(0), flat))
        alt_lps = list(map(itemgetter(1), flat))  # IndexError: a pair of fewer than two
        if sum(map(len, flat)) != 2 * len(flat):  # each has two or more: so each has exactly two
            return None
        texts = list(map(itemgetter(0), tokens))
        lps = list(map(itemgetter(1), tokens))
        if not set(map(type, texts)) | set(map(type, alt_texts)) <= {str}:
            return None
        kinds = set(map(type, lps)) | set(map(type, alt_lps))
        if not kinds <= {float, int}:
            return None
        numbers, alt_numbers = array.array("d", lps), array.array("d", alt_lps)
    except (IndexError, OverflowError):
        return None
    for part in (numbers, alt_numbers):
        # a sum over finite numbers within the limit is finite; one inf or nan makes it not
        if part and not (math.isfinite(sum(part)) and -LOGPROB_LIMIT <= min(part) and max(part) <= LOGPROB_LIMIT):
            return None
    return TokenColumns(texts, numbers, list(map(len, tops)), alt_texts, alt_numbers, kinds <= {float})
