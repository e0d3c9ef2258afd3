"""Markdown as safe HTML: the one renderer of a model's answer, for the page
(``playground/web/markdown_view.py``, which adds its streaming cache) and the HTML export
(``storage/html.py``).

CommonMark with GFM tables and strikethrough; fenced code highlighted by Pygments when its info
string names a language Pygments knows. The text is untrusted — a model wrote it — so the
renderer is set up to make no HTML of its own choosing:

- raw HTML is off: ``<img onerror=…>`` or ``<script>`` is shown as the characters typed;
- a link is kept only when it goes to ``http:``, ``https:`` or ``mailto:`` or has no scheme (a
  relative link or an anchor); ``[x](javascript:…)``, ``vbscript:``, ``data:``, ``file:`` and the
  rest stay text;
- images are off: ``![alt](url)`` shows "!" and a link to the url, so an answer loads nothing
  (the page works offline, and an answer cannot call a tracking pixel);
- what reaches an attribute (an href, a link title, a code block's language class) is escaped by
  the renderer, and the only other attributes are the renderer's own (a table cell's alignment,
  an ordered list's start) and ``target``/``rel`` on links.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
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


MD = MarkdownIt("commonmark", {"html": False, "highlight": _highlight}).enable(["table", "strikethrough"])
MD.disable("image")
MD.validateLink = _safe_link
MD.add_render_rule("link_open", _link_open)


def lines(text: str) -> str:
    """CommonMark's line endings and NUL, as markdown-it reads them (lines counted on the result
    match its own)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")


def markdown_html(text: str | None) -> str:
    """``text`` (Markdown, untrusted) rendered whole as safe HTML."""
    return MD.render(lines(text or ""))


def plain(text: str | None, rendered: str) -> bool:
    """Whether ``rendered`` (``markdown_html(text)``) is ``text`` as one paragraph and nothing
    else: no Markdown in it, so showing the text as written says the same."""
    return rendered == f"<p>{escapeHtml(lines(text or '').strip())}</p>\n"


def highlight_rules(scope: str, style: str = "default") -> str:
    """Pygments' colours of ``style`` for the highlighted code under ``scope`` (a CSS selector):
    only the token colours; the backgrounds and line numbers are the page's own."""
    rules = HtmlFormatter(style=style, classprefix=CLASS_PREFIX).get_style_defs(scope)
    return "\n".join(re.sub(r"\s*/\*[^*]*\*/$", "", line) for line in rules.splitlines()  # no "/* Keyword */"
                     if line.startswith(scope + " .") and "linenos" not in line)


def highlight_css(scope: str) -> str:
    """The page's code colours under ``scope``: a light style, and a dark one under Gradio's ``.dark``."""
    return highlight_rules(scope) + "\n" + highlight_rules(f".dark {scope}", "github-dark")
