"""A model that joins a session later can start fresh (``join_from=FRESH``): the turns it missed
are not sent at all, its lane's note says so, and later turns keep sending it the same
(playground/session/history.py)."""

from __future__ import annotations

from typing import Any

from backends.base import Message
from playground.session.history import FRESH, HISTORY_FROM, check_join_from, lane_histories


def _out(model: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "text": text, **extra}


DOC = {"turns": [{"prompt": "Name a colour.", "outputs": [_out("a", "red"), _out("b", "blue")]}]}


def test_a_model_that_starts_fresh_is_sent_none_of_the_turns_it_missed() -> None:
    check_join_from(DOC, FRESH)  # a choice like a model's, never "not a model of this session"
    a, c = lane_histories(DOC, ["a", "c"], FRESH)
    assert a.messages(None, "Why?") == (Message("user", "Name a colour."), Message("assistant", "red"),
                                        Message("user", "Why?"))
    assert c.messages("Be brief.", "Why?") == (Message("system", "Be brief."), Message("user", "Why?"))
    assert c.history_from == FRESH  # recorded on its output, so the next turns send the same
    assert c.note() == "joined later — turn 1: not sent (started fresh)"
    assert lane_histories(DOC, ["c"])[0].note() == "joined later — turn 1: prompt only"  # the default


def test_a_fresh_start_is_kept_for_the_later_turns() -> None:
    doc = {"turns": [*DOC["turns"], {"prompt": "Why?", "outputs": [_out("a", "it is warm"),
                                                                   _out("c", "no idea", **{HISTORY_FROM: FRESH})]}]}
    [c] = lane_histories(doc, ["c"], "a")  # whatever is picked now
    assert c.messages(None, "And now?") == (Message("user", "Why?"), Message("assistant", "no idea"),
                                            Message("user", "And now?"))
    assert c.note() == "joined later — turn 1: not sent (started fresh)"
