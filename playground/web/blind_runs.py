"""Blind and battle runs in the page: which models run, what the page may show, and the votes.

A blind run's session is tagged ``blind`` (``battle`` too when drawn from a pool) and its lanes are
shuffled before it starts, so letter i is lane i and the order the user typed gives nothing away.
The lane → model mapping lives only in the session document, which the page holds in ``gr.State``
(kept on the server; Gradio sends ``None`` to the browser for State outputs). Until a human vote is
cast on the session (or it was revealed in this server), the session is *hidden*: every view built
from it — lane headers, figures, the race chart, diff choices, history rows, the model filter,
stats — uses "Model A", "Model B", … or leaves the run out. Export files are only written once
the session is revealed.

Votes go through ``playground.arena.blind`` / ``playground.arena`` (``set_vote`` replaces a voter's vote
on a turn, ``withdraw_vote`` removes it) and ``store.set_votes``. A vote is ``blind`` only when the
names were hidden at the moment it was cast: changing it after the reveal records a named vote.
"""

from __future__ import annotations

import random
import string
from typing import Any

from playground.arena import choose_battle, pair_counts, withdraw_vote
from playground.arena.blind import BLIND_TAG, blind_names, names_hidden, record_vote, vote_from_answer
from playground.arena.ratings import Filters, all_battles
from playground.session.document import new_document
from playground.web.context import Context
from playground.web.escape import esc, toast
from playground.web.markdown_view import answer_body
from playground.web.views import LaneView
from storage.document import Session, Vote

TAG, BATTLE_TAG = BLIND_TAG, "battle"
HIDDEN_MODELS = "blind — not voted yet"
OUTCOME_TEXT = {"a": "A is better", "b": "B is better", "tie": "tie", "bothbad": "both are bad"}


def is_blind(session: Session | None) -> bool:
    return session is not None and TAG in (session.tags or [])


def is_hidden(ctx: Context, doc: dict[str, Any] | None) -> bool:
    """A blind session with turns, no human vote, not revealed on this server. ``doc`` may also be
    a row of ``store.tagged_sessions`` (id, tags, votes and a count of turns), so it is read as a dict."""
    return names_hidden(doc) and doc["id"] not in ctx.revealed


def arena_on(v: LaneView) -> bool:
    return v.blind or v.battle


def lane_count(v: LaneView) -> int:
    return v.lanes if v.battle else len(v.models)


def lane_setup(ctx: Context, v: LaneView) -> tuple[list[str], list[str] | None]:
    """(model of each lane, display names or None when the names may be shown). A lane of a blind
    run not started yet has the model ``""``."""
    doc = v.doc
    session = Session.of(doc) if doc else None
    if is_blind(session) and session.turns:
        models = session.models()
        return models, blind_names(len(models)) if is_hidden(ctx, doc) else None
    if arena_on(v):
        n = lane_count(v)
        return [""] * n, blind_names(n)
    return list(v.models), None


def lineup(ctx: Context, v: LaneView, doc: dict[str, Any] | None, n: int, prompt: str,
           system: str | None, pool: list[str] | None = None) -> tuple[list[str], dict[str, Any]]:
    """The models of a blind run and its session: the blind session shown goes on with its models,
    hidden or (after the vote) revealed, so a follow-up keeps its context until the user starts a
    new round (New round / New session: no session shown); otherwise a new blind session, its
    models shuffled (or drawn from the pool, least-voted pairs first). Errors never name a model."""
    session = Session.of(doc) if doc else None
    if is_blind(session) and session.turns:
        models = session.models()
    elif v.battle:
        pool = list(dict.fromkeys(m.strip() for m in pool or [] if m and m.strip()))
        if len(pool) < n:
            raise toast(f"the pool needs at least {n} different models for a {n}-lane battle")
        battles = all_battles(ctx.store, Filters(blind_only=False, source="both"))
        models = choose_battle(pool, pair_counts((b.model_a, b.model_b) for b in battles), lanes=n)
        doc = None
    else:
        models = list(v.models)
        random.SystemRandom().shuffle(models)
        doc = None
    if len(models) != n or n < 2:
        raise toast("a blind run needs 2 or more lanes and the lanes changed: press New session")
    if doc is None:
        doc = new_document(prompt, system)
        doc["tags"] = [TAG, BATTLE_TAG] if v.battle else [TAG]
    return models, doc


