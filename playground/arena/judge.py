"""A judge model: any model id reads a turn's answers (as "Model A", "Model B", …, never their
names) with a visible, editable rubric, and casts a vote recorded as a judge vote, apart from
human votes, with its reasoning.

The verdict is read from the judge's last line ``VERDICT: A`` (or ``B``, ``TIE``, ``BOTH_BAD``,
or a letter for "best" with more lanes). An answer without a readable verdict is no vote.
"""

from __future__ import annotations

import re
import string
from typing import Any

from backends.errors import BackendError
from playground.api import compare
from playground.arena import make_vote
from playground.engine.runtime import Runtime
from storage.document import Turn

DEFAULT_RUBRIC = (
    "You are an impartial judge. Read the user's question and the answers below. Judge which "
    "answer is more helpful, correct and clear; ignore length and order. Explain briefly, then "
    "end with one line: VERDICT: <letter of the best answer>, or VERDICT: TIE if they are equally "
    "good, or VERDICT: BOTH_BAD if none is acceptable."
)

_VERDICT = re.compile(r"VERDICT:\s*\**\s*(BOTH[_ ]BAD|TIE|[A-Z])\b", re.IGNORECASE)


def judge_prompt(rubric: str, question: str, answers: list[str]) -> str:
    parts = [rubric.strip(), "", f"[Question]\n{question}"]
    for i, answer in enumerate(answers):
        parts.append(f"\n[Answer {string.ascii_uppercase[i]}]\n{answer}")
    return "\n".join(parts)


def parse_verdict(text: str, n: int) -> str | None:
    """'a'/'b'/'tie'/'bothbad' for two answers, or a letter ('best') for more; None if unreadable."""
    found = _VERDICT.findall(text)
    if not found:
        return None
    verdict = found[-1].upper().replace(" ", "_")
    if verdict in ("TIE", "BOTH_BAD"):
        return "tie" if verdict == "TIE" else "bothbad"
    index = string.ascii_uppercase.index(verdict)
    return verdict.lower() if index < n else None


async def judge_turn(runtime: Runtime, doc: dict[str, Any], turn: int, judge_model: str,
                     rubric: str = DEFAULT_RUBRIC, lanes: list[int] | None = None) -> dict[str, Any]:
    """Ask ``judge_model`` to vote on a turn; returns the vote dict (raises if no verdict)."""
    judged = Turn.of(doc["turns"][turn])
    outputs = judged.outputs
    lanes = lanes if lanes is not None else [i for i, o in enumerate(outputs) if o.counted]
    answers = [outputs[i].text for i in lanes]
    result = await compare(judge_prompt(rubric, judged.prompt, answers), [judge_model],
                           runtime=runtime, temperature=0.0, max_tokens=512)
    reply = Turn.of(result["turns"][0]).outputs[0]
    if reply.status != "ok":
        raise BackendError(f"judge {judge_model} failed: {reply.error.message if reply.error else None}")
    verdict = parse_verdict(reply.text, len(lanes))
    if verdict is None:
        raise BackendError(f"judge {judge_model} gave no readable verdict (expected 'VERDICT: A')")
    judge = {"model": judge_model, "rubric": rubric, "reasoning": reply.text}
    models = [outputs[i].model for i in lanes]
    if verdict in ("tie", "bothbad") or (len(lanes) == 2 and verdict in ("a", "b")):
        return make_vote(turn, lanes, models, verdict, blind=True, judge=judge)
    winner = lanes[string.ascii_lowercase.index(verdict)]
    return make_vote(turn, lanes, models, "best", winner, blind=True, judge=judge)
