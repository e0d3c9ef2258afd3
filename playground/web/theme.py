"""The page's look and its start-up JavaScript (Gradio 6 takes theme, CSS and JS in ``launch()``).

- ``theme()``: Gradio's Soft theme with its grey and indigo text darkened to a contrast of 4.5:1 or
  more (WCAG AA: the Soft theme's subdued text was ~2.4:1 on white).
- ``CSS``: the lanes wrap into rows by width (up to four a row, one on a phone, none narrower than
  280 px); the controls wrap in one row; a long prompt scrolls inside its box; focus is visible.
- ``JS``: Ctrl/Cmd+Enter runs, Esc stops, the shortcut shown is the platform's, and the labels
  Gradio leaves out (a model chip's "Remove …", a scrolling answer's keyboard focus) are added.
"""

import gradio as gr

from playground.web.markdown_view import highlight_css


def theme() -> gr.themes.Base:
    """Soft, with text dark enough to read (axe-core's color-contrast rule, checked in the tests)."""
    return gr.themes.Soft().set(
        body_text_color_subdued="*neutral_600",
        block_label_text_color="*primary_700", block_title_text_color="*primary_700",
        button_primary_background_fill="*primary_600", button_primary_background_fill_hover="*primary_700",
        button_cancel_text_color="*error_700", button_cancel_text_color_hover="*error_700",
        input_placeholder_color="*neutral_500", color_accent="*primary_600",
        checkbox_label_background_fill_selected="*primary_600",
    )


