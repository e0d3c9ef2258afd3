"""The terminal's console: every command prints through ``console()``, outside text through ``printable()``.

Titles, prompts, answers, model ids and error messages are outside text, and rich reads
``[bold]``, ``[/b]`` or ``:smile:`` in a printed string as markup: a prompt holding ``[/b]`` made
``sessions list`` fail with MarkupError for good, and ``[red]`` in an answer restyled the screen.
This console reads no markup and no emoji codes, so any string — a table cell, a title, a line —
is printed as written; styles are given as ``Text`` styles, never spelled in the string.

Rich strips only BEL, BS, VT, FF and CR from printed text: an ESC from a model (``\\x1b[2J``, a
title-setting OSC, a hyperlink) would reach the terminal raw and act on it. ``printable()`` shows
every control character as a visible stand-in of one character (so offsets into the text, which
the token shading uses, still hold).
"""

from __future__ import annotations

from rich.console import Console

# C0 controls (but newline and tab) as their Unicode control pictures (ESC -> ␛), DEL as ␡; C1
# controls and the bidi overrides/isolates (which reorder what is shown: "Trojan Source") as U+FFFD.
_STAND_INS: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20) if c not in (0x09, 0x0A)}
_STAND_INS[0x7F] = "\u2421"
_STAND_INS.update({c: "\ufffd" for c in (*range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A))})


def console(*, stderr: bool = False) -> Console:
    """A console that prints strings exactly as they are."""
    return Console(stderr=stderr, markup=False, emoji=False)


def printable(text: str) -> str:
    """Outside text with every control character replaced by a visible one (same length)."""
    return text.translate(_STAND_INS)
