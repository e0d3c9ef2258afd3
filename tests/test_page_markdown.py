"""Answers rendered as Markdown in the real page (Playwright on Debian's Chromium, the app
in-process, an OpenAI-protocol scripted server streaming a Markdown answer): code blocks, tables
and lists while the answer streams, after it ends, in the earlier turns and in a replay; planted
markup that never runs; the lane's "raw" toggle and its copy button, both from the keyboard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from playground.testing.frames import Reply
from playground.testing.page import served_page

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
WAIT = 30_000  # ms: a page on a shared 2-core machine
MODEL = "openai:scripted"

HEAD = ("## Plan\n\nHere is **the code**:\n\n```python\ndef add(a, b):\n    return a + b  # <b>sum</b>\n```\n\n"
        "| model | tok/s |\n| --- | ---: |\n| small | 88 |\n\n")
# each tries to set a flag on the page's window: the flag staying unset is the proof nothing ran
PLANTED = ("<img src=x onerror=\"window.__pwned = 'img'\"> and "
           "[click me](javascript:window.__pwned='link') and <script>window.__pwned = 'script'</script>\n\n")
TAIL = "- first\n- second with `inline`\n"
ANSWER = HEAD + PLANTED + TAIL


def chunks(text: str, size: int = 7) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with served_page(tmp_path_factory.mktemp("page-markdown-home"), [MODEL],
                     key="sk-test-md-0123456789") as served:
        yield served


@pytest.fixture
def page(browser: object, web: SimpleNamespace) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  permissions=["clipboard-read", "clipboard-write"])
    pg = context.new_page()
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    web.server.reset()
    pg.goto(web.url)
    expect(pg.locator("#lane-0")).to_be_visible(timeout=WAIT)
    yield pg
    context.close()


def run(page: object, prompt: str) -> None:
    page.locator("#prompt textarea").fill(prompt)
    page.locator("#run").click()


def assert_rendered(lane: object) -> None:
    code = lane.locator(".answer-md pre > code.language-python")
    expect(code).to_be_visible(timeout=WAIT)
    expect(code).to_contain_text("def add(a, b):")
    expect(code).to_have_css("font-family", re.compile("monospace"))
    expect(code.locator("span.hl-k").first).to_have_text("def")  # highlighted on the server
    expect(code).to_contain_text("# <b>sum</b>")  # code shows markup as text
    expect(lane.locator(".answer-md table th").first).to_have_text("model", timeout=WAIT)
    expect(lane.locator(".answer-md h2")).to_have_text("Plan")
    expect(lane.locator(".answer-md strong")).to_have_text("the code")


def assert_inert(page: object, lane: object) -> None:
    expect(lane.locator(".answer-md")).to_contain_text("[click me](javascript:window.__pwned='link')")
    assert lane.locator("img, script").count() == 0
    assert lane.locator("a[href*='javascript' i]").count() == 0
    lane.locator(".answer-md").get_by_text("click me", exact=False).click()  # were it a link, this would run it
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == []


def test_a_markdown_answer_is_rendered_while_streaming_after_in_earlier_turns_and_in_replay(page, web) -> None:
    # the stream pauses after the code block and the table: what is on the page then is mid-stream
    web.server.default = Reply(chunks=chunks(ANSWER), delay=0.01, stall_after=len(chunks(HEAD)), stall=4.0)
    run(page, "Show me some code and a table")
    lane = page.locator("#lane-0")
    expect(page.locator("#stats-0")).to_contain_text("streaming", timeout=WAIT)
    assert_rendered(lane)
    expect(page.locator("#stats-0")).to_contain_text("streaming")  # still the stream's pause
    expect(lane.locator(".answer-md li").nth(1)).to_have_text("second with inline", timeout=WAIT)
    expect(page.locator("#stats-0")).to_contain_text("done", timeout=WAIT)
    assert_rendered(lane)
    expect(lane.locator(".answer-md li code")).to_have_text("inline")
    assert_inert(page, lane)

    # a follow-up: the first answer goes to the lane's earlier turns, rendered there too
    web.server.default = Reply(chunks=["Second answer: *fine*."])
    run(page, "And again")
    expect(page.locator("#stats-0")).to_contain_text("done", timeout=WAIT)
    expect(lane.locator(".answer-md em")).to_have_text("fine")
    earlier = page.locator("#earlier-0")
    earlier.locator("summary").first.click()
    expect(earlier.locator(".turn-a .answer-md pre > code.language-python")).to_contain_text("return a + b")
    expect(earlier.locator(".turn-a .answer-md table td").first).to_have_text("small")
    assert earlier.locator("img, script, a[href*='javascript' i]").count() == 0


def test_raw_toggle_and_copy_by_keyboard_then_a_replay_renders_as_it_goes(page, web) -> None:
    web.server.default = Reply(chunks=chunks(ANSWER), stall_after=len(chunks(HEAD)), stall=3.0)
    run(page, "Show me some code and a table")
    lane = page.locator("#lane-0")
    expect(page.locator("#stats-0")).to_contain_text("done", timeout=WAIT)
    assert_rendered(lane)

    raw = page.locator("#head-0").get_by_role("button", name="raw")
    raw.focus()
    page.keyboard.press("Enter")
    expect(raw).to_have_attribute("aria-pressed", "true")
    expect(lane.locator(".answer-raw")).to_be_visible()
    expect(lane.locator(".answer-md")).to_be_hidden()
    assert lane.locator(".answer-raw").evaluate("e => e.textContent") == ANSWER
    expect(lane.locator(".answer-raw")).to_have_css("font-family", re.compile("monospace"))
    raw.press("Space")
    expect(lane.locator(".answer-md pre > code")).to_be_visible()
    expect(lane.locator(".answer-raw")).to_be_hidden()

    copy = page.get_by_role("button", name=f"Copy answer of {MODEL}")
    page.evaluate("navigator.clipboard.writeText('nothing yet')")
    copy.focus()
    page.keyboard.press("Enter")
    expect(copy).to_have_text("copied")
    assert page.evaluate("navigator.clipboard.readText()") == ANSWER  # the text as written, not the rendered one

    # a replay at 1× keeps the stream's pause after the table: rendered while it replays
    page.locator("#speed").get_by_text("1×").click()
    page.locator("#replay").click()
    expect(page.locator("#stats-0")).to_contain_text("replaying", timeout=WAIT)
    expect(lane.locator(".answer-md table")).to_be_visible(timeout=WAIT)
    expect(page.locator("#stats-0")).to_contain_text("replaying")
    assert lane.locator(".answer-md li").count() == 0  # the list after the pause is not there yet
    assert_rendered(lane)
    expect(page.locator("#stats-0")).to_contain_text("done", timeout=WAIT)
    expect(lane.locator(".answer-md li")).to_have_count(2)
    assert_inert(page, lane)
