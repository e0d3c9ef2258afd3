"""A session document as Markdown, for pasting into an issue or a chat.

`to_markdown(doc)` is a pure function of a `playground.session/1` document: per turn, the prompt,
a side-by-side table of each lane's figures (one column per lane), then each lane's full answer.
Estimated figures are marked with `~`; missing ones are `–`. It does not validate the document.

Everything in the document came from a prompt, a model or an import, so none of it is written
verbatim (``storage.untrusted``): prompts, the system prompt, answers and reasoning stay Markdown
without raw HTML or script/data links; titles, model ids, labels, tags, parameters, statuses and
error messages are literal text.

Given the names of the HTML and JSON exports written beside it (`beside`), it links to them under
the title: the HTML replays the race, the JSON imports back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from storage.untrusted import literal, markdown

_ROWS: list[tuple[str, str, str]] = [  # (row title, metrics key, format)
    ("TTFT (ms)", "ttft_ms", "{:.0f}"),
    ("total (ms)", "total_ms", "{:.0f}"),
    ("tokens/s", "tokens_per_s", "{:.1f}"),
    ("output tokens", "output_tokens", "{:d}"),
    ("input tokens", "input_tokens", "{:d}"),
    ("queue (ms)", "queue_ms", "{:.0f}"),
    ("load (ms)", "load_ms", "{:.0f}"),
    ("cost (USD)", "cost_usd", "{:.4g}"),
]
PREVIEW = 80
_BESIDE = {".html": "HTML (replays the race, opens offline)", ".json": "JSON (imports back)"}


def to_markdown(doc: dict[str, Any], beside: Sequence[str] = ()) -> str:
    """The session as Markdown: title, system prompt, and per turn a figures table and answers.
    `beside`: file names (relative to the Markdown file) of its HTML and JSON exports, linked."""
    lines = [f"# {_line(doc.get('title')) or 'Untitled session'}", ""]
    about = [f"session {_code(doc.get('id'))}", _line(doc.get("created_at"))]
    if doc.get("rerun_of"):
        about.append(f"re-run of {_code(doc['rerun_of'])}")
    if doc.get("tags"):
        about.append("tags: " + ", ".join(_line(tag) for tag in doc["tags"]))
    lines += ["*" + " · ".join(about) + "*", ""]
    links = [f"[{_BESIDE[PurePath(name).suffix.lower()]}]({quote(name)})"
             for name in beside if PurePath(name).suffix.lower() in _BESIDE]
    if links:
        lines += ["Also as " + " · ".join(links), ""]
    if doc.get("system"):
        lines += ["**System:**", "", _quote(doc["system"]), ""]
    turns = doc.get("turns") or []
    for number, turn in enumerate(turns, 1):
        if len(turns) > 1:
            lines += [f"## Turn {number}", ""]
        lines += [_quote(turn.get("prompt", "")), ""]
        outputs = turn.get("outputs") or []
        if outputs:
            lines += _table(outputs) + [""] + _answers(outputs)
    return "\n".join(lines).rstrip() + "\n"


def _table(outputs: list[dict[str, Any]]) -> list[str]:
    header = ["", *(_lane_name(o, i) for i, o in enumerate(outputs))]
    rows = [header, ["---"] * len(header)]
    rows.append(["status", *(_status(o) for o in outputs)])
    for title, key, fmt in _ROWS:
        cells = [_figure(o, key, fmt) for o in outputs]
        if any(cell != "–" for cell in cells):
            rows.append([title, *cells])
    rows.append(["finish", *(_line(o.get("finish_reason")) or "–" for o in outputs)])
    params = [_line(", ".join(f"{k}={v}" for k, v in (o.get("params") or {}).items())) or "–" for o in outputs]
    rows.append(["params", *params])
    rows.append(["answer", *(_line(_preview(o.get("text") or "")) for o in outputs)])
    return ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


def _answers(outputs: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for i, output in enumerate(outputs):
        lines += [f"### {_lane_name(output, i)}", ""]
        if output.get("reasoning"):
            lines += ["<details><summary>reasoning</summary>", "", markdown(output["reasoning"].strip()), "",
                      "</details>", ""]
        lines += [markdown(output.get("text")) or "*(no text)*", ""]
        error = output.get("error")
        if error:
            lines += [f"> **{_line(error.get('type', 'error'))}:** {_line(error.get('message', ''))}", ""]
    return lines


def _lane_name(output: dict[str, Any], index: int) -> str:
    name = _line(output.get("label") or output.get("model")) or f"lane {index + 1}"
    if output.get("label") and output.get("model"):
        name += f" ({_code(output['model'])})"
    if output.get("repeat") is not None:
        name += f" #{output['repeat']}"
    return name


def _status(output: dict[str, Any]) -> str:
    status = _line(output.get("status")) or "–"
    return status if status == "ok" else f"**{status}**"


def _figure(output: dict[str, Any], key: str, fmt: str) -> str:
    metrics = output.get("metrics") or {}
    value = metrics.get(key)
    if value is None or isinstance(value, bool):
        return "–"
    try:
        text = fmt.format(value)
    except (ValueError, TypeError):
        text = _line(str(value))
    return ("~" + text) if key in (metrics.get("estimated") or []) else text


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW else flat[: PREVIEW - 1] + "…"


def _cell(text: str) -> str:
    """A table cell: its parts are already safe (``_line``), and ``|`` in them already escaped."""
    return text.replace("\n", " ")


def _line(text: Any) -> str:
    """Untrusted text as literal Markdown on one line."""
    return " ".join(literal(None if text is None else str(text)).split("\n"))


def _code(text: Any) -> str:
    """Short untrusted text (an id) as a code span; as literal text where a span cannot hold it."""
    text = "" if text is None else str(text)
    if not text or any(c in text for c in "`|\r\n"):
        return _line(text)
    return f"`{text}`"


def _quote(text: str) -> str:
    """A blockquote, made inert as a whole: a quote changes how the lines inside it are read."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return markdown("\n".join("> " + line if line else ">" for line in lines)) if text else ">"
