"""The Compare tab's arena controls — blind and battle modes, the battle pool, "hide figures" — and
the judge panel, built inside ``gr.Blocks`` by ``app.py``; ``wire()`` turns their changes into the
view the lanes are rendered from (``views.LaneView``).

Switching a mode, the pool or the lane count starts a new session: a blind session's lanes are
fixed when it starts, and the next run draws again.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.arena.judge import DEFAULT_RUBRIC
from playground.web.actions import MAX_LANES
from playground.web.views import ArenaControls, JudgePanel, LaneView


def initial_view(models: list[str]) -> LaneView:
    return LaneView(models=list(models))


def controls(choices: list[str]) -> ArenaControls:
    with gr.Row(equal_height=True):
        blind = gr.Checkbox(False, label="blind: lanes are Model A, B, … until you vote", elem_id="blind",
                            interactive=True, scale=2)
        battle = gr.Checkbox(False, label="battle: each run draws its models from a pool", elem_id="battle",
                             interactive=True, scale=2)
        hide = gr.Checkbox(True, label="hide figures until the vote", elem_id="hide-figures", interactive=True,
                           scale=1, visible=False)  # a blind-only option: shown with blind on
    with gr.Row(visible=False) as pool_row:
        pool = gr.Dropdown(choices=choices, value=[], multiselect=True, allow_custom_value=True, scale=5,
                           label="Battle pool (the models to draw from; the drawn ones stay hidden until you vote)",
                           elem_id="pool", interactive=True)
        lanes = gr.Number(2, label="lanes per battle", precision=0, minimum=2, maximum=MAX_LANES, scale=1,
                          elem_id="battle-lanes", interactive=True)
    return ArenaControls(blind=blind, battle=battle, hide=hide, pool_row=pool_row, pool=pool, lanes=lanes)


def judge_panel() -> JudgePanel:
    with gr.Accordion("Judge model", open=False, elem_id="judge"):
        with gr.Row(equal_height=True):
            model = gr.Textbox(label="judge model id (any model, e.g. openai:gpt-4o-mini)", elem_id="judge-model",
                               scale=3, interactive=True)
            auto = gr.Checkbox(False, label="judge every run", elem_id="judge-auto", interactive=True, scale=1)
            run = gr.Button("Judge this turn", elem_id="judge-run", scale=1)
        rubric = gr.Textbox(DEFAULT_RUBRIC, label="rubric (the judge sees the answers as A, B, …, never the models)",
                            lines=4, elem_id="judge-rubric", interactive=True)
        out = gr.HTML(elem_id="judge-out")
    return JudgePanel(model=model, auto=auto, run=run, rubric=rubric, out=out)


def wire(c: ArenaControls, models: Any, view_state: Any, session: Any) -> None:
    def on_arena(blind: bool, battle: bool, hide: bool, lanes: Any, chosen: list[str] | None,
                 v: LaneView) -> dict[Any, Any]:
        new = v.but(models=list(chosen or [])[:MAX_LANES], blind=bool(blind or battle), battle=bool(battle),
                    hide=bool(hide), lanes=min(MAX_LANES, max(2, int(lanes or 2))))
        reset = (new.blind, new.battle, new.lanes) != (v.blind, v.battle, v.lanes)
        if reset:
            new = new.but(doc=None)
        out = {view_state: new, c.pool_row: gr.update(visible=bool(battle)), models: gr.update(visible=not battle),
               c.hide: gr.update(visible=new.blind)}
        if reset:
            out[session] = None
        if battle:
            out[c.blind] = gr.update(value=True)
        return out

    inputs = [c.blind, c.battle, c.hide, c.lanes, models, view_state]
    outputs = [view_state, session, c.blind, c.pool_row, models, c.hide]
    for trigger in (c.blind.input, c.battle.input, c.hide.input, c.lanes.change):
        trigger(on_arena, inputs, outputs, api_visibility="private")
    # the pool is read when a battle starts; changing it only ends the current session (no re-render)
    c.pool.change(lambda: None, None, session, api_visibility="private")


def opened(c: ArenaControls) -> dict[Any, Any]:
    """Updates for the controls when a saved session is opened: shown as it was, not as a battle."""
    return {c.blind: gr.update(value=False), c.battle: gr.update(value=False), c.pool_row: gr.update(visible=False),
            c.hide: gr.update(visible=False)}


def opened_outputs(c: ArenaControls) -> list[Any]:
    return [c.blind, c.battle, c.pool_row, c.hide]
