"""A model's answer as HTML for the page: its Markdown rendered on the server, safe, and cheap to
redraw many times a second while it streams.

``render(text)`` is the rendered Markdown (CommonMark with GFM tables and strikethrough; fenced
code highlighted by Pygments when its info string names a language Pygments knows). The text is
untrusted — a model wrote it — so the renderer is set up to make no HTML of its own choosing:

- raw HTML is off: ``<img onerror=…>`` or ``<script>`` is shown as the characters typed;
- a link is kept only when it goes to ``http:``, ``https:`` or ``mailto:`` or has no scheme (a
  relative link or an anchor); ``[x](javascript:…)``, ``vbscript:``, ``data:``, ``file:`` and the
  rest stay text;
- images are off: ``![alt](url)`` shows "!" and a link to the url, so an answer loads nothing
  (the page works offline, and an answer cannot call a tracking pixel);
- what reaches an attribute (an href, a link title, a code block's language class) is escaped by
  the renderer, and the only other attributes are the renderer's own (a table cell's alignment,
  an ordered list's start) and ``target``/``rel`` on links.

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
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_all_lexers, get_lexer_by_name

SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.\-]*):")
HIGHLIGHT_MAX = 20_000  # characters of one code block: past this it is shown plain (a lexer's cost grows with it)
CLASS_PREFIX = "hl-"  # Pygments' token classes, prefixed: "k" alone could meet a class of Gradio's
_FORMATTER = HtmlFormatter(nowrap=True, classprefix=CLASS_PREFIX)
CACHE_SIZE = 64  # answers being redrawn at once: lanes × open pages, with room to spare


def _safe_link(url: str) -> bool:
    scheme = _SCHEME.match(url)
    return scheme is None or scheme.group(1).lower() in SCHEMES


@cache
def _aliases() -> frozenset[str]:
    """The language names of Pygments' own lexers. Only these are looked up: an unknown name
    would make Pygments scan the installed packages for plugin lexers (~1 s), once per name an
    answer cares to invent. Loading a lexer costs 10–80 ms once per language and process."""
    return frozenset(alias for _, aliases, _, _ in get_all_lexers(plugins=False) for alias in aliases)


def _lexer(lang: str) -> Lexer | None:
    lang = lang.lower()
    return _load(lang) if lang in _aliases() else None


@cache
def _load(lang: str) -> Lexer:
    return get_lexer_by_name(lang, stripnl=False, ensurenl=False)


def _highlight(code: str, lang: str, _attrs: str) -> str:
    """Pygments' spans for a fenced block in a language it knows; "" leaves the block to the
    renderer (escaped as it is)."""
    lexer = _lexer(lang)
    if lexer is None or len(code) > HIGHLIGHT_MAX:
        return ""
    return highlight(code, lexer, _FORMATTER)


def _link_open(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    # a link in an answer leaves the page (and never hands it a window.opener)
    tokens[idx].attrSet("target", "_blank")
    tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
    return self.renderToken(tokens, idx, options, env)


_MD = MarkdownIt("commonmark", {"html": False, "highlight": _highlight}).enable(["table", "strikethrough"])
_MD.disable("image")
_MD.validateLink = _safe_link
_MD.add_render_rule("link_open", _link_open)


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
    text = _lines(text or "")
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


def _lines(text: str) -> str:
    # CommonMark's line endings and NUL, as markdown-it reads them: lines counted here match its own
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")


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


def highlight_css(scope: str) -> str:
    """Pygments' colours for the highlighted code, under ``scope`` (a CSS selector): a light style,
    and a dark one under Gradio's ``.dark``."""
    light = HtmlFormatter(style="default", classprefix=CLASS_PREFIX).get_style_defs(scope)
    dark = HtmlFormatter(style="github-dark", classprefix=CLASS_PREFIX).get_style_defs(f".dark {scope}")
    # only the token colours: the backgrounds and line numbers are the page's own
    keep = [line for line in (light + "\n" + dark).splitlines()
            if line.startswith((scope + " .", f".dark {scope} .")) and "linenos" not in line]
    return "\n".join(keep)
