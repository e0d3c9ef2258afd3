"""Token probabilities in the terminal: a lane's text coloured token by token by how likely the
model found each token, on one colour scale with a legend line.

Colour only where the output is a colour terminal: rich gives no colour system to a pipe, a file
or ``TERM=dumb``, and drops colours under ``NO_COLOR`` — ``shading()`` says which, so the legend is
shown exactly when the colours are. The text shown is always the lane's masked text made
``printable`` (both keep its length), so a token's colour is a span over that text: a token's own
text never reaches the terminal, and a key the mask hides stays hidden however the tokens split it.

A live view redraws ten times a second: ``Shader`` keeps each lane's spans and walks only the
tokens that arrived since the last frame. A token is coloured once the text it belongs to has
arrived (some engines send a token's probabilities before its text, some after); when the tokens
stop matching the text (an engine that reports tokens the answer does not hold), shading stops
there and the rest of the answer is shown uncoloured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.text import Span, Text

from playground.cli.console import printable

# (lowest probability, colour, legend label), most likely first; rich maps the colours down to
# what the terminal has (256 or 16 colours) and keeps their order from red to green.
SCALE: tuple[tuple[float, str, str], ...] = (
    (0.9, "green3", "≥90%"),
    (0.6, "chartreuse3", "60–90%"),
    (0.3, "yellow3", "30–60%"),
    (0.1, "dark_orange", "10–30%"),
    (0.0, "red1", "<10%"),
)
# the bounds as natural-log probabilities: a token's bin without an exp() per token
_BOUNDS = tuple((math.log(p) if p > 0 else -math.inf, colour) for p, colour, _ in SCALE)


def shading(console: Console) -> bool:
    """Whether colours reach this console (a colour terminal, NO_COLOR unset)."""
    return console.color_system is not None and not console.no_color


def colour_of(logprob: float) -> str:
    """The scale's colour for a token of this natural-log probability."""
    for bound, colour in _BOUNDS:
        if logprob >= bound:
            return colour
    return _BOUNDS[-1][1]  # NaN: the least likely bin


def legend() -> Text:
    """``token probability: <10% 10–30% 30–60% 60–90% ≥90%``, each label in its colour."""
    line = Text("token probability: ", style="dim")
    for i, (_, colour, label) in enumerate(reversed(SCALE)):
        line.append(("  " if i else "") + label, style=colour)
    return line


@dataclass
class _Progress:
    """How far a lane's tokens have been laid over its text."""

    done: int = 0  # tokens walked
    pos: int = 0  # characters of the text they cover
    spans: list[Span] = field(default_factory=list)
    stuck: bool = False  # the tokens stopped matching the text: shade no further
    lane: Any = None  # held, so no later lane can take its id() while this is kept


class Shader:
    """Lane bodies as coloured ``Text``; one per live view (it remembers each lane's progress)."""

    def __init__(self, shade: bool) -> None:
        self.shade = shade
        self._lanes: dict[int, _Progress] = {}

    def body(self, lane: Any, height: int | None = None) -> Text:
        """The lane's text (its last ``height`` lines when given), coloured by probability."""
        text = printable(lane.text)
        spans = self._spans(lane) if self.shade and lane.tokens else []
        start = _tail_start(text, height) if height is not None else 0
        if not start:
            return Text(text, spans=list(spans))
        return Text(text[start:], spans=[Span(max(s.start, start) - start, s.end - start, s.style)
                                          for s in spans if s.end > start])

    def _spans(self, lane: Any) -> list[Span]:
        raw = "".join(lane.chunks)  # unmasked: what the token texts are compared with
        if lane.params.mode == "score":  # the scored text: its tokens cover all but its first token
            joined = "".join(t.text for t in lane.tokens)
            if not raw.endswith(joined):
                return []
            return _walk(_Progress(pos=len(raw) - len(joined)), lane.tokens, raw).spans
        progress = self._lanes.setdefault(id(lane), _Progress(lane=lane))
        return _walk(progress, lane.tokens, raw).spans


def _walk(progress: _Progress, tokens: list[Any], raw: str) -> _Progress:
    """Lay the tokens after ``progress.done`` over ``raw``, merging neighbours of one colour."""
    spans = progress.spans
    while not progress.stuck and progress.done < len(tokens):
        token = tokens[progress.done]
        end = progress.pos + len(token.text)
        if end > len(raw):
            break  # its text has not arrived yet
        if not raw.startswith(token.text, progress.pos):
            progress.stuck = True
            break
        if end > progress.pos:
            colour = colour_of(token.logprob)
            if spans and spans[-1].end == progress.pos and spans[-1].style == colour:
                spans[-1] = Span(spans[-1].start, end, colour)
            else:
                spans.append(Span(progress.pos, end, colour))
        progress.pos, progress.done = end, progress.done + 1
    return progress


def _tail_start(text: str, lines: int) -> int:
    """Where the last ``lines`` lines of ``text`` start (0: it has no more than that)."""
    at = len(text.rstrip("\n"))
    for _ in range(lines):
        at = text.rfind("\n", 0, at)
        if at < 0:
            return 0
    return at + 1
