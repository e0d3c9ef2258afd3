"""Each model's own conversation: the one rule for the history a lane sends with a new turn.

The Python API (``Comparison``), ``playground compare --session`` and the page all build a lane's
messages here, and the page shows a lane's earlier turns from the same ``LaneHistory``:

- **By model, never by position.** In each earlier turn a lane of model M continues M's own output
  there — its counted run (the first counted run: repeats and warm-ups aside) — wherever M's lane
  stood in that turn. Removing, adding or reordering models between turns changes nothing for the
  others.
- **The same model twice in one turn**: its n-th lane continues the n-th lane of M in each earlier
  turn, or M's first lane when that turn had fewer (it is still M's own answer).
- **A model that joins later** (or comes back after a turn without it) is sent, for each turn it
  missed, the prompt and, when the user picked one (``join_from``), that model's answer in that
  turn as if it were its own — else the prompt alone: a model never hears another model's answers
  unless someone chose it. ``join_from=FRESH`` sends it nothing of those turns (it starts fresh). The choice is stored on the joiner's output as ``history_from`` (the
  join source of the turns missed since its previous answer), so every later turn sends it the
  same history again whatever ``join_from`` says by then.
- A turn whose answer is empty (the lane failed before any text) adds the prompt alone.

Works on the document as plain data (the page asks it of documents it holds in its state; a typed
``Session`` is read as its data); reads only ``prompt`` and each output's ``model``, ``text``,
``warmup``, ``repeat`` and ``history_from``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from backends.base import Message
from backends.errors import ConfigError
from storage.document import Session, lane_indexes, round_of

HISTORY_FROM = "history_from"  # the output key: whose answers filled the turns this model missed
FRESH = "(fresh)"  # join_from: the turns a model missed are not sent at all (no model id has parentheses)
Document = dict[str, Any] | Session | None  # the document as data, or its typed reading


def _plain(doc: Document) -> dict[str, Any]:
    """The document as data: the rule reads a few keys of documents still being built too."""
    return doc.to_json_dict() if isinstance(doc, Session) else doc or {}


@dataclass(frozen=True)
class Earlier:
    """One earlier turn as a lane sends it: the prompt, and the answer that follows it."""

    prompt: str
    output: dict[str, Any] | None  # the output whose text is the answer; None: the prompt alone
    source: str | None  # the model that answered: the lane's own, the one it joined from, or None

    @property
    def text(self) -> str:
        return (self.output or {}).get("text") or ""


@dataclass(frozen=True)
class LaneHistory:
    """What one lane (of ``model``) sends as its earlier turns, and where each answer came from."""

    model: str
    turns: tuple[Earlier, ...]
    history_from: str | None = None  # recorded on the new output: the source of the turns missed lately

    def messages(self, system: str | None, prompt: str) -> tuple[Message, ...]:
        """System prompt, each earlier turn (prompt, then its answer when there is one), the new prompt."""
        messages = [Message("system", system)] if system else []
        for turn in self.sent:
            messages.append(Message("user", turn.prompt))
            if turn.text:
                messages.append(Message("assistant", turn.text))
        messages.append(Message("user", prompt))
        return tuple(messages)

    @property
    def sent(self) -> tuple[Earlier, ...]:
        """The earlier turns sent: all but those a model that started fresh missed."""
        return tuple(t for t in self.turns if t.source != FRESH)

    def note(self) -> str:
        """A line for the lane saying which earlier turns were not its own ("" when all were):
        ``joined later — turns 1–2: answers of openai:gpt-4o · turn 4: prompt only``."""
        groups: dict[str | None, list[int]] = {}
        for n, turn in enumerate(self.turns, 1):
            if turn.source != self.model:
                groups.setdefault(turn.source, []).append(n)
        if not groups:
            return ""
        parts = [f"{_numbers(nums)}: " + ("not sent (started fresh)" if src == FRESH else f"answers of {src}" if src
                                         else "prompt only" if len(nums) == 1 else "prompts only")
                 for src, nums in groups.items()]
        return "joined later — " + " · ".join(parts)


def _numbers(nums: list[int]) -> str:
    if len(nums) == 1:
        return f"turn {nums[0]}"
    if nums == list(range(nums[0], nums[-1] + 1)):
        return f"turns {nums[0]}–{nums[-1]}"
    return "turns " + ", ".join(map(str, nums))


def turn_lanes(turn: dict[str, Any]) -> list[dict[str, Any]]:
    """A turn's output per lane, in lane order: each lane's counted run (its first run when all
    were warm-ups)."""
    outputs = turn.get("outputs") or []
    lanes = lane_indexes([round_of(o.get("warmup"), o.get("repeat")) for o in outputs])
    return [next((outputs[i] for i in lane if not outputs[i].get("warmup")), outputs[lane[0]]) for lane in lanes]


def lane_keys(models: Sequence[str]) -> list[tuple[str, int]]:
    """(model, n) per lane: the n-th lane of that model in this list (0 for a model there once)."""
    seen: Counter[str] = Counter()
    keys = []
    for m in models:
        keys.append((m, seen[m]))
        seen[m] += 1
    return keys


def model_output(lanes: Sequence[dict[str, Any]], model: str, n: int = 0) -> dict[str, Any] | None:
    """The output of the n-th lane of ``model`` among a turn's lanes (its first when fewer), or None."""
    same = [o for o in lanes if o.get("model") == model]
    if not same:
        return None
    return same[n] if n < len(same) else same[0]


