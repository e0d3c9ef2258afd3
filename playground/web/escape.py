"""Untrusted text into the page: the one way titles, prompts, model ids, answers, error messages,
file names and typed input reach what Gradio renders.

- ``esc``: for HTML the page builds (``gr.HTML`` values) — and for toasts, whose messages
  Gradio renders as HTML (``toast`` for a refused input, red; ``notice`` for what is not an error,
  such as "nothing to replay yet").
- ``md``: for ``gr.Markdown`` values (notices, messages). HTML escaping is not enough there:
  ``![](http://…)`` would still load an image. ``<``, ``>`` and ``&`` become character references
  and every other ASCII punctuation character gets a backslash — all of them, not only those
  that start Markdown, because Gradio's renderer (marked, GFM) turns a bare ``http://…`` or
  ``www.…`` into a link that swallows the backslashes after it (with ``:`` and ``.`` escaped,
  none starts).

Strings the page writes itself (tags, labels, figures) are not escaped; anything that came from
a person, a model, a provider or the database is, once, where it is put into markup.
"""

from __future__ import annotations

import html
import re
import string

import gradio as gr

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation.translate(str.maketrans("", "", "&<>"))) + "])")
_REFERENCES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def esc(text: object) -> str:
    """``text`` as HTML text (quotes too: safe inside an attribute)."""
    return html.escape("" if text is None else str(text))


def md(text: object) -> str:
    """``text`` as Markdown that shows it as written (line breaks aside)."""
    text = _PUNCTUATION.sub(r"\\\1", "" if text is None else str(text))
    return re.sub("[&<>]", lambda m: _REFERENCES[m.group(0)], text)


def toast(message: str) -> gr.Error:
    """An error toast (raise it): Gradio renders a toast's message as HTML, so it is escaped."""
    return gr.Error(esc(message))


def notice(message: str) -> None:
    """A toast that is not an error ("nothing to replay yet"): an info toast, not a red one; the
    handler then returns as if it had done nothing (escaped like ``toast``)."""
    gr.Info(esc(message))