def runs_blind(ctx: Context, doc: dict[str, Any] | None) -> bool:
    """Whether the next run of this blind session hides its names: a new one, or one not voted on
    yet; a revealed session's follow-up shows the models it already named."""
    return not (doc and doc.get("turns")) or is_hidden(ctx, doc)


def _lanes_models(session: Session, turn: int) -> list[str]:
    return [o.model for o in session.turns[turn].counted]


def cast(ctx: Context, doc: dict[str, Any] | None, outcome: str, letter: str | None = None) -> dict[str, Any]:
    """Record the human vote on the session's last turn (replacing an earlier one); returns the
    updated document. The session is revealed from then on."""
    session = Session.of(doc) if doc else None
    if session is None or not session.turns:
        raise toast("run a comparison first, then vote")
    turn = len(session.turns) - 1
    models = _lanes_models(session, turn)
    if len(models) < 2:
        raise toast("a vote needs two or more lanes")
    answer = outcome
    if outcome == "best":
        if not letter:
            raise toast("choose the best answer's letter first")
        answer = letter.strip()[-1:]
    try:
        vote = vote_from_answer(answer, turn, models, blind=is_hidden(ctx, doc))
    except ValueError as exc:
        raise toast(str(exc)) from None
    updated = record_vote(ctx.store, doc, vote)
    ctx.revealed.add(session.id)
    return updated


def withdraw(ctx: Context, doc: dict[str, Any] | None) -> dict[str, Any]:
    session = Session.of(doc) if doc else None
    if session is None or not session.turns:
        raise toast("nothing to withdraw: no session")
    updated = withdraw_vote(doc, len(session.turns) - 1)
    ctx.store.set_votes(session.id, updated.get("votes") or [])  # the store takes the document's own dicts
    return updated


def vote_text(vote: Vote) -> str:
    if vote.outcome == "best":
        letter = string.ascii_uppercase[vote.lanes.index(vote.winner)]
        return f"{letter} is the best"
    return OUTCOME_TEXT[vote.outcome]


def status_html(ctx: Context, doc: dict[str, Any] | None, engine: Any = None) -> str:
    """The vote bar's line: what to do, the vote on the last turn, the reveal, the judges' votes."""
    session = Session.of(doc) if doc else None
    if session is None or not session.turns:
        return '<div class="notes">Run a comparison, then vote: which answer is better?</div>'
    turn = len(session.turns) - 1
    on_turn = [v for v in session.votes or () if v.turn == turn]
    mine = next((v for v in on_turn if v.judge is None), None)
    parts = []
    if is_hidden(ctx, doc):
        parts.append(f"<b>Turn {turn + 1}: which is better?</b> Vote to reveal the models.")
    elif mine:
        kind = "blind" if mine.blind else "named"
        parts.append(f"<b>Your vote on turn {turn + 1}: {esc(vote_text(mine))}</b> ({kind}) — change or withdraw it.")
    else:
        parts.append(f"Turn {turn + 1}: no vote yet.")
    if is_blind(session) and not is_hidden(ctx, doc):
        models = _lanes_models(session, turn)
        shown = [f"{n} was <code>{esc(m)}</code>" + (f" ({esc(engine(m))})" if engine and engine(m) else "")
                 for n, m in zip(blind_names(len(models)), models, strict=False)]
        parts.append('<div class="reveal" id="reveal">' + " · ".join(shown) + "</div>")
    for v in on_turn:
        if v.judge:
            parts.append(judge_html(v))
    return '<div class="vote-status">' + "".join(parts) + "</div>"


def judge_html(vote: Vote) -> str:
    j = vote.judge
    return (f'<details class="judge-vote"><summary>judge <code>{esc(j.model)}</code>: '
            f'{esc(vote_text(vote))}</summary><div class="turn-a">{answer_body(j.reasoning)}</div></details>')


# ---- what other tabs may show ----------------------------------------------------------------


def hidden_ids(ctx: Context) -> set[str]:
    """Ids of every hidden blind session, however old: their models stay out of the Stats tab and
    the History model filter (a battle's drawn pair would otherwise show there)."""
    return {s["id"] for s in ctx.store.tagged_sessions(TAG) if is_hidden(ctx, s)}  # "turns": a count here


def visible_stats(ctx: Context) -> list[dict[str, Any]]:
    """``store.model_stats()`` without the outputs of hidden blind sessions."""
    hidden = hidden_ids(ctx)
    return [row for row in ctx.store.model_stats() if row["session_id"] not in hidden]
