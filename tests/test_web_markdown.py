"""The page's Markdown renderer (``playground.web.markdown_view``) on its own: what it renders, that
generated hostile text never becomes markup that runs or loads, and that rendering a stream
prefix by prefix (the cached way, as the page redraws a lane) gives the HTML of the whole text."""

from __future__ import annotations

from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.testing.documents import output
from playground.web import lane_view
from playground.web.markdown_view import SCHEMES, answer_body, render

# the tags and attributes the renderer may write; anything else came from the text
TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "code", "em",
        "strong", "s", "a", "hr", "br", "table", "thead", "tbody", "tr", "th", "td", "span", "div"}
ATTRIBUTES = {("a", "href"), ("a", "title"), ("a", "target"), ("a", "rel"), ("code", "class"), ("span", "class"),
              ("ol", "start"), ("th", "style"), ("td", "style"), ("div", "class"), ("pre", "class")}


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def markup(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Markup()
    parser.feed(html)
    parser.close()
    return parser.tags


def assert_inert(html: str) -> None:
    for tag, attrs in markup(html):
        assert tag in TAGS, (tag, html)
        for name, value in attrs:
            assert (tag, name) in ATTRIBUTES, (tag, name, html)
            value = value or ""
            if name == "href":
                scheme = value.split(":", 1)[0].strip().lower() if ":" in value.split("/", 1)[0] else ""
                assert not scheme or scheme in SCHEMES, (value, html)
            if name == "style":
                assert value in ("text-align:left", "text-align:center", "text-align:right"), value
            if name == "class":  # the renderer's own names; a code block's language follows "language-", escaped
                assert value.startswith({"code": "language-", "span": "hl-"}.get(tag, "answer-")), value


HOSTILE = ["<img src=x onerror=alert(1)>", "<script>alert(2)</script>", "[x](javascript:alert(3))",
           "[x](JaVaScRiPt&#58;alert(4))", "[x](data:text/html;base64,PHNjcmlwdD4=)", "<javascript:alert(5)>",
           "![i](http://127.0.0.1:9/pixel.gif)", "[x](vbscript:msgbox)", '[t](http://a "x\\" onmouseover=alert(6)")',
           "```js\" onload=\"alert(7)\n<b>\n```", "&lt;b&gt;", "&#60;script&#62;", "<a href=javascript:x>a</a>",
           "[r]: javascript:alert(8)\n\n[r]", "| a | b |\n|---|--:|\n| <i> | `<b>` |", "<!-- c -->", "<?php ?>",
           "\\<img>", "`<img>`", "\0", "\r\n", "<https://ok.example/a?b=<c>>", "[ok](https://ok.example)",
           "[m](mailto:a@b.c)", "[rel](/x?y)", "[f](file:///etc/passwd)", "~~~python\nx = '<s>'\n~~~"]
PIECES = ["- ", "1. ", "2.", "2) ", "* ", "+ ", "> ", "```", "~~~", "```py\n", "    ", "  ", "\n", "\n\n",
          "[k]: http://k.example\n", "[k]", "[k][]", "# ", "## ", "|", "| --- |", "---", "===", "a", "b c", "`",
          "**", "_", "<", "&amp;", "\t", " ", "x\ny", "1", "\\", "[", "](", ")", "<b>", "\u2028", "\r", "\r\n"]
texts = st.lists(st.sampled_from(HOSTILE + PIECES) | st.text(max_size=8), max_size=40).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_generated_hostile_text_renders_to_no_markup_that_runs_or_loads(text: str) -> None:
    assert_inert(render(text))
    assert_inert(answer_body(text))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts, st.lists(st.integers(min_value=0, max_value=400), max_size=30))
def test_a_stream_rendered_prefix_by_prefix_is_the_whole_text_rendered(text: str, cuts: list[int]) -> None:
    """The cache of closed blocks (shared by every answer, as in the page) never shows a block other
    than the whole text's parse would: after every chunk, the same HTML as a render from scratch."""
    for end in sorted({min(c, len(text)) for c in cuts} | {len(text)}):
        assert render(text[:end]) == render(text[:end], cache=False), repr(text[:end])


def test_a_long_streamed_answer_keeps_its_closed_blocks() -> None:
    paragraphs = [f"Paragraph {k} with *some* `code` and a [link](https://example.com/{k})." for k in range(300)]
    text = "\n\n".join(paragraphs) + "\n\n1. one\n\n2"
    whole = render(text, cache=False)
    for end in range(0, len(text), 97):
        render(text[:end])
    assert render(text) == whole
    assert render(text + ". two\n") == render(text + ". two\n", cache=False)  # "2" became an item of the list


def test_code_tables_links_and_hostile_markup() -> None:
    html = render("# Title\n\n```python\ndef f():\n    return '<b>'\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
                  "Use `x < y` and **bold**, [ok](https://ok.example), [bad](javascript:alert(1)), "
                  "![pixel](http://127.0.0.1:9/p.gif) <img src=x onerror=alert(2)>\n")
    assert '<pre><code class="language-python"><span class="hl-k">def</span>' in html  # highlighted
    assert "&#x27;&lt;b&gt;&#x27;" in html or "&quot;&lt;b&gt;" in html or "'&lt;b&gt;'" in html
    assert "<table>" in html and "<th>a</th>" in html and "<td>2</td>" in html
    assert "<code>x &lt; y</code>" in html and "<strong>bold</strong>" in html
    assert '<a href="https://ok.example" target="_blank" rel="noopener noreferrer nofollow">ok</a>' in html
    assert "[bad](javascript:alert(1))" in html and "javascript:" not in html.replace("[bad](javascript:", "")
    assert "<img" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert '!<a href="http://127.0.0.1:9/p.gif"' in html  # an image is a link: the answer loads nothing
    assert "<pre><code>plain\n</code></pre>" in render("```\nplain\n```")  # no language: no guess
    assert '<code class="language-nosuchlanguage">x\n</code>' in render("```nosuchlanguage\nx\n```")


def test_the_answer_body_holds_the_raw_text_for_the_raw_view_and_the_copy_button() -> None:
    text = "\n**bold** <img src=x onerror=alert(1)>\r\n"
    body = answer_body(text)
    assert body.startswith('<div class="answer-md"><p><strong>bold</strong>')
    assert body.endswith('<pre class="answer-raw">\n\n**bold** &lt;img src=x onerror=alert(1)&gt;\r\n</pre>')
    assert answer_body("") == "" and lane_view.answer_html("") == ""
    assert lane_view.answer_html(text) == body
    earlier = lane_view.earlier_html([("q", output("test:echo", "| a |\n|---|\n| 1 |"))], "next")
    assert "<table>" in earlier and '<pre class="answer-raw">' in earlier


def test_a_judge_models_reasoning_is_rendered_too() -> None:
    from playground.web.blind_runs import OUTCOME_TEXT, judge_html
    from storage.document import Vote

    outcome = next(o for o in OUTCOME_TEXT if o != "best")
    html = judge_html(Vote.model_validate({
        "turn": 0, "lanes": [0, 1], "models": ["test:a", "test:b"], "outcome": outcome, "winner": None, "blind": False,
        "created_at": "2026-12-01T00:00:00Z",
        "judge": {"model": "m", "reasoning": "**A** wins <img src=x onerror=alert(1)>"}}))
    assert "<strong>A</strong> wins &lt;img" in html
    assert_inert(html.split('<div class="turn-a">', 1)[1])
