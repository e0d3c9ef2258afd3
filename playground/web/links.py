"""Links to sessions: the address follows the session shown on Compare (``/?session=ID``), opening
such an address shows that session (its lanes filled, Replay ready), so a reload keeps it, and
"Copy link" copies the address.

The id in an address is hostile input: it is checked to be a ULID before the store sees it, and it
is never written back into the page — an address that names no saved session gets a one-line
notice and an empty Compare tab. ``turn=N`` (counted from 1, as the lanes' "Turn N" are) shows
that turn — its answers in the lanes, the turns before it collapsed above them, Replay replaying
it; a turn the session does not have gets a notice and the last turn. The address carries the turn
while one other than the last is shown (a run adds a turn: the address drops it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.web import arena_ui, blind_runs, history_tab, lane_view
from playground.web.context import Context
from playground.web.views import CompareView, LaneView
from storage.document import Session

_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
_TURN = re.compile(r"[0-9]{1,4}")

# After each change of the session shown: its id (or "") into the address, without a reload or a
# new history entry; other parameters of the address are kept.
FOLLOW = """(shown) => {
  const url = new URL(window.location.href);
  const [sid, turn] = (shown || '').split(':');
  url.searchParams.delete('turn');
  if (sid) url.searchParams.set('session', sid); else url.searchParams.delete('session');
  if (sid && turn) url.searchParams.set('turn', turn);
  window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
  return shown;
}"""

# Copies the address; the button says so for two seconds (its name is "Copy link" again after).
COPY = """() => {
  const button = document.getElementById('copy-link');
  const said = (text) => { if (!button) return; const old = 'Copy link'; button.textContent = text;
                           setTimeout(() => { button.textContent = old; }, 2000); };
  navigator.clipboard.writeText(window.location.href).then(() => said('Link copied'),
                                                           () => said('Copy failed: copy the address bar'));
}"""


@dataclass(frozen=True)
class Link:
    """What an address asks for: a session id (checked), a turn, or why it cannot be opened."""

    session: str | None = None
    turn: int | None = None
    problem: str | None = None


def parse(params: Mapping[str, str]) -> Link:
    """The session (and turn) an address's query names; ``problem`` says what is wrong, in page
    words, never quoting the address."""
    raw = params.get("session")
    if raw is None:
        return Link()
    sid = raw.strip().upper()
    if not _ULID.fullmatch(sid):
        return Link(problem="this link's session id is not valid: open the session from History and copy its link again")
    turn = params.get("turn")
    if turn is not None and not _TURN.fullmatch(turn.strip()):
        return Link(problem="this link's turn is not a number: open the session from History")
    return Link(session=sid, turn=int(turn) if turn is not None else None)


def copy_button() -> Any:
    """The "Copy link" button (built where it is placed; ``wire`` gives it its click)."""
    return gr.Button("Copy link", elem_id="copy-link", size="sm", scale=0, min_width=110)


def wire(ctx: Context, demo: gr.Blocks, compare: CompareView, copy: Any) -> None:
    """Inside ``gr.Blocks`` after the tabs: the address follows the session; a loaded address opens it."""
    page = compare.page
    address = gr.Textbox(visible="hidden", elem_id="session-address", interactive=False, label="session address")

    def session_id(doc: dict[str, Any] | None, v: LaneView) -> str:
        if not doc or not doc.get("turns"):
            return ""  # a session not saved yet has no link
        turn = v.turn_of(doc)
        return doc["id"] if turn is None else f"{doc['id']}:{turn + 1}"

    page.session.change(session_id, [page.session, compare.view_state], address, api_visibility="private", queue=False).then(
        None, address, None, js=FOLLOW)
    copy.click(None, None, None, js=COPY)

    outputs = [compare.view_state, *page.components(), compare.models, compare.system,
               *arena_ui.opened_outputs(compare.arena)]

    def on_load(v: LaneView, request: gr.Request) -> Any:
        link = parse(request.query_params if request else {})
        if link.problem:
            return {page.notice: f"⚠ {link.problem}"}
        if link.session is None:
            return {page.notice: gr.skip()}  # a plain address: the page as it starts
        try:
            doc = ctx.store.get_session(link.session)
        except Exception:  # noqa: BLE001 - NotFound, or a row the store cannot read: the same to the reader
            return {page.notice: "⚠ no saved session has this link's id: it may have been deleted — see History"}
        return opened_at(ctx, compare, doc, v, link.turn)

    demo.load(on_load, compare.view_state, outputs, api_visibility="private")


def opened_at(ctx: Context, compare: CompareView, doc: dict[str, Any], v: LaneView, turn: int | None) -> dict[Any, Any]:
    """The session opened on Compare at ``turn`` (from 1; None: the last), or at its last turn with a
    notice when it has no such turn."""
    out = history_tab.opened(ctx, compare, doc, v)
    count = len(doc.get("turns") or [])
    if turn is None or turn == count or not count:
        return out
    if not 1 <= turn <= count:
        return out | {compare.page.notice: f"⚠ this session has {count} turn{'s' if count != 1 else ''}: "
                      f"the link's turn {turn} is not one of them — the last is shown"}
    shown = out[compare.view_state].but(turn=turn - 1)
    upto = Session.of(shown.shown_doc())
    if shown.models and not blind_runs.is_hidden(ctx, doc):  # the lanes of the turns up to it, not later ones
        shown = shown.but(models=upto.models())
        out[compare.models] = gr.update(value=upto.models(), visible=True)
    outputs = upto.turns[-1].outputs
    return out | {compare.view_state: shown, compare.page.race: lane_view.race_frame(outputs),
                  compare.page.notice: f"{out[compare.page.notice]}, turn {turn} of {count}"}
