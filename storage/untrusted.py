"""Untrusted text inside Markdown: a model's answer, a prompt, an imported document's fields.

Two ways in, both pure functions of a string:

- ``literal(text)``: the text shown as written. ``<``, ``>`` and ``&`` become character
  references and every other ASCII character that can start Markdown in running text gets a
  backslash, so ``<img onerror=…>``, ``[x](javascript:…)`` or ``**`` are characters, never markup.
  For titles, model ids, table cells, one-line messages. (References, not backslashes, for ``<``:
  a renderer that links bare URLs, as GFM does, takes the backslash into the link, and the ``<``
  after it would open a tag.)
- ``markdown(text)``: the text kept as Markdown (headings, lists, emphasis, links, code stay
  readable) but inert: raw HTML is escaped (``<`` becomes ``&lt;``, ``&#…;`` is shown, not decoded),
  links and images to ``javascript:``, ``vbscript:`` or ``data:`` are turned back into text, and a
  code fence left open is closed so it cannot swallow what follows. Fenced code and code spans
  are left as they are: a CommonMark renderer shows them as text already.

What is left alone is only what a CommonMark renderer surely reads as code, so nothing left
alone can be HTML: fences and indented code as a CommonMark parser (markdown-it) finds them, in
lists and quotes too; a code span only where every reading agrees (see ``_prose``). Where this
module is unsure it escapes: at worst a ``<`` shows as ``&lt;`` inside code, never runs.
Text placed inside a container (a quote) must be quoted first and then passed through
``markdown()``, so the structure checked is the structure rendered. Line endings are LF, CRLF
or CR, as in CommonMark; the result has LF only.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

_LITERAL = re.compile(r"([\\`*_{}\[\]()!|~$#])")
_REFERENCES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Which lines a CommonMark renderer reads as code (fences, indented code), inside lists and
# quotes too. Raw HTML off: the HTML this module escapes never shapes the blocks.
_BLOCKS = MarkdownIt("commonmark", {"html": False}).enable("table")
_FENCE = re.compile(r"( {0,3})(`{3,}|~{3,})(.*)")
_ENTITY = re.compile(r"&(?=#[0-9]{1,7};|#[xX][0-9A-Fa-f]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
# A link or image destination, or a reference definition, that starts with a scheme which runs
# code or smuggles a document. No space can sit inside a destination, and letters cannot be
# backslash-escaped, so these spellings (any case, ``\:``) are all a renderer would take as such.
_UNSAFE_LINK = re.compile(r"\]([(:])(?=\s*(?:javascript|vbscript|data)\\?:)", re.IGNORECASE)
_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def literal(text: str | None) -> str:
    """``text`` as characters: Markdown shows it exactly as written (line breaks aside)."""
    text = re.sub(r"[&<>]", lambda m: _REFERENCES[m.group(0)], _lines(text or ""))
    return _LITERAL.sub(r"\\\1", text)


def markdown(text: str | None) -> str:
    """``text`` as Markdown with no HTML and no script or data links (see the module docstring)."""
    lines = _lines(text or "").split("\n")
    code = [False] * len(lines)
    unclosed = ""
    for token in _BLOCKS.parse("\n".join(lines)):
        if token.type not in ("fence", "code_block") or not token.map:
            continue
        start, end = token.map
        for n in range(start, end):
            code[n] = True
        if token.type == "fence" and token.level == 0 and not _closes(lines[start + 1:end], token.markup):
            unclosed = token.markup  # it runs to the end: closed below, or it would swallow what follows
    out: list[str] = []
    n = 0
    while n < len(lines):
        if code[n]:
            out.append(lines[n])
            n += 1
            continue
        end = n
        while end < len(lines) and not code[end]:
            end += 1
        out.append(_prose(lines[n:end]))
        n = end
    if unclosed:
        out.append(unclosed)
    return "\n".join(out)


def _closes(body: list[str], markup: str) -> bool:
    m = _FENCE.fullmatch(body[-1]) if body else None
    return bool(m and m.group(2)[0] == markup[0] and len(m.group(2)) >= len(markup) and not m.group(3).strip(" \t"))


def _lines(text: str) -> str:
    # CommonMark's line endings, and its replacement for NUL
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")


def _prose(lines: list[str]) -> str:
    """Lines outside fences: the code spans a renderer will surely see kept, the rest made inert.

    A renderer pairs backtick runs left to right within a paragraph, across its lines, and in a
    GFM table within each cell. A span is kept only where every reading agrees: paired within its
    line, the same when the line is split into cells at ``|``, and no run left open earlier in the
    paragraph (which could pair with a run of this line and shift every pairing after it)."""
    pieces: list[tuple[bool, str]] = []  # (is code, text)
    clean = True  # no backtick run left open since the last blank line
    for n, line in enumerate(lines):
        if n:
            pieces.append((False, "\n"))
        if not line.strip(" \t"):
            clean = True
        spans, open_run = _spans(line, 0, len(line))
        kept = spans & _cell_spans(line) if clean else set()
        clean = clean and not open_run
        at = 0
        for start, end in sorted(kept):
            pieces += [(False, line[at:start]), (True, line[start:end])]
            at = end
        pieces.append((False, line[at:]))
    out: list[str] = []
    text: list[str] = []
    for code, piece in pieces:
        if code:
            out += [_inert("".join(text)), piece]
            text = []
        else:
            text.append(piece)
    out.append(_inert("".join(text)))
    return "".join(out)


def _spans(line: str, start: int, end: int) -> tuple[set[tuple[int, int]], bool]:
    """The code spans of ``line[start:end]`` read as one inline run, and whether a backtick run
    was left open."""
    spans: set[tuple[int, int]] = set()
    open_run = False
    i = start
    while i < end:
        c = line[i]
        if c == "\\" and i + 1 < end and line[i + 1] in _PUNCT:
            i += 2  # an escaped character: a backslash-escaped backtick opens nothing
            continue
        if c != "`":
            i += 1
            continue
        run = _run(line, i, end)
        close = _closing(line, i + run, end, run)
        if close is None:
            open_run = True
            i += run
            continue
        spans.add((i, close + run))
        i = close + run
    return spans, open_run


def _cell_spans(line: str) -> set[tuple[int, int]]:
    """The code spans of ``line`` read as a GFM table row: each cell (split at ``|`` that is not
    backslash-escaped) on its own."""
    spans: set[tuple[int, int]] = set()
    start = i = 0
    while i <= len(line):
        if i == len(line) or line[i] == "|":
            spans |= _spans(line, start, i)[0]
            start = i + 1
        elif line[i] == "\\" and i + 1 < len(line) and line[i + 1] in _PUNCT:
            i += 1
        i += 1
    return spans


def _run(line: str, i: int, end: int) -> int:
    j = i
    while j < end and line[j] == "`":
        j += 1
    return j - i


def _closing(line: str, i: int, end: int, run: int) -> int | None:
    """Where the next backtick run of exactly ``run`` begins (code spans hold no escapes)."""
    while i < end:
        if line[i] != "`":
            i += 1
            continue
        k = _run(line, i, end)
        if k == run:
            return i
        i += k
    return None


def _inert(text: str) -> str:
    """Prose: every ``<`` as ``&lt;``, character references shown as written, and
    script/data links turned into text (their ``(`` or ``:`` escaped, which reads the same)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in _PUNCT:
            # an escaped "<" as a reference too (a bare URL before it could take the backslash)
            out.append("&lt;" if text[i + 1] == "<" else text[i:i + 2])
            i += 2
            continue
        out.append("&lt;" if c == "<" else "&amp;" if c == "&" and _ENTITY.match(text, i) else c)
        i += 1
    return _UNSAFE_LINK.sub(r"]\\\1", "".join(out))
