"""The page's CSS and start-up JavaScript (Gradio 6 takes both in ``launch()``)."""

CSS = """
.lane-row { gap: 10px !important; flex-wrap: nowrap !important; }
.lane { gap: 4px !important; border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px !important;
        min-width: 0 !important; }
.lane-head { font-weight: 600; font-size: 14px; overflow-wrap: anywhere; }
.lane-engine { font-weight: 400; color: var(--body-text-color-subdued); }
.lane-answer { white-space: pre-wrap; overflow-wrap: anywhere; min-height: 140px; max-height: 420px;
               overflow-y: auto; font-size: 14px; line-height: 1.45; padding: 6px 2px; }
.block.lane-answer { white-space: normal; }  /* the wrapper's own blank text nodes: no empty line on top */
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
.turn-a { white-space: pre-wrap; max-height: 200px; overflow-y: auto; }
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
.lane-actions { gap: 4px !important; flex-wrap: wrap; }
.lane-actions button { flex: 0 1 auto !important; font-size: 12px !important; padding: 2px 8px !important; }
.fig.cut { color: #92400e; font-weight: 600; }
.fig-legend { font-size: 12.5px; color: var(--body-text-color-subdued); }
.fig-legend ul { margin: 4px 0 0 18px; }
"""

# Ctrl/Cmd+Enter in the prompt box runs; "same for all" hides the per-lane parameters.
JS = """
() => {
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
