"""The page's CSS and start-up JavaScript (Gradio 6 takes both in ``launch()``)."""

from playground.web.markdown_view import highlight_css

CSS = """
.lane-row { gap: 10px !important; flex-wrap: nowrap !important; }
.lane { gap: 4px !important; border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px !important;
        min-width: 0 !important; }
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
.answer-md table { border-collapse: collapse; display: block; overflow-x: auto; font-size: 13px; }
.answer-md th, .answer-md td { border: 1px solid var(--border-color-primary); padding: 3px 8px; }
.answer-md th { font-weight: 600; background: var(--background-fill-secondary); }
.answer-md a { color: var(--link-text-color); text-decoration: underline; }
.answer-md hr { border: none; border-top: 1px solid var(--border-color-primary); margin: 10px 0; }
.lane-answer { overflow-wrap: anywhere; min-height: 140px; max-height: 420px;
               overflow-y: auto; font-size: 14px; line-height: 1.45; padding: 6px 2px; }
.figs { display: flex; flex-wrap: wrap; gap: 3px 10px; font-size: 12.5px; align-items: center;
        font-variant-numeric: tabular-nums; border-top: 1px solid var(--border-color-primary);
        padding-top: 6px; }
.fig b { font-weight: 500; color: var(--body-text-color-subdued); }
.fig.best { color: #15803d; font-weight: 600; }
.notes { font-size: 12px; color: var(--body-text-color-subdued); margin-top: 2px; }
.lane-error { color: #b91c1c; font-size: 13px; margin-top: 4px; }
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
#page-title { font-size: 20px; font-weight: 700; }
.vote-bar { align-items: center; }
.vote-status { font-size: 13.5px; }
.reveal { margin-top: 4px; }
.judge-vote summary { cursor: pointer; }
.lb-table, .wr-table { border-collapse: collapse; font-size: 13.5px; font-variant-numeric: tabular-nums; }
.lb-table th, .lb-table td, .wr-table th, .wr-table td { padding: 3px 10px; border: 1px solid var(--border-color-primary);
                                                          text-align: left; }
.wr-table td { text-align: center; min-width: 64px; color: #111827; }
.wr-n { font-size: 11px; color: #4b5563; }
.lb-model { overflow-wrap: anywhere; max-width: 280px; }
""" + highlight_css(".answer-md pre")

# Ctrl/Cmd+Enter in the prompt box runs; "same for all" hides the per-lane parameters; a lane's
# "raw" toggle and copy button (lane_view.header_html) act on the answer of their lane. Copy takes
# the text as written from the answer's raw view (markdown_view.answer_body), not the rendered one;
# navigator.clipboard needs a secure context (https, localhost), so a page served on a LAN address
# falls back to a hidden textarea and execCommand.
JS = """
() => {
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
    const answer = lane.querySelector('.lane-answer .answer-raw');
    const said = (text) => { button.textContent = text; setTimeout(() => { button.textContent = 'copy'; }, 1500); };
    copyText(answer ? answer.textContent : '').then(() => said('copied'), () => said('copy failed'));
  });
  document.addEventListener('keydown', (e) => {  // capture: before the textbox's own handler
    if ((e.ctrlKey || e.metaKey) && e.key === 'Enter' && e.target.closest('#prompt')) {
      e.preventDefault();
      const run = document.querySelector('#run');
      if (run && !run.disabled) run.click();
    }
  }, true);
  document.body.classList.add('same-params');
}
"""

SAME_TOGGLE = "(same) => { document.body.classList.toggle('same-params', same); return same; }"