CSS = """
/* the lanes: one flex row that wraps by width, up to four a row, none narrower than 280 px */
.lane-row { gap: 10px !important; flex-wrap: wrap !important; }
.lane-row > .lane { flex: 1 1 max(280px, calc(25% - 10px)) !important; min-width: min(280px, 100%) !important; }
.lane { gap: 4px !important; border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px !important; }
.lane .html-container { padding: 2px 4px !important; }  /* Gradio's 10px 12px a block, four blocks a lane */
.lane-head { font-weight: 600; font-size: 14px; overflow-wrap: anywhere; }
.lane-engine { font-weight: 400; color: var(--body-text-color-subdued); }
.lane-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0 4px; }
.lane-tools { margin-left: auto; display: inline-flex; gap: 4px; }
.lane-tools button { font-size: 12px; font-weight: 500; padding: 0 7px; border-radius: 6px; cursor: pointer;
                     border: 1px solid var(--border-color-primary); background: var(--background-fill-primary);
                     color: var(--body-text-color); }
.lane-tools button:focus-visible { outline: 2px solid var(--color-accent); outline-offset: 1px; }
.lane-tools button[aria-pressed="true"] { background: var(--color-accent-soft); }
/* an answer: rendered Markdown, or (the lane's "raw" toggle) the text as the model wrote it */
.answer-raw { display: none; }
.lane[data-view="raw"] .answer-raw { display: block; }
.lane[data-view="raw"] .answer-md { display: none; }
.answer-raw, .answer-md pre, .answer-md code { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono",
                                                 Menlo, Consolas, "Liberation Mono", monospace; }
.answer-raw { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 13px; margin: 0; background: none;
              border: none; padding: 0; }
.answer-md > :first-child { margin-top: 0; }
.answer-md > :last-child { margin-bottom: 0; }
.answer-md p, .answer-md ul, .answer-md ol, .answer-md blockquote, .answer-md table, .answer-md pre { margin: 0 0 8px; }
.answer-md ul, .answer-md ol { padding-left: 22px; }
.answer-md ul { list-style: disc; }
.answer-md ol { list-style: decimal; }
.answer-md h1, .answer-md h2, .answer-md h3, .answer-md h4, .answer-md h5, .answer-md h6 {
    font-weight: 650; line-height: 1.3; margin: 10px 0 6px; }
.answer-md h1 { font-size: 1.3em; } .answer-md h2 { font-size: 1.18em; } .answer-md h3 { font-size: 1.08em; }
.answer-md h4, .answer-md h5, .answer-md h6 { font-size: 1em; }
.answer-md pre { overflow-x: auto; white-space: pre; overflow-wrap: normal; padding: 8px 10px; border-radius: 6px;
                 font-size: 12.5px; line-height: 1.4; background: var(--background-fill-secondary);
                 border: 1px solid var(--border-color-primary); }
.answer-md pre code { background: none; padding: 0; font-size: inherit; }
.answer-md code { font-size: 0.92em; padding: 0 3px; border-radius: 4px; background: var(--background-fill-secondary); }
.answer-md blockquote { border-left: 3px solid var(--border-color-primary); padding-left: 10px;
                        color: var(--body-text-color-subdued); }
.answer-md table { border-collapse: collapse; display: block; overflow-x: auto; font-size: 13px;
                  width: max-content; max-width: 100%; }
/* Gradio's .prose draws a dark 1px box around a table and each row (var(--body-text-color)): the
   cells' light lines are enough, and the table is as wide as its columns, not the lane */
.answer-md table, .answer-md tr { border: none !important; }
.answer-md table { padding: 0 !important; }  /* Gradio pads a table like a cell */
.answer-md th, .answer-md td { border: 1px solid var(--border-color-primary); padding: 3px 8px; }
.answer-md th { font-weight: 600; background: var(--background-fill-secondary); }
.answer-md a { color: var(--link-text-color); text-decoration: underline; }
.answer-md hr { border: none; border-top: 1px solid var(--border-color-primary); margin: 10px 0; }
/* an answer scrolls inside its lane, short enough that the lanes' figures stay on screen while streaming */
.lane-answer { overflow-wrap: anywhere; min-height: 120px;
               max-height: clamp(160px, calc(100vh - 700px), 420px);
               overflow-y: auto; font-size: 14px; line-height: 1.45; padding: 6px 2px; }
.figs { display: flex; flex-wrap: wrap; gap: 3px 10px; font-size: 12.5px; align-items: center;
        font-variant-numeric: tabular-nums; border-top: 1px solid var(--border-color-primary);
        padding-top: 6px; }
.fig b { font-weight: 500; color: var(--body-text-color-subdued); }
.fig.best { color: #15803d; font-weight: 600; }
.notes { font-size: 12px; color: var(--body-text-color-subdued); margin-top: 2px; }
.lane-error { color: #b91c1c; font-size: 13px; margin-top: 4px; }
.answered-by { font-size: 12.5px; color: #92400e; overflow-wrap: anywhere; }
.badge { border-radius: 10px; padding: 1px 8px; font-size: 12px; font-weight: 600; background: #e5e7eb;
         color: #111827; }
.st-streaming, .st-running, .st-replaying { background: #dbeafe; color: #1e3a8a; }
.st-ok { background: #dcfce7; color: #14532d; }
.st-error { background: #fee2e2; color: #7f1d1d; }
.st-cancelled, .st-interrupted { background: #fef3c7; color: #78350f; }
.st-queued, .st-loading { background: #ede9fe; color: #4c1d95; }
.turn { font-size: 12.5px; margin-bottom: 4px; }
.turn summary { cursor: pointer; color: var(--body-text-color-subdued); }
.turn-q { font-style: italic; white-space: pre-wrap; }
.turn-a { max-height: 200px; overflow-y: auto; }
.turn-prompt { font-size: 12.5px; color: var(--body-text-color-subdued); white-space: pre-wrap;
               max-height: 3.2em; overflow: hidden; }
body.same-params .lane-params { display: none !important; }
.diff { white-space: pre-wrap; font-size: 14px; }
.diff ins { background: #dcfce7; text-decoration: none; }
.diff del { background: #fee2e2; }
.status-table th { text-align: left; padding-right: 16px; }
.toolbar { align-items: center; }
#page-title { font-size: 20px; font-weight: 700; margin: 0; }
.notes { overflow-wrap: anywhere; }
/* the controls: the buttons, then the sampling parameters, wrapping by width */
.controls { flex-wrap: wrap !important; gap: 8px !important; }
.controls > button { align-self: stretch; white-space: nowrap; flex-wrap: nowrap !important; }
#run::after { content: "Ctrl+↵"; margin-left: .4em; }  /* the JS marks a Mac's page: ⌘ there */
body.mac #run::after { content: "⌘↵"; }
.controls .block, .controls + .block { padding-top: 6px !important; padding-bottom: 6px !important; }
.page-head { align-items: center; }
.page-head .block { padding: 0 !important; }
/* a long prompt scrolls inside the box: Run stays in view */
#prompt textarea, #system textarea { max-height: 9.5em; overflow-y: auto !important; }
/* focus visible on every control (Gradio's own ring on text boxes is a faint shadow) */
#prompt textarea:focus-visible, #system textarea:focus-visible, .gradio-container :is(button, input, textarea,
  select, [tabindex]):focus-visible { outline: 2px solid #4338ca !important; outline-offset: 1px; }
@media (max-width: 640px) {
  #blind, #battle, #hide-figures, #same-params { min-width: 100% !important; }  /* one a line, not squeezed */
  .controls > button { min-width: 0 !important; flex: 1 1 auto !important; }  /* Run, Stop, New: one line */
  .controls > .block { min-width: 28% !important; }
}
.vote-bar { align-items: center; }
.vote-status { font-size: 13.5px; color: var(--body-text-color); }  /* axe: the subdued grey was under 4.5:1 */
.reveal { margin-top: 4px; }
.judge-vote summary { cursor: pointer; }
.lb-table, .wr-table { border-collapse: collapse; font-size: 13.5px; font-variant-numeric: tabular-nums; }
.lb-table th, .lb-table td, .wr-table th, .wr-table td { padding: 3px 10px; border: 1px solid var(--border-color-primary);
                                                          text-align: left; }
.wr-table td { text-align: center; min-width: 64px; color: #111827; }
.wr-n { font-size: 11px; color: #4b5563; }
.lb-model { overflow-wrap: anywhere; max-width: 280px; }
.lane-actions { gap: 4px !important; flex-wrap: wrap; }
.lane-actions button { flex: 0 1 auto !important; font-size: 12px !important; padding: 2px 8px !important; }
.fig.cut { color: #92400e; font-weight: 600; }
.fig-legend { font-size: 12.5px; color: var(--body-text-color-subdued); }
.fig-legend ul { margin: 4px 0 0 18px; }
#lanes-drawn { display: none !important; }
#lanes-wait { position: fixed; left: 50%; bottom: 16px; transform: translateX(-50%); z-index: 100;
              background: #1e3a8a; color: #fff; padding: 6px 14px; border-radius: 8px; font-size: 13.5px; }
""" + highlight_css(".answer-md pre")
# A lane's "raw" toggle and copy button (lane_view.header_html) act on the answer of their lane:
# copy takes the text as written from the answer's raw view (markdown_view.answer_body);
# navigator.clipboard needs a secure context (https, localhost), so a page served on a LAN
# address falls back to a hidden textarea and execCommand.

