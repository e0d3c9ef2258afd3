"""Answers rendered as Markdown in the HTML export (storage/html.py, storage/rendered.py), as the
page renders them and as safely: the file opened from disk in a real Chromium, offline."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from playground.web.markdown_view import render
from storage.html import answers_html, embedded_document, to_html

MARKDOWN = ("# Steps\n\nUse **bold** and `code`:\n\n```python\ndef f(x):\n    return x < 2\n```\n\n"
            "| a | b |\n| --- | --- |\n| 1 | 2 |\n\n"
            "<img src=x onerror=\"window.__pwned.push('img')\"> and [click](javascript:window.__pwned.push('link'))\n")
PLAIN = "Just one plain sentence, nothing to render."


def _doc() -> dict[str, Any]:
    def out(model: str, text: str) -> dict[str, Any]:
        return {"model": model, "label": None, "params": {}, "text": text, "status": "ok", "error": None,
                "finish_reason": "stop", "metrics": {"ttft_ms": 10.0, "total_ms": 60.0}, "server_metrics": {},
                "timeline": [[10.0 + 5 * k, 40] for k in range(-(-len(text) // 40))]}
    return {"schema": "playground.session/1", "id": "01J0000000000000000000MDEX", "title": "markdown",
            "created_at": "2026-01-02T03:04:05.000Z", "system": None,
            "turns": [{"prompt": "Explain.", "created_at": "2026-01-02T03:04:05.000Z",
                       "outputs": [out("openai:md", MARKDOWN), out("openai:plain", PLAIN)]}]}


def test_an_answer_is_rendered_by_the_pages_renderer_into_the_file_and_reads_back() -> None:
    doc = _doc()
    page = to_html(doc)
    rendered = answers_html(doc)
    assert f'<div class="answer-md" data-turn="0" data-lane="0">{render(MARKDOWN)}</div>' in rendered
    assert rendered in page
    assert 'data-lane="1"' not in rendered  # a plain paragraph is not repeated
    assert "<pre><code class=\"language-python\">" in rendered and "<table>" in rendered
    assert "<img" not in rendered and "javascript:" not in re.findall(r'href="([^"]*)"', rendered)
    assert json.loads(embedded_document(page)) == doc  # the import still finds the document


@pytest.mark.browser
def test_the_file_shows_rendered_answers_and_nothing_planted_runs(browser: Any, tmp_path: Path) -> None:
    path = tmp_path / "markdown.html"
    path.write_text(to_html(_doc()), encoding="utf-8")
    context = browser.new_context(offline=True, viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.add_init_script("window.__pwned = [];")
        page.goto(path.as_uri())
        lane = page.locator("#turn-0 article.lane[data-lane='0']")
        code = lane.locator(".answer-md pre code")
        code.wait_for(state="visible", timeout=10_000)  # the file's script moves it into its lane
        assert "return x < 2" in code.text_content()
        assert code.evaluate("e => getComputedStyle(e).fontFamily").startswith("ui-monospace")
        assert lane.locator(".answer-md h1").text_content() == "Steps"
        assert lane.locator(".answer-md strong").text_content() == "bold"
        assert lane.locator(".answer-md table td").count() == 2
        assert not lane.locator(".answer-raw").is_visible()  # the text as written: under the rendered view
        assert page.locator("#turn-0 article.lane[data-lane='1'] .answer-raw").text_content() == PLAIN
        page.locator("#turn-0 button.replay").click()  # a replay streams the text, then renders it again
        page.wait_for_function("document.querySelector('#turn-0 button.replay').textContent.includes('Replay')")
        code.wait_for(state="visible", timeout=10_000)
        assert lane.locator(".answer-md a").count() == 0  # the javascript: link stays text
        page.wait_for_timeout(200)
        assert page.evaluate("window.__pwned") == [] and page.locator("img").count() == 0 and problems == []
    finally:
        context.close()
