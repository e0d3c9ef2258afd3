"""A model's answer as HTML for the page: its Markdown rendered on the server, safe, and cheap to
redraw many times a second while it streams.

``render(text)`` is the rendered Markdown of ``storage.rendered`` (the one renderer, shared with
the HTML export: CommonMark with GFM tables, highlighted fenced code, and safe — no raw HTML, no
script links, no images; its docstring says how).

Streaming: every redraw of a lane renders its whole answer again, so a long answer would cost
O(n²) over its stream. The blocks of an answer before its last one cannot change as text is
appended, once they are closed by a blank line (see ``_cut``), so their HTML is kept
(``_CACHE``, a few entries: one per answer being redrawn) and only the text after them is
parsed and rendered. The result is the same as rendering the whole text: a reference
definition (``[k]: url``) in the new text, which could change a link above it, renders the
whole text again. ``tests/test_web_markdown.py`` checks both (safety and sameness) on generated
hostile text.

``answer_body(text)`` is what the page shows for an answer: the rendered view and, hidden until a
lane's "raw" toggle asks for it, the text as written (also what the copy button copies).
"""

from __future__ import annotations

import html
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from markdown_it.token import Token

from storage.rendered import MD as _MD
from storage.rendered import SCHEMES, highlight_css, lines

__all__ = ["SCHEMES", "answer_body", "highlight_css", "render"]
CACHE_SIZE = 64  # answers being redrawn at once: lanes × open pages, with room to spare


@dataclass(frozen=True)
class _Stable:
    """The start of an answer that no later text can change: its blocks' ``source`` and ``html``,
    and the link references (``[k]: url``) of the whole text it was cut from (its HTML was
    rendered with them). It holds for any text that starts with ``key``: the source and the
    first line after it, which decides that the blocks above are closed (see ``_cut``)."""

    key: str
    source: str
    html: str
    references: dict[str, Any] = field(default_factory=dict)


_EMPTY = _Stable("", "", "")
_CACHE: OrderedDict[str, _Stable] = OrderedDict()
_LOCK = threading.Lock()


def render(text: str | None, *, cache: bool = True) -> str:
    """``text`` (Markdown, untrusted) as safe HTML; see the module docstring. ``cache=False``:
    the whole text rendered, nothing kept (the same HTML, at the full cost)."""
    text = lines(text or "")
    if not cache:
        return _MD.render(text)
    base = _cached(text)
    tail = text[len(base.source):]
    env: dict[str, Any] = {"references": dict(base.references)}
    tokens = _MD.parse(tail, env)
    if base.key and env["references"].keys() != base.references.keys():
        base, tail, env = _EMPTY, text, {"references": {}}  # a new reference: it may change a link above
        tokens = _MD.parse(tail, env)
    cut = _cut(tail, tokens)
    if cut is None:
        return base.html + _MD.renderer.render(tokens, _MD.options, env)
    index, offset, line_end = cut
    above = _MD.renderer.render(tokens[:index], _MD.options, env)
    stable = _Stable(base.source + tail[:line_end], base.source + tail[:offset], base.html + above,
                     dict(env["references"]))
    _keep(stable, replaces=base)
    return stable.html + _MD.renderer.render(tokens[index:], _MD.options, env)


def answer_body(text: str | None) -> str:
    """The answer as the page shows it: rendered, and the text as written for the "raw" view
    and the copy button (hidden by the page's CSS until asked for). "" for no text."""
    if not text:
        return ""
    # the newline after <pre> is the one the HTML parser drops: a text that starts with one keeps it
    return f'<div class="answer-md">{render(text)}</div><pre class="answer-raw">\n{html.escape(text)}</pre>'


def _cut(tail: str, tokens: list[Token]) -> tuple[int, int, int] | None:
    """(token index, character offset, end of its first line) where the last top-level block of
    ``tail`` starts, when nothing appended to ``tail`` can change the blocks before it; None
    otherwise.

    Appending text only adds characters to the last line and lines after it. A block is closed
    for good by a blank line followed by a line that is complete (a newline after it) and starts
    a block of its own: whether a line continues the block above it (a list item, a lazy
    paragraph line, an indented line) is decided by that line alone once a blank line separates
    them. A line still being written can change its mind ("2" becomes "2.", an item of the list
    above), so the cut waits for its newline. The blocks from the cut on parse the same on their
    own, as no container is open there."""
    starts = [(i, t.map[0]) for i, t in enumerate(tokens) if t.level == 0 and t.nesting >= 0 and t.map]
    if len(starts) < 2:
        return None
    index, line = starts[-1]
    offsets = [0]
    at = tail.find("\n")
    while at >= 0 and len(offsets) <= line + 1:
        offsets.append(at + 1)
        at = tail.find("\n", at + 1)
    if line < 1 or len(offsets) <= line + 1:  # the block's first line has no newline yet
        return None
    if tail[offsets[line - 1]:offsets[line] - 1].strip(" \t"):
        return None  # no blank line above the block
    return index, offsets[line], offsets[line + 1]


def _cached(text: str) -> _Stable:
    """The longest kept start of ``text``."""
    with _LOCK:
        best = _EMPTY
        for stable in _CACHE.values():
            if len(stable.key) > len(best.key) and text.startswith(stable.key):
                best = stable
        if best.key:
            _CACHE.move_to_end(best.key)
        return best


def _keep(stable: _Stable, replaces: _Stable) -> None:
    with _LOCK:
        _CACHE.pop(replaces.key, None)  # the same answer, further on: its shorter start is of no more use
        _CACHE[stable.key] = stable
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
