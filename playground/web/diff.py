"""Word-level differences between two answers, as escaped HTML with <ins>/<del>.

``difflib.SequenceMatcher`` on words (whitespace kept as its own tokens, so the text reads as it
was written). Both texts are escaped before any tag is added: an answer can never inject markup.
"""

from __future__ import annotations

import difflib
import re

from playground.web.escape import esc

_TOKEN = re.compile(r"\s+|[^\s]+")


def words(text: str) -> list[str]:
    return _TOKEN.findall(text or "")


def word_diff_html(a: str, b: str) -> str:
    """``a`` → ``b``: removed words in <del>, added ones in <ins>, the rest as is."""
    left, right = words(a), words(b)
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(esc("".join(left[i1:i2])))
            continue
        if op in ("delete", "replace"):
            out.append(f"<del>{esc(''.join(left[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            out.append(f"<ins>{esc(''.join(right[j1:j2]))}</ins>")
    return f'<div class="diff">{"".join(out)}</div>'
