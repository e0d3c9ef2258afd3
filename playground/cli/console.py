"""The terminal's console: every command prints through ``console()``.

Titles, prompts, answers, model ids and error messages are outside text, and rich reads
``[bold]``, ``[/b]`` or ``:smile:`` in a printed string as markup: a prompt holding ``[/b]`` made
``sessions list`` fail with MarkupError for good, and ``[red]`` in an answer restyled the screen.
This console reads no markup and no emoji codes, so any string — a table cell, a title, a line —
is printed as written; styles are given as ``Text`` styles, never spelled in the string.
"""

from __future__ import annotations

from rich.console import Console


def console(*, stderr: bool = False) -> Console:
    """A console that prints strings exactly as they are."""
    return Console(stderr=stderr, markup=False, emoji=False)