def session_models(doc: Document) -> list[str]:
    """Every model of a session, in the order they first appear over its turns (a model with two
    lanes in one turn, twice): the lanes a reopened session shows and a new turn runs by default
    (``Session.models``, the one home of that rule)."""
    if not doc:
        return []
    return (doc if isinstance(doc, Session) else Session.of(doc)).models()


def check_join_from(doc: Document, join_from: str | None) -> None:
    """``join_from`` must name a model that answered an earlier turn of the session (or be ``FRESH``)."""
    if join_from is None or join_from == FRESH:
        return
    known = list(dict.fromkeys(session_models(doc)))
    if not known:
        raise ConfigError("join_from names whose earlier answers a newly added model gets; "
                          "this session has no earlier turns — leave it out")
    if join_from not in known:
        raise ConfigError(f"join_from {join_from!r} is not a model of this session: choose one of "
                          f"{', '.join(known)} (or none: the earlier prompts only)")


def lane_histories(doc: Document, models: Sequence[str],
                   join_from: str | None = None) -> list[LaneHistory]:
    """Each lane's history for a new turn of ``doc`` (see the module's rules), lane by lane.
    ``join_from``: whose answers fill the earlier turns a model was not in (None: prompts only;
    ``FRESH``: none of those turns)."""
    turns = [(t["prompt"], turn_lanes(t)) for t in _plain(doc).get("turns") or []]
    return [_history(turns, model, n, join_from) for model, n in lane_keys(models)]


def _history(turns: list[tuple[str, list[dict[str, Any]]]], model: str, n: int,
             join_from: str | None) -> LaneHistory:
    earlier: list[Earlier] = []
    missed: list[int] = []  # indexes in ``earlier`` of turns without this model since its last answer

    def fill(source: Any) -> None:
        source = source if isinstance(source, str) and source != model else None  # outside text: a str or nothing
        for k in missed:
            prompt, lanes = turns[k]
            out = model_output(lanes, source) if source and source != FRESH else None
            earlier[k] = Earlier(prompt, out, source if out is not None or source == FRESH else None)
        missed.clear()

    for k, (prompt, lanes) in enumerate(turns):
        own = model_output(lanes, model, n)
        if own is None:
            missed.append(k)
            earlier.append(Earlier(prompt, None, None))
            continue
        fill(own.get(HISTORY_FROM))  # what this model was sent for the turns it missed before
        earlier.append(Earlier(prompt, own, model))
    pending = bool(missed)
    fill(join_from)
    return LaneHistory(model, tuple(earlier), join_from if pending and join_from != model else None)


def lane_document(session: Session | None, lane: int, model: str, prompt: str, mode: str = "complete",
                  keep: int | None = None) -> tuple[Message, ...]:
    """Complete mode, "continue": the document a lane continues — every earlier turn's text, each
    followed by the continuation kept from it, then the new text, joined as they are (one user
    message, no system prompt). The continuation kept is the lane named by the next turn's outputs
    (``continues``, recorded when the user picked one), else ``keep`` for the last turn, else the
    lane's own model's (found by model, as a chat history is). Score mode scores the new text alone."""
    if mode == "score":
        return (Message("user", prompt),)
    parts: list[str] = []
    turns = session.turns if session is not None else []
    for t, turn in enumerate(turns):
        parts.append(turn.prompt)
        picked = _picked(turns[t + 1]) if t + 1 < len(turns) else keep
        if picked is None:
            out = next((o for o in turn.counted if o.model == model), None)
        else:
            out = turn.lane_output(picked)
        if out is not None and out.text:
            parts.append(out.text)
    parts.append(prompt)
    return (Message("user", "".join(parts)),)


def _picked(turn: Any) -> int | None:
    """The lane whose continuation of the turn before a turn kept (its outputs' ``continues``)."""
    for out in turn.outputs:
        value = getattr(out, "continues", None)
        if isinstance(value, int):
            return value
    return None


def own_system(messages: tuple[Message, ...], system: str | None) -> tuple[Message, ...]:
    """A lane's conversation with its own system prompt in place of the session's (None: as it
    is; "": none at all)."""
    if system is None:
        return messages
    rest = messages[1:] if messages and messages[0].role == "system" else messages
    return (Message("system", system), *rest) if system else rest
