"""The page's components, grouped as typed bags: what one builder makes and another wires to.

Each builder (``compare_tab``, ``history_tab``, ``arena_ui``, ``render``) returns one of these, and
handlers name a component by its field (``view.page.notice``), never by a position in a list or a
dict key. Only components live here; the values a handler sends them are in ``frame.Frame``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class LaneView:
    """What the Compare tab's lanes are rendered from, held in a ``gr.State``: a change re-renders
    them. ``doc`` is the session shown (None: a new one); ``lanes`` counts a battle's lanes."""

    models: list[str] = field(default_factory=list)
    doc: dict[str, Any] | None = None
    blind: bool = False
    battle: bool = False
    lanes: int = 2
    hide: bool = True  # a blind run's figures stay hidden until the vote
    join_from: str | None = None  # whose earlier answers a model new to the session gets (None: prompts only)
    turn: int | None = None  # the turn of ``doc`` shown (from 0; None: its last), as a link asked
    # each model's per-lane boxes as last typed (lane_params.FIELDS), so a re-render (New session,
    # a vote, a changed model list) rebuilds them as they were, not from the defaults
    params: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __hash__(self) -> int:
        # Gradio tells a changed gr.State (and so re-renders the lanes) by hashing its value: by
        # content here, as it hashes a dict; an unhashable value would be compared by identity.
        # ``params`` is left out: typing in a lane's box must not rebuild the lanes under the cursor
        return hash(json.dumps({k: v for k, v in asdict(self).items() if k != "params"}, sort_keys=True, default=str))

    def shown_doc(self) -> dict[str, Any] | None:
        """The session as the lanes show it: cut after the turn shown (a link's ``&turn=N``)."""
        turns = (self.doc or {}).get("turns") or []
        if self.turn is None or self.turn >= len(turns) - 1:
            return self.doc
        return {**self.doc, "turns": turns[:self.turn + 1]}  # type: ignore[dict-item]

    def turn_of(self, doc: dict[str, Any] | None) -> int | None:
        """The turn shown of ``doc`` when it is the session these lanes show, as they show it (no
        turn added since, as a run does): a replay replays that turn, the address names it."""
        if self.turn is None or not doc or not self.doc or doc.get("id") != self.doc.get("id"):
            return None
        count = len(doc.get("turns") or [])
        return self.turn if count == len(self.doc.get("turns") or []) and self.turn < count - 1 else None

    def but(self, **changes: Any) -> LaneView:
        """A copy with ``changes`` (the state is replaced, never changed in place). A new ``doc``
        keeps the turn shown only when it is the same session, no turn added (a vote, a re-render)."""
        if "doc" in changes and "turn" not in changes:
            changes["turn"] = self.turn_of(changes["doc"])
        return replace(self, **changes)


# Gradio's components are typed ``Any`` here: their classes differ per field, and the point of these
# bags is the names, not the component types.


@dataclass(frozen=True)
class ArenaControls:
    """Blind and battle modes, "hide figures", and the battle pool with its lane count."""

    blind: Any
    battle: Any
    hide: Any
    pool_row: Any
    pool: Any
    lanes: Any


@dataclass(frozen=True)
class JudgePanel:
    model: Any
    auto: Any
    run: Any
    rubric: Any
    out: Any


@dataclass(frozen=True)
class PageOutputs:
    """What every run, replay, re-run, stop and vote updates besides the lanes."""

    session: Any  # gr.State: the session document shown
    race: Any
    export_json: Any
    export_md: Any
    notice: Any

    def components(self) -> list[Any]:
        return [self.session, self.race, self.export_json, self.export_md, self.notice]


@dataclass(frozen=True)
class LaneOutputs:
    """The components of the lanes built by ``render``, lane i at index i."""

    heads: list[Any]
    texts: list[Any]
    stats: list[Any]
    earlier: list[Any]
    params: list[list[Any]]  # each lane's boxes, in lane_params.FIELDS order


@dataclass(frozen=True)
class CompareView:
    """The Compare tab: its inputs, buttons and outputs (the lanes are rendered apart, in ``render``)."""

    view_state: Any  # gr.State holding a LaneView
    page: PageOutputs
    models: Any
    same: Any
    system: Any
    prompt: Any
    run: Any
    stop: Any
    new: Any
    temperature: Any
    max_tokens: Any
    seed: Any
    repeat: Any
    warmup: Any
    export_html: Any
    speed: Any
    replay: Any
    rerun: Any
    diff_a: Any
    diff_b: Any
    diff_run: Any
    diff_out: Any
    arena: ArenaControls
    judge: JudgePanel
    join_from: Any = None  # "new models see answers of": none, or a model of the session
    refresh: Any = None  # the picker's "refresh the model lists" button
    models_note: Any = None  # the picker's notices (a provider not listed, a 9th model left out)
    probs: Any = None  # prob_controls.ProbControls: the probabilities switch, its top-K, the mode

    @property
    def session(self) -> Any:
        return self.page.session
