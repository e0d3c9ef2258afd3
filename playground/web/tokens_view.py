"""A lane's answer shaded by token probability (issue 13, the page): every token a focusable span
coloured by how likely the model found it, its probability and the top-K alternatives in a tip
shown on hover or focus (pure CSS: the tip is the span's ``data-tip`` attribute, drawn by
``::after``); the legend of the one colour scale; the lane's likelihood figures.

Tokens are model output: each token's text, and every alternative's, is HTML-escaped once here
(as element text, or inside the single-quoted ``data-tip`` attribute, which CSS shows as text and
never parses), so a token ``<img src=x onerror=…>`` is shown as those characters.

Streaming: the view is built so that a longer answer's HTML *starts with* the shorter one's — the
legend, then an unclosed ``<div class="tk-view">`` (the browser closes it), then one span per
token. Gradio then sends each update as an ``append`` of the new tokens' spans (its diff of a
string that grew), so the bytes sent per token stay those of its own span, however long the answer.
Text that has arrived before its token's probabilities is held back until they come (a lane's
engine sends both back to back); a finished lane shows any text its tokens do not cover, unshaded.
Each token's span is made once (``_CACHE``, by the token list being drawn), so a redraw costs a join.

Nothing here names a model: a blind lane's view holds token texts and numbers only.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from backends.base import TokenProb
from backends.redact import mask
from playground.web.escape import esc

# The one colour scale: (lowest probability of the band, its class, background). Light backgrounds
# under the same dark text (#111827): every band keeps a contrast of 4.8:1 or more (WCAG AA: 4.5).
# Orange, light for the likely, deep for the surprising: the tokens a reader should look at stand out.
BANDS = ((0.9, "p0", "#ffedd5"), (0.7, "p1", "#fed7aa"), (0.5, "p2", "#fdba74"),
         (0.3, "p3", "#fb923c"), (0.1, "p4", "#f97316"), (0.0, "p5", "#ea580c"))
_LABELS = ("≥ 90%", "70–90%", "50–70%", "30–50%", "10–30%", "< 10%")
KINDS = {"raw": "raw probabilities (the model's own, before temperature and top-p)",
         "sampled": "sampled probabilities (after the sampler's temperature and top-p)",
         "provider": "probabilities as the provider reports them"}
NOT_COMPARABLE = ("per-token figures are not comparable across tokenizers; bits per character and per "
                  "byte are")
# Gradio 6.31 redraws a gr.HTML by parsing its whole new value and walking every node of it against
# the page's (its HTML component's morph), so an update of a shaded lane costs the browser in
# proportion to the lane's whole HTML, not to the tokens added. Measured with bench/page_tokens.py
# on the shared 2-core box: the page keeps up with ~300 KB of lane HTML redrawn a second; past that it
# falls behind the lanes (page done 2–3× the slowest lane). A long shaded answer is redrawn less often.
PAGE_REDRAW_BYTES_PER_S = 300_000
CACHE_SIZE = 64  # token lists being drawn at once: lanes × open pages, with room to spare


@dataclass(frozen=True)
class Probs:
    """What a lane's answer is shaded with: its token rows (``TokenProb``s as they stream, or the
    record's compact rows), ``final`` once the lane has ended, and for a replay the recorded whole
    text (``whole``), so only the tokens of the text shown so far are drawn."""

    rows: Sequence[Any]
    final: bool = True
    whole: str | None = None


@dataclass
class _Drawn:
    rows: Sequence[Any]
    parts: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)  # cumulative characters of the tokens' texts


_CACHE: OrderedDict[int, _Drawn] = OrderedDict()
_LOCK = threading.Lock()


def probs_of(source: Any) -> Probs | None:
    """The rows to shade a lane with, from what the page holds of it: a live lane (``LaneState``),
    a replayed one (``ReplayLane``: its recorded output's rows, as far as its text has come), a
    recorded output (``storage.document.Output`` or its dict). None without any token."""
    if isinstance(source, dict):
        rows = source.get("tokens")
        return Probs(rows) if rows else None
    output = getattr(source, "output", None)
    if output is not None:  # a replay: the recorded rows, drawn as far as the text has come
        rows = output.tokens
        return Probs(rows, source.status == output.status, output.text) if rows else None
    rows = getattr(source, "tokens", None)
    if not rows:
        return None
    ended = getattr(source, "ended", True) is not None  # a LaneState (ended: None while it runs), an Output
    return Probs(rows, ended)


def shaded(text: str, probs: Probs) -> str:
    """The legend, then the answer with each token shaded (see the module docstring)."""
    drawn = _draw(probs.rows)
    if probs.whole is not None:  # a replay: the tokens whose text is all shown by now
        joined = "".join(drawn.texts)
        start = len(probs.whole) - len(joined) if probs.whole.endswith(joined) else 0
        n = bisect_right(drawn.ends, len(text) - start)
        head = text[:start]
    else:
        n = len(drawn.parts)
        joined = "".join(drawn.texts)
        at = 0 if text.startswith(joined) else text.find(joined)
        head = text[:at] if at > 0 else ""
    body = "".join(drawn.parts[:n])
    covered = len(head) + (drawn.ends[n - 1] if n else 0)
    tail = text[covered:] if probs.final and len(text) > covered else ""
    return (legend_html() + '<div class="tk-view">' + (f'<span class="tk-none">{esc(head)}</span>' if head else "")
            + body + (f'<span class="tk-none">{esc(tail)}</span>' if tail else ""))


def redraw_due(drawn_at: list[float | None], lane: int, size: int, now: float) -> bool:
    """Whether a shaded lane of ``size`` bytes of HTML may be sent again at ``now`` (noted in
    ``drawn_at`` when it may): the page's redraw budget (``PAGE_REDRAW_BYTES_PER_S``) is shared by
    its lanes. A lane's last update (its end) is always sent, by the caller."""
    last = drawn_at[lane]
    if last is not None and now - last < size * len(drawn_at) / PAGE_REDRAW_BYTES_PER_S:
        return False
    drawn_at[lane] = now
    return True


def legend_html() -> str:
    """The colour scale, once per shaded lane (it stays at the top of the lane while it scrolls)."""
    keys = "".join(f'<span class="tk-key {cls}">{esc(label)}</span>' for (_, cls, _), label in zip(BANDS, _LABELS,
                                                                                                strict=True))
    return (f'<div class="tk-legend">token probability: {keys} '
            '<span class="tk-hint">· hover, tap or Tab to a token for its alternatives</span></div>')


def _draw(rows: Sequence[Any]) -> _Drawn:
    """``rows`` drawn: the spans made before kept (a growing list is drawn once per token)."""
    with _LOCK:
        drawn = _CACHE.get(id(rows))
        if drawn is None or drawn.rows is not rows or len(drawn.parts) > len(rows):
            drawn = _Drawn(rows)
            _CACHE[id(rows)] = drawn
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
        _CACHE.move_to_end(id(rows))
        for row in rows[len(drawn.parts):]:
            text, logprob, top = _row(row)
            drawn.parts.append(_span(text, logprob, top))
            drawn.texts.append(text)
            drawn.ends.append((drawn.ends[-1] if drawn.ends else 0) + len(text))
        return drawn


def _row(row: Any) -> tuple[str, float, Sequence[Any]]:
    """(text, logprob, alternatives) of a streamed ``TokenProb`` (masked here, as the record's rows
    are when saved: a configured key never reaches the page) or of a recorded compact row."""
    if isinstance(row, TokenProb):
        return mask(row.text), row.logprob, [(mask(a), lp) for a, lp in row.top]
    return str(row[0]), row[1], row[2]


def _prob(logprob: Any) -> float:
    try:
        p = math.exp(float(logprob))
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return p if math.isfinite(p) else 0.0


def band(p: float) -> str:
    """The class of the colour band a probability falls in."""
    return next(cls for low, cls, _ in BANDS if p >= low)


def percent(p: float) -> str:
    return "<0.1%" if p < 0.0005 else f"{p * 100:.1f}%"


def _shown(text: str) -> str:
    return '"' + text.replace("\n", "↵").replace("\r", "␍").replace("\t", "⇥") + '"'


def tip(text: str, logprob: float, top: Sequence[Any]) -> str:
    """The tip of a token, as text: its probability, then its alternatives best first, the chosen
    one marked ▸ (or a line saying it is not among them)."""
    p = _prob(logprob)
    lines = [f"{_shown(text)} {percent(p)} · logprob {float(logprob):.3f}"]
    if top:
        lines.append(f"top {len(top)} alternative{'s' if len(top) > 1 else ''}:")
        width = min(max(len(_shown(str(a))) for a, _ in top), 16)
        chosen = False
        for alt, lp in top:
            mine = str(alt) == text and not chosen
            chosen = chosen or mine
            lines.append(f"{'▸' if mine else ' '} {_shown(str(alt)):<{width}} {percent(_prob(lp)):>5}")
        if not chosen:
            lines.append("▸ the chosen token is not among them")
    return "\n".join(lines)


def _span(text: str, logprob: float, top: Sequence[Any]) -> str:
    focus = ' tabindex="0"' if text else ""  # an empty token has nothing to hover or tap
    return (f"<span class=\"tk {band(_prob(logprob))}\"{focus} data-tip='{_attr(tip(text, logprob, top))}'>"
            f"{esc(text)}</span>")


def _attr(text: str) -> str:
    """``text`` for a single-quoted attribute: ``&``, ``'``, ``<`` and ``>`` as references; the
    tip's many ``"`` stay one byte each (inside ``'…'`` they end nothing)."""
    return text.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;").replace(">", "&gt;")


def info_of(state: Any) -> dict[str, Any]:
    """The ``logprobs``, ``mode``, ``template`` and ``notes`` keys of a lane's record, for its figures line: a
    live lane's asked-for top-K and kind (its whole ``probability_record`` once it has ended, with
    the note of an engine that offered none); a replayed or recorded lane's as recorded."""
    output = getattr(state, "output", None)
    if output is not None:
        return output.model_dump(include={"logprobs", "mode", "template", "notes"}, exclude_none=True)
    params = getattr(state, "params", None)
    if params is None:
        return {}
    from playground.engine.tokens import NO_TEMPLATE_NOTE, probability_record

    if state.ended is not None:
        saved = probability_record(state)
        return {k: saved[k] for k in ("logprobs", "mode", "template", "notes") if k in saved}
    out: dict[str, Any] = {"mode": params.mode} if params.mode != "chat" else {}
    if state.template is False:
        out["template"] = False
        out["notes"] = [NO_TEMPLATE_NOTE]
    if params.logprobs is not None or state.tokens:
        out["logprobs"] = {"top_k": params.logprobs or 0, "kind": state.logprob_kind}
    return out


def figures_html(record: dict[str, Any], *, blind: bool = False) -> str:
    """The lane's likelihood line under its figures: mean log-probability and perplexity (score
    mode: the total log-likelihood, the tokens, bits per character and per byte, and why only those
    compare across tokenizers); the kind of probabilities, or the note of an engine that offered
    none (not in a blind lane: it tells models apart). That a chat prompt went without a template is
    one of the record's notes, shown with the figures' notes."""
    m = record.get("metrics") or {}
    info = record.get("logprobs") or {}
    score = record.get("mode") == "score"
    parts = []
    if m.get("logprob_mean") is not None:
        if score and m.get("logprob_sum") is not None:
            parts.append(_fig("logprob_sum", "log-likelihood", f"{m['logprob_sum']:.2f} nats"))
            parts.append(_fig("logprob_tokens", "tokens", str(m.get("logprob_tokens"))))
        parts.append(_fig("logprob_mean", "mean logprob", f"{m['logprob_mean']:.3f}"))
        if m.get("perplexity") is not None:
            parts.append(_fig("perplexity", "perplexity", f"{m['perplexity']:.2f}"))
        for key, label in (("bits_per_char", "bits/char"), ("bits_per_byte", "bits/byte")):
            if score and m.get(key) is not None:
                parts.append(_fig(key, label, f"{m[key]:.3f}"))
    if info and not blind:
        if info.get("note"):
            parts.append(f'<span class="prob-note">{esc(info["note"])}</span>')
        elif info.get("kind"):
            parts.append(f'<span class="prob-kind">{esc(KINDS.get(info["kind"], info["kind"]))}</span>')
    if not parts:
        return ""
    out = f'<div class="notes prob-figs">{" · ".join(parts)}</div>'
    if score and m.get("logprob_mean") is not None:
        out += f'<div class="notes prob-figs">{NOT_COMPARABLE}</div>'
    return out


def _fig(key: str, label: str, value: str) -> str:
    return f'<span data-figure="{key}"><b>{label}</b> {esc(value)}</span>'