# Ctrl/Cmd+Enter in the prompt box runs; Esc stops a run; "same for all" hides the per-lane parameters.
# A Mac gets body.mac (the ⌘ glyph after "Run"). Gradio names a model chip's remove button by the
# chip's index ("Remove 0") and leaves a scrolling answer out of the tab order: both are put right
# after each change of the page (batched to one pass a frame).
JS = """
() => {
  const mac = /Mac|iPhone|iPad/.test(navigator.userAgentData?.platform || navigator.platform || '');
  document.body.classList.add('same-params');
  if (mac) document.body.classList.add('mac');
  const copyText = async (text) => {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed'; area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    if (!ok) throw new Error('copy refused');
  };
  document.addEventListener('click', (e) => {
    const button = e.target.closest && e.target.closest('.lane-raw, .lane-copy');
    const lane = button && button.closest('.lane');
    if (!lane) return;
    if (button.classList.contains('lane-raw')) {
      const raw = lane.dataset.view !== 'raw';
      if (raw) lane.dataset.view = 'raw'; else delete lane.dataset.view;
      button.setAttribute('aria-pressed', String(raw));
      return;
    }
    const answer = lane.querySelector('.lane-answer .answer-raw, .lane-answer .tk-view');  // tokens_view
    const said = (text) => { button.textContent = text; setTimeout(() => { button.textContent = 'copy'; }, 1500); };
    copyText(answer ? answer.textContent : '').then(() => said('copied'), () => said('copy failed'));
  });
  document.addEventListener('keydown', (e) => {  // capture: before the textbox's own handler
    if ((e.ctrlKey || e.metaKey) && e.key === 'Enter' && e.target.closest('#prompt')) {
      e.preventDefault();
      const run = document.querySelector('#run');
      if (run && !run.disabled) run.click();
    } else if (e.key === 'Escape' && !e.target.closest('[aria-expanded="true"]')) {
      const stop = document.querySelector('#stop');
      if (stop && !stop.disabled) { e.preventDefault(); stop.click(); }
    }
  }, true);
  document.body.classList.add('same-params');
  // Run's events (and the lanes' buttons) are wired with the lanes, which @gr.render draws again
  // after a change of mode, models or session: until the new lanes are on the page, the server
  // has dropped the events of those on screen, and a click on them was lost. Such a click is
  // held, said, and given again once the lanes are drawn anew (render.py's #lanes-drawn mark
  // changes). A touch on a control that redraws the lanes holds clicks a moment (its handler
  // is on its way); the view's change (compare_tab.py: LANES_PENDING) until the lanes are drawn.
  const drawn = () => document.querySelector('#lanes-drawn [data-drawn]')?.dataset.drawn || '';
  let pending = {from: '', until: Date.now() + 30000};  // the first drawing of the lanes
  window.__lanesPending = (ms, fresh) => {
    pending = {from: fresh || !pending ? drawn() : pending.from, until: Date.now() + ms};
  };
  const settled = () => {
    if (pending && ((drawn() && drawn() !== pending.from) || Date.now() > pending.until)) pending = null;
    return !pending;
  };
  // the guard first: a click it lets through (or gives again) may then start a redraw below
  const guarded = '#run, #stop, #replay, #rerun, #new-round, .lane-actions button, .vote-bar button';
  let held = null;
  document.addEventListener('click', (e) => {
    const button = e.target.closest && e.target.closest(guarded);
    if (!button || settled()) return;
    e.preventDefault(); e.stopImmediatePropagation();
    if (held) return;  // one held click at a time
    held = button.id;
    const note = document.createElement('div');
    note.id = 'lanes-wait'; note.setAttribute('role', 'status');
    note.textContent = 'The lanes are being redrawn: your click goes through once they are ready…';
    document.body.appendChild(note);
    const wait = setInterval(() => {
      if (!settled()) return;
      clearInterval(wait); note.remove();
      const again = held && document.getElementById(held);
      held = null;
      if (again && !again.disabled) again.click();
    }, 50);
  }, true);
  const redraws = '#blind, #battle, #hide-figures, #battle-lanes, #models, #join-from, #new-session, #new-round,'
    + ' .vote-bar, #history';
  ['input', 'change', 'click'].forEach((type) => document.addEventListener(type, (e) => {
    if (e.target.closest && e.target.closest(redraws)) window.__lanesPending(1500, false);
  }, true));
  let queued = false;
  const label = () => {
    queued = false;
    document.querySelectorAll('.token').forEach((chip) => {
      const remove = chip.querySelector('.token-remove');
      const name = 'Remove ' + chip.textContent.trim();
      if (remove && remove.getAttribute('aria-label') !== name) {
        remove.setAttribute('aria-label', name);
        remove.setAttribute('title', name);
      }
    });
    document.querySelectorAll('.lane-answer, .turn-a').forEach((box) => {
      if (!box.hasAttribute('tabindex')) box.tabIndex = 0;
    });
    // the race chart's hover marks are an unnamed svg symbol while the chart is empty
    document.querySelectorAll('#race svg [role="graphics-symbol"]:not([aria-label])').forEach((mark) => {
      mark.setAttribute('aria-label', 'the race chart');
    });
    const run = document.querySelector('#run');
    if (run && !run.hasAttribute('aria-keyshortcuts')) run.setAttribute('aria-keyshortcuts', mac ? 'Meta+Enter' : 'Control+Enter');
  };
  new MutationObserver(() => { if (!queued) { queued = true; requestAnimationFrame(label); } })
    .observe(document.body, {childList: true, subtree: true});
  label();
}
"""

SAME_TOGGLE = "(same) => { document.body.classList.toggle('same-params', same); return same; }"
