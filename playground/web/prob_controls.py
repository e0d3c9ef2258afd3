"""The Compare tab's "Probabilities" switch, its top-K, and the mode (Chat · Complete · Score): built
in the controls row (``build``), checked and put into every lane's ``Params`` of a run (``apply``:
``logprobs`` and ``mode``, recorded in each output's ``params`` by the engine), and set again from
the session shown (``wire``: an opened session shows how it ran).

A bad top-K is refused with one line (an error toast) before anything runs; the page stays as it was.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import gradio as gr

from backends.base import MAX_TOP_LOGPROBS, MODES, Params
from playground.web.escape import toast
from storage.document import Session

MODE_CHOICES = [("Chat", "chat"), ("Complete", "complete"), ("Score", "score")]
DEFAULT_TOP_K = 5


@dataclass(frozen=True)
class ProbControls:
    on: Any  # gr.Checkbox: probabilities shown or not
    top_k: Any  # gr.Number: alternatives per token
    mode: Any  # gr.Radio: chat, complete or score

    def components(self) -> list[Any]:
        return [self.on, self.top_k, self.mode]


def build() -> ProbControls:
    """The three controls, where they are called (inside the Compare tab's controls row)."""
    on = gr.Checkbox(False, label="Probabilities", elem_id="probs", scale=0, min_width=130, interactive=True)
    # no minimum/maximum here: Gradio would refuse 25 with a message of its own; top_k_of says what to do
    top_k = gr.Number(DEFAULT_TOP_K, label=f"top-K (0–{MAX_TOP_LOGPROBS})", elem_id="top-k", scale=0,
                      min_width=110, interactive=False)  # while probabilities are off
    mode = gr.Radio(MODE_CHOICES, value="chat", label="mode", elem_id="mode", scale=1, min_width=250,
                    interactive=True)
    return ProbControls(on, top_k, mode)


def top_k_of(on: Any, value: Any) -> int | None:
    """The ``Params.logprobs`` of the switch and the top-K box: None when off, else a whole number
    from 0 to 20 — anything else a one-line error."""
    if not on:
        return None
    bad = toast(f"top-K must be a whole number from 0 to {MAX_TOP_LOGPROBS} (the alternatives shown per "
                f"token), not {str(value)[:40]!r}")
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_TOP_K
    try:
        number = float(str(value).strip())
    except ValueError:
        raise bad from None
    if not math.isfinite(number) or number != int(number) or not 0 <= number <= MAX_TOP_LOGPROBS:
        raise bad
    return int(number)


def mode_of(value: Any) -> str:
    mode = str(value or "chat").strip().lower()
    if mode not in MODES:
        raise toast(f"mode must be one of {', '.join(MODES)}, not {str(value)[:40]!r}")
    return mode


def apply(params: Sequence[Params], on: Any, top_k: Any, mode: Any) -> list[Params]:
    """Every lane's params with the probabilities and the mode chosen (one check for all lanes)."""
    logprobs, chosen = top_k_of(on, top_k), mode_of(mode)
    return [replace(p, logprobs=logprobs, mode=chosen) for p in params]  # type: ignore[arg-type]


def shown(doc: dict[str, Any] | None) -> tuple[bool, int, str] | None:
    """(on, top-K, mode) a session ran with (its last turn's first output), or None for no session."""
    session = Session.of(doc) if doc else None
    if session is None or session.last_turn is None or not session.last_turn.outputs:
        return None
    params = session.last_turn.outputs[0].params
    logprobs = params.get("logprobs")
    mode = params.get("mode") or "chat"
    return (logprobs is not None, logprobs if logprobs is not None else DEFAULT_TOP_K,
            mode if mode in MODES else "chat")


def wire(controls: ProbControls, session: Any) -> None:
    """Top-K only while probabilities are on; the controls follow the session shown."""
    controls.on.change(lambda on: gr.update(interactive=bool(on)), controls.on, controls.top_k, queue=False,
                       api_visibility="private", show_progress="hidden")

    def follow(doc: dict[str, Any] | None) -> Any:
        found = shown(doc)
        if found is None:
            return gr.skip(), gr.skip(), gr.skip()
        on, top_k, mode = found
        return on, gr.update(value=top_k, interactive=on), mode

    session.change(follow, session, controls.components(), queue=False, api_visibility="private",
                   show_progress="hidden")
