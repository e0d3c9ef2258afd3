"""A lane's token probabilities, mode and revision as keys of its output record: the tokens as
compact rows (``[text, logprob, [[alternative, logprob], ...]]``), ``logprobs: {top_k, kind}``, the
resolved commit of a hub revision, and whether a chat prompt went without a template. Kept apart
from ``lane`` (which calls it from ``LaneState.record``) so the lane stays about timing and text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backends.redact import mask

if TYPE_CHECKING:
    from playground.engine.lane import LaneState

# the output's note for a model without a chat template asked to chat: shown by the page and the CLI
NO_TEMPLATE_NOTE = "no chat template: the prompt was sent as plain text"


def probability_record(self: LaneState) -> dict[str, Any]:
    """The record's mode, probabilities and revision keys (absent when they do not apply): the
    tokens as compact rows, ``logprobs: {top_k, kind}`` (kind None + a note when the engine
    offered none), the resolved commit, and whether a chat prompt went without a template (with
    its note in ``notes``)."""
    out: dict[str, Any] = {}
    if self.params.mode != "chat":
        out["mode"] = self.params.mode
    info = probability_info(self)
    if info is not None:
        out["logprobs"] = info
    if self.tokens:
        # token texts are model output: masked like the answer, so no key leaks through them
        out["tokens"] = [[mask(t.text), round(t.logprob, 4),
                          [[mask(a), round(lp, 4)] for a, lp in t.top]] for t in self.tokens]
    if self.revision is not None:
        out["revision"] = self.revision
    if self.template is False:
        out["template"] = False
        out["notes"] = [NO_TEMPLATE_NOTE]
    if self.continues is not None and self.params.mode == "complete":
        out["continues"] = self.continues
    return out


def probability_info(self: LaneState) -> dict[str, Any] | None:
    """``{top_k, kind}`` (+ ``note`` when the engine offered none) for a lane asked for
    probabilities or holding some; None otherwise. Cheap: live views call it every frame."""
    if self.params.logprobs is None and not self.tokens:
        return None
    info: dict[str, Any] = {"top_k": self.params.logprobs or 0, "kind": self.logprob_kind}
    if not self.tokens and self.ended == "ok":
        info["note"] = f"probabilities not offered by {self.model}"
    return info
