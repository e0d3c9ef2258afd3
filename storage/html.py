"""A session document as one self-contained HTML file that replays the race, offline, and imports back.

`to_html(doc)` is a pure function of a `playground.session/1` document, like `to_markdown`: the
page template (export_page.html), its script (export_page.js) and its style (export_page.css) with
the document embedded in `<script type="application/json" id="playground-session">`. The script
builds the page from it — the title, every answer, prompt and model id go in as text
(`textContent`, `document.title`), never as HTML — and replays each turn from its recorded
timelines with the schedule of `playground/web/replay.py`. Nothing is fetched: a
Content-Security-Policy meta allows only the inline script and style, by their sha256 hashes.

The document is embedded in whichever of two forms is smaller (`embedding`, the one place that
decides): compact JSON with `<` written `\\u003c` wherever it starts `<!--`, `<script` or
`</script` in any case — the only sequences that end a script element or switch the HTML parser into
its script-data-escaped states (see "Restrictions for contents of script elements" and the tokenizer's
script data states in the HTML standard; `>`, `&` and the rest are plain text there); or, with
`data-encoding="base64"` on the element, the base64 of the UTF-8 JSON. `embedded_document(html)`
takes either back out for the store's import, which validates it like any JSON file.

`to_html(doc, blind=True)` (a blind session not voted on yet — the caller decides) embeds no
session document but a reduced view under id `playground-blind`: texts, statuses, timelines and the
waits (queue, load, retries) the replay needs; no model id, label, parameters, figures, error
message or reasoning. Such a file cannot be imported.

Answers are shown rendered as on the page (`answers_html`): the Markdown of each answer rendered
on export by the page's own renderer (`storage/rendered.py`: no raw HTML, no script links, no
images), placed in the file as static HTML (`<div id="rendered" hidden>`, one `.answer-md` a lane)
that the script moves into its lane — the script itself still parses no text as HTML. A replay
streams the text as written; each lane shows its rendered answer once it has replayed to its end.
An answer that renders as one plain paragraph is not repeated (its text says the same).

Size: at most 1.5 × the JSON export plus a fixed ~33 KB (the template, style, script and CSP) for
every document, plus the rendered HTML of the answers that have Markdown in them: the embedded
data and those are the only parts of the file that vary with the session (the `<title>` is fixed;
the script sets the session's). Compact JSON is never larger than the indented
export; an escape adds 5 bytes, and when escapes make the JSON form larger than base64 (4/3 × the
compact JSON, plus the attribute's 23 bytes) the base64 form is embedded instead.
`bench/html_export.py` measures it (figures in docs/benchmarks.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from functools import cache
from importlib import resources
from typing import Any

from storage.errors import ImportRejected
from storage.rendered import highlight_rules, markdown_html, plain

SESSION_ID, BLIND_ID = "playground-session", "playground-blind"
_REPLAY_METRICS = ("queue_ms", "load_ms", "retry_ms", "total_ms")  # what a blind view keeps: the replay's schedule
# a "<" that starts "<!--", "<script" or "</script" (ASCII case-insensitive, as the HTML parser reads
# tag names): inside a script element only these open an escaped state or end the element
_SCRIPT_MARKUP = re.compile(r"<(?=!--|/?script)", re.IGNORECASE | re.ASCII)
BASE64_ATTRIBUTE = ' data-encoding="base64"'
_MARK = re.compile(r"\{\{(\w+)\}\}")
_DATA = re.compile(r'<script type="application/json" id="(playground-session|playground-blind)"'
                   r'( data-encoding="base64")?>')


@cache
def _assets() -> tuple[str, str, str, str]:
    """(template, style, script, CSP) — read once; the CSP holds the style's and script's hashes."""
    files = resources.files("storage")
    template, style, script = (files.joinpath(f"export_page.{ext}").read_text("utf-8") for ext in ("html", "css", "js"))
    # the highlighted code's colours, the page's own (storage/rendered.py); dark with the reader's scheme
    style += ("\n" + highlight_rules(".answer-md pre") + "\n@media (prefers-color-scheme: dark) {\n"
              + highlight_rules(".answer-md pre", "github-dark") + "\n}\n")
    assert "</style" not in style.lower() and not _SCRIPT_MARKUP.search(script)
    csp = ("default-src 'none'; "
           f"script-src '{_sha256(script)}'; style-src '{_sha256(style)}'; "
           "img-src 'none'; base-uri 'none'; form-action 'none'")
    return template, style, script, csp


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def script_json(value: Any) -> str:
    """Compact JSON that is safe as the content of a `<script type="application/json">` element."""
    return _SCRIPT_MARKUP.sub(r"\\u003c", _compact(value))  # JSON has "<" only inside strings


def embedding(value: Any) -> tuple[str, str]:
    """(attributes, content) of the data element: `script_json(value)`, or the base64 of the UTF-8
    JSON with `BASE64_ATTRIBUTE` when that is smaller — a text dense in `<!--` or `</script`
    would otherwise grow up to 2.25 × in escapes."""
    compact = _compact(value)
    text, escapes = _SCRIPT_MARKUP.subn(r"\\u003c", compact)
    raw = compact.encode("utf-8")
    if len(raw) + 5 * escapes <= 4 * -(-len(raw) // 3) + len(BASE64_ATTRIBUTE):  # base64: 4 × ⌈n / 3⌉
        return "", text
    return BASE64_ATTRIBUTE, base64.b64encode(raw).decode("ascii")


def to_html(doc: dict[str, Any], *, blind: bool = False) -> str:
    """The session as one HTML file; `blind`: names, figures and errors left out (see the module)."""
    template, style, script, csp = _assets()
    data_id, data = (BLIND_ID, blind_view(doc)) if blind else (SESSION_ID, doc)
    encoding, payload = embedding(data)
    values = {"CSP": csp, "STYLE": style, "SCRIPT": script, "RENDERED": answers_html(data),
              "DATA_ID": data_id, "ENCODING": encoding, "DATA": payload}
    return _MARK.sub(lambda m: values[m.group(1)], template)  # one pass: inserted text is not scanned


def answers_html(doc: dict[str, Any]) -> str:
    """Each answer with Markdown in it rendered (``storage/rendered.py``), as static HTML the page's
    script moves into its lane (``data-turn``, ``data-lane``); "" when none has any."""
    parts = []
    for t, turn in enumerate(doc.get("turns") or ()):
        for i, output in enumerate(turn.get("outputs") or ()):
            text = output.get("text") or ""
            rendered = markdown_html(text) if text else ""
            if rendered and not plain(text, rendered) and not _SCRIPT_MARKUP.search(rendered):
                parts.append(f'<div class="answer-md" data-turn="{t}" data-lane="{i}">{rendered}</div>')
    return f'<div id="rendered" hidden>{"".join(parts)}</div>' if parts else ""


def blind_view(doc: dict[str, Any]) -> dict[str, Any]:
    """What a blind file may show: the session without anything that names or profiles a model."""
    votes = [{k: v for k, v in vote.items() if k != "models"}
             for vote in doc.get("votes") or () if vote.get("judge") is not None]
    turns = [{"prompt": turn.get("prompt", ""), "created_at": turn.get("created_at"),
              "outputs": [_blind_output(o) for o in turn.get("outputs") or ()]}
             for turn in doc.get("turns") or ()]
    keep = {k: doc.get(k) for k in ("id", "title", "created_at", "system", "tags")}
    return {**keep, "blind": True, "turns": turns, "votes": votes}


def _blind_output(output: dict[str, Any]) -> dict[str, Any]:
    metrics = output.get("metrics") or {}
    view = {"text": output.get("text") or "", "status": output.get("status"),
            "error": {"type": "hidden", "message": ""} if output.get("error") else None,
            "metrics": {k: metrics[k] for k in _REPLAY_METRICS if metrics.get(k) is not None},
            "timeline": output.get("timeline") or []}
    view.update({k: output[k] for k in ("repeat", "warmup") if k in output})
    return view


def embedded_document(data: str | bytes | dict[str, Any]) -> str | bytes | dict[str, Any]:
    """The session document's JSON text when `data` is an HTML export; anything else as it came.

    Raises `ImportRejected` for an HTML file that holds no session document (a blind file, or a
    page that is not a Playground export)."""
    if isinstance(data, dict):
        return data
    if isinstance(data, bytes):
        if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            return data  # JSON: never starts with "<"
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ImportRejected("the HTML file is not UTF-8 text; export it again") from None
    elif not isinstance(data, str) or not data.lstrip("\ufeff \t\r\n").startswith("<"):
        return data
    found = _DATA.search(data)
    end = data.find("</script>", found.end()) if found else -1  # the data holds no "</script": the first ends it
    if end < 0:
        raise ImportRejected("no Playground session in this HTML file: import a file written by "
                             "`playground sessions export ID --format html`")
    if found.group(1) == BLIND_ID:
        raise ImportRejected("this HTML file is a blind session not voted on yet and holds no session "
                             "document; vote, then export it again")
    if not found.group(2):
        return data[found.end():end]
    try:
        return base64.b64decode(data[found.end():end], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ImportRejected("the session inside this HTML file is damaged (its base64 does not decode "
                             "to UTF-8 text); export it again") from None
