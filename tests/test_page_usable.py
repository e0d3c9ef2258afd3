"""The page stays usable and accessible (issue 12, capabilities 1, 11 and 12), in a real Chromium
against the app launched in-process with a real scripted OpenAI-protocol server behind two lanes:

- a refused action (an empty prompt, a temperature of ``abc``, an empty battle pool, a replay of a
  hidden blind session) shows one message and leaves Run enabled and Stop disabled, and the next
  Run works; Replay, Re-run and the exports are disabled until there is a session;
- Esc stops a run; the prompt is named "Prompt", a chip's remove button names its model, the
  shortcut shown is the platform's, focus is visible;
- at 390×844 the lanes wrap (none narrower than 280 px); a 10,000-character prompt scrolls inside
  its box and Run stays in view;
- axe-core (its own copy, shipped in axe-playwright-python) finds no serious or critical violation
  on Compare before and after a run, on History, and at phone size; the console stays free of
  errors across runs, tab changes and New session.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from playground.testing.frames import Reply
from playground.testing.page import served_page

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
axe_api = pytest.importorskip("axe_playwright_python.sync_playwright")
expect = playwright_api.expect
LOAD = 30_000  # ms: the page's first render on a loaded 2-core machine


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with served_page(tmp_path_factory.mktemp("usable-home"), ["openai:a", "openai:b"],
                     key="sk-test-usable-0123456789",
                     toml="[defaults]\ntemperature = 0\nmax_tokens = 12\nseed = 1\n") as served:
        yield served


def open_page(browser: Any, web: SimpleNamespace, width: int = 1400, height: int = 900) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    web.server.reset()
    page.goto(web.url)
    expect(page.locator("#lane-1")).to_be_visible(timeout=LOAD)
    return page


@pytest.fixture
def page(browser: Any, web: SimpleNamespace) -> Iterator[Any]:
    pg = open_page(browser, web)
    yield pg
    pg.context.close()


def prompt_box(page: Any) -> Any:
    return page.locator("#prompt textarea")


def run_ok(page: Any, prompt: str = "Say hello.") -> None:
    """A Run that works: both lanes end "done" and the buttons are back."""
    prompt_box(page).fill(prompt)
    page.locator("#run").click()
    for i in (0, 1):
        expect(page.locator(f"#stats-{i}")).to_contain_text("done", timeout=20_000)
    expect(page.locator("#lane-1")).to_contain_text("Hello, world!")
    idle(page)


def idle(page: Any) -> None:
    expect(page.locator("#run")).to_be_enabled(timeout=10_000)
    expect(page.locator("#stop")).to_be_disabled()


def refused(page: Any, kind: str, said: str) -> None:
    """One toast of ``kind`` ("error", "info") saying ``said``; then the page is usable again."""
    toast = page.locator(f".toast-body.{kind}")
    expect(toast).to_have_count(1, timeout=10_000)
    expect(toast).to_contain_text(said)
    if kind != "error":
        expect(page.locator(".toast-body.error")).to_have_count(0)
    idle(page)
    page.locator(".toast-body .toast-close").first.click()
    expect(toast).to_have_count(0)


def test_each_refused_action_leaves_run_usable_then_a_run_works(page: Any, web: SimpleNamespace) -> None:
    # nothing to act on yet: Replay, Re-run and the exports say so by being disabled
    for button in ("#replay", "#rerun", "#export-json", "#export-md", "#export-html"):
        expect(page.locator(button)).to_be_disabled()

    prompt_box(page).fill("")
    page.locator("#run").click()
    refused(page, "error", "empty prompt")

    page.locator("#temperature textarea, #temperature input").first.fill("abc")
    prompt_box(page).fill("Say hello.")
    prompt_box(page).press("Control+Enter")  # the shortcut too
    refused(page, "error", "temperature must be a number")
    page.locator("#temperature textarea, #temperature input").first.fill("0")

    page.locator("#battle input").check()  # a battle with an empty pool
    expect(page.locator("#pool")).to_be_visible()
    expect(page.locator("#head-0")).to_contain_text("Model A")  # the lanes re-rendered: Run is wired again
    page.locator("#run").click()
    refused(page, "error", "pool")
    page.locator("#battle input").uncheck()
    page.locator("#blind input").uncheck()
    # the named lanes are back (not the blind ones still on screen while the page re-renders: a click
    # on those reaches events the re-render has just replaced, and is lost — a known gap, see issue 12)
    expect(page.locator("#head-1")).to_contain_text("openai:b")

    run_ok(page)
    for button in ("#replay", "#rerun", "#export-json", "#export-md"):
        expect(page.locator(button)).to_be_enabled()


def test_a_replay_of_a_hidden_blind_session_is_a_notice_not_an_error(page: Any, web: SimpleNamespace) -> None:
    page.locator("#blind input").check()
    expect(page.locator("#head-0")).to_contain_text("Model A")
    run_ok(page, "Say hello, blindly.")
    page.locator("#replay").click()  # it would name the models: refused, but not an error
    refused(page, "info", "vote first")
    page.locator("#blind input").uncheck()
    expect(page.locator("#head-0")).to_contain_text("openai:a")
    run_ok(page)


def test_esc_stops_a_run(page: Any, web: SimpleNamespace) -> None:
    web.server.default = Reply(chunks=["tick "] * 400, delay=0.05)  # 20 s unless stopped
    prompt_box(page).fill("Count forever.")
    page.locator("#run").click()
    expect(page.locator("#lane-0")).to_contain_text("tick tick", timeout=10_000)
    expect(page.locator("#stop")).to_be_enabled()
    page.keyboard.press("Escape")
    for i in (0, 1):
        expect(page.locator(f"#stats-{i}")).to_contain_text("cancelled", timeout=5_000)
    idle(page)


def test_controls_are_labelled_and_focus_is_visible(page: Any) -> None:
    expect(page.get_by_role("textbox", name="Prompt", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Remove openai:a", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Remove openai:b", exact=True)).to_be_visible()
    glyph = page.evaluate("getComputedStyle(document.querySelector('#run'), '::after').content")
    assert glyph == '"Ctrl+↵"'  # Chromium on Linux: not ⌘
    assert page.locator("#run").get_attribute("aria-keyshortcuts") == "Control+Enter"
    prompt_box(page).focus()
    outline = page.evaluate("(() => { const s = getComputedStyle(document.querySelector('#prompt textarea'));"
                            " return [s.outlineStyle, s.outlineWidth]; })()")
    assert outline[0] != "none" and outline[1] != "0px"


def test_phone_lanes_wrap_one_a_row_none_narrower_than_280(browser: Any, web: SimpleNamespace) -> None:
    page = open_page(browser, web, 390, 844)
    try:
        boxes = [page.locator(f"#lane-{i}").locator("xpath=ancestor::div[contains(@class,'lane ')][1]")
                 .bounding_box() for i in (0, 1)]
        assert all(b["width"] >= 280 for b in boxes), boxes
        assert boxes[1]["y"] >= boxes[0]["y"] + boxes[0]["height"]  # one lane a row
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        run_ok(page)
        assert not page.errors
    finally:
        page.context.close()


def test_a_long_prompt_scrolls_inside_its_box_and_run_stays_in_view(page: Any) -> None:
    prompt_box(page).fill(" ".join(["espresso"] * 1111))  # ~10,000 characters
    time.sleep(0.3)  # the box's own resize
    box = prompt_box(page).bounding_box()
    assert box["height"] <= 260, box
    assert page.evaluate("(() => { const t = document.querySelector('#prompt textarea');"
                         " return t.scrollHeight > t.clientHeight; })()")
    run = page.locator("#run").bounding_box()
    assert 0 <= run["y"] and run["y"] + run["height"] <= 900, run  # in view, no scrolling
    expect(page.locator("#run")).to_be_in_viewport()


def serious(page: Any) -> list[str]:
    found = axe_api.Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}"
            for v in found if v["impact"] in ("serious", "critical")]


def test_axe_finds_no_serious_violation(browser: Any, web: SimpleNamespace, page: Any) -> None:
    assert serious(page) == [], "Compare, before a run"
    run_ok(page)
    assert serious(page) == [], "Compare, after a run"
    page.get_by_role("tab", name="History").click()
    expect(page.locator("#history")).to_contain_text("Say hello.")
    assert serious(page) == [], "History"
    phone = open_page(browser, web, 390, 844)
    try:
        assert serious(phone) == [], "phone, before a run"
        run_ok(phone)
        assert serious(phone) == [], "phone, after a run"
    finally:
        phone.context.close()


def test_the_console_stays_free_of_errors_across_runs(page: Any) -> None:
    run_ok(page)
    page.get_by_role("tab", name="History").click()
    expect(page.locator("#history")).to_contain_text("Say hello.")
    page.get_by_role("tab", name="Compare").click()
    page.locator("#new-session").click()
    expect(page.locator("#notice")).to_contain_text("new session")
    page.locator("#models .token", has_text="openai:a").locator(".token-remove").click()
    expect(page.locator("#lane-1")).to_have_count(0)
    run_ok_one = re.compile("Hello, world!")
    prompt_box(page).fill("Once more.")
    page.locator("#run").click()
    expect(page.locator("#lane-0")).to_contain_text(run_ok_one, timeout=20_000)
    idle(page)
    time.sleep(0.5)  # a late ResizeObserver callback
    assert page.errors == []
