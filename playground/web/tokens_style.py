"""How a shaded answer looks and behaves (``tokens_view``): its CSS, and the few lines of start-up
JavaScript that let Esc close a token's tip (added to the page's own by ``with_tokens_js``).

The tip is pure CSS: a token's ``data-tip`` drawn by ``::after`` on ``:hover`` and ``:focus``
(a tap focuses the token: phones get it too). It is ``position: fixed`` so the lane's scrolling box
does not clip it, placed under its token by CSS anchor positioning (the token hovered or focused is
the anchor ``--tk``), flipped above or leftward when it would leave the window; a browser
without anchor positioning draws it where the token ends. (Gradio drops ``@supports`` blocks from
a page's CSS, so nothing here is conditional.)

Esc (WCAG 1.4.13: a tip can be dismissed without moving the pointer or focus) hides the tips until
the pointer or focus moves to another token; Esc on a focused token does only that, it does not
stop the run (the page's Esc, ``theme.JS``, listens on the document: this listens on the window, first).
"""

from playground.web.tokens_view import BANDS

_BANDS = "\n".join(f".tk.{cls}, .tk-key.{cls} {{ background: {colour}; }}" for _, cls, colour in BANDS)

CSS = """
/* a shaded answer (tokens_view): the text as written, each token on its band's background */
.tk-view { white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.6; }
.tk, .tk-key { color: #111827; border-radius: 2px; }
.tk { cursor: help; box-decoration-break: clone; -webkit-box-decoration-break: clone;
      box-shadow: inset -1px 0 rgba(255, 255, 255, .85); }  /* a hairline between neighbours of one band */
.tk:focus-visible { outline: 2px solid #4338ca; outline-offset: 0; }
.tk-legend { position: sticky; top: -6px; z-index: 1; font-size: 12px; padding: 2px 0 4px; display: flex;
             flex-wrap: wrap; gap: 2px 4px; align-items: center; background: var(--background-fill-primary);
             color: var(--body-text-color); }
.tk-key { padding: 0 5px; font-variant-numeric: tabular-nums; }
.tk-hint { color: var(--body-text-color-subdued); }
.tk:hover::after, .tk:focus::after {
  content: attr(data-tip); position: fixed; z-index: 1000; pointer-events: none;
  white-space: pre; font: 12px/1.45 ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace;
  background: #111827; color: #f9fafb; padding: 6px 9px; border-radius: 6px; max-width: 92vw; overflow: hidden;
  box-shadow: 0 4px 14px rgba(0, 0, 0, .25); text-align: left; font-weight: 400; }
/* under its token (the anchor), flipped above or leftward at the window's edges; a browser without
   anchor positioning drops these declarations and draws the tip where the token ends */
.tk:hover, .tk:focus { anchor-name: --tk; }
.tk:hover::after, .tk:focus::after { position-anchor: --tk; top: calc(anchor(bottom) + 3px); left: anchor(left);
                                     position-try-fallbacks: flip-block, flip-inline, flip-block flip-inline; }
body.tk-quiet .tk::after { display: none !important; }
/* the lane's "raw" toggle: the same text, unshaded, in the raw view's font, no tips */
.lane[data-view="raw"] .tk-view { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas,
                                                "Liberation Mono", monospace; font-size: 13px; }
.lane[data-view="raw"] .tk { background: none; cursor: text; }
.lane[data-view="raw"] .tk::after, .lane[data-view="raw"] .tk-legend { display: none; }
.prob-figs span + span { margin-left: 0; }
.prob-figs b { font-weight: 500; }
""" + _BANDS

JS = """
() => {
  let quiet = null;  // the token whose tip Esc closed
  window.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    const token = (e.target.closest && e.target.closest('.tk')) || document.querySelector('.tk:hover');
    if (!token) return;
    quiet = token;
    document.body.classList.add('tk-quiet');
    if (e.target.closest && e.target.closest('.tk')) { e.stopPropagation(); e.preventDefault(); }
  }, true);
  const wake = (e) => {
    const token = e.target.closest && e.target.closest('.tk');
    if (quiet && token !== quiet) { quiet = null; document.body.classList.remove('tk-quiet'); }
  };
  document.addEventListener('mouseover', wake);
  document.addEventListener('focusin', wake);
}
"""


def with_tokens_js(js: str) -> str:
    """The page's start-up function and this module's, as the one function Gradio's ``js`` takes."""
    return f"() => {{ ({js.strip()})(); ({JS.strip()})(); }}"
