"""Token probabilities in the real page (issue 13, the page): Playwright on Debian's Chromium, the app
in-process with the real embedded SmolLM2 in llama.cpp beside the scripted ``test:`` model (which
streams a hostile token — an ``<img onerror>`` — with scripted probabilities). The Probabilities
switch shades every token of every lane while it streams, after a reload, from History and in a replay;
hovering or focusing a token shows its alternatives, Esc closes it; score mode shows the text
shaded with its likelihood figures; a token's HTML is text; a bad top-K is one line; axe finds
nothing serious or critical and the console stays clean; the bytes sent per token stay bounded.

Screenshots at 1400×900 and 390×844 go to ``$PLAYGROUND_SCREENSHOTS`` when it is set."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from playground.testing.browser import EVENT_STREAM_TAP
from playground.testing.page import served_page

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
axe_api = pytest.importorskip("axe_playwright_python.sync_playwright")
expect = playwright_api.expect
WAIT = 60_000  # ms: SmolLM2 loading beside the browser on a loaded 2-core machine
LOCAL = "gguf:smollm2"
HOSTILE_TEXT = '<img src=x onerror="window.__pwned=1">'
HOSTILE = f"test:chunks=6&delay_ms=150&text={HOSTILE_TEXT}{{i}} "
TOML = "[defaults]\ntemperature = 0\nmax_tokens = 8\nseed = 1\n"
SHOTS = os.environ.get("PLAYGROUND_SCREENSHOTS")


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with served_page(tmp_path_factory.mktemp("logprobs-home"), [LOCAL, HOSTILE], key="sk-test-lp-0123456789",
                     toml=TOML) as served:
        yield served


def open_page(browser: Any, url: str, width: int = 1400, height: int = 900, last: int = 1) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.add_init_script(EVENT_STREAM_TAP)
    page.goto(url)
    expect(page.locator(f"#lane-{last}")).to_be_visible(timeout=WAIT)
    return page


@pytest.fixture
def page(browser: Any, web: SimpleNamespace) -> Iterator[Any]:
    pg = open_page(browser, web.url)
    yield pg
    pg.context.close()


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.locator("#lane-0").scroll_into_view_if_needed()
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def probabilities(page: Any, top_k: int | str = 3, mode: str = "Chat") -> None:
    page.locator("#probs input").check()
    box = page.locator("#top-k input")
    expect(box).to_be_enabled()
    box.fill(str(top_k))
    page.locator("#mode").get_by_label(mode).check()


def run(page: Any, prompt: str) -> None:
    page.locator("#prompt textarea").fill(prompt)
    page.locator("#run").click()
    for lane in (0, 1):
        expect(page.locator(f"#stats-{lane} .badge")).to_have_text(re.compile("done|error"), timeout=WAIT)
    expect(page.locator("#run")).to_be_enabled(timeout=WAIT)


def tip(page: Any, token: Any) -> str:
    """What a token's tip shows (the ``::after`` drawn on hover or focus), "" when none is drawn."""
    css = token.evaluate("(el) => { const s = getComputedStyle(el, '::after');"
                         " return s.display === 'none' || s.content === 'none' ? '' : s.content; }")
    # a CSS string as computed: quoted, a newline written "\a ", quotes and backslashes escaped
    return re.sub(r'\\(a ?|.)', lambda m: "\n" if m.group(1).startswith("a") else m.group(1), css[1:-1])


def shaded_everywhere(page: Any) -> None:
    """Both lanes shaded: one span per token (as many as the lane's recorded tokens), a legend, the
    figures line with mean log-probability, perplexity and the kind."""
    for lane in (0, 1):
        answer = page.locator(f"#lane-{lane}")
        expect(answer.locator(".tk-legend")).to_be_visible()
        expect(answer.locator(".tk").first).to_be_visible()
        assert answer.locator(".answer-md").count() == 0  # the shaded view replaces the Markdown
        stats = page.locator(f"#stats-{lane}")
        expect(stats.locator("[data-figure=logprob_mean]")).to_contain_text("mean logprob")
        expect(stats.locator("[data-figure=perplexity]")).to_be_visible()
        expect(stats.locator(".prob-kind")).to_contain_text("raw probabilities")


def test_probabilities_shade_every_lane_live_and_after_reload_and_history(page: Any, browser: Any,
                                                                        web: SimpleNamespace) -> None:
    probabilities(page, 3)
    run(page, "Name a colour.")
    shaded_everywhere(page)
    doc = web.ctx.store.get_session(re.search(r"session=(\w+)", page.url).group(1))
    outputs = doc["turns"][-1]["outputs"]
    for lane, out in enumerate(outputs):
        assert out["params"]["logprobs"] == 3 and out["logprobs"]["kind"] == "raw"
        assert page.locator(f"#lane-{lane} .tk").count() == len(out["tokens"]) > 0
    # live: the page got the shaded spans in several updates, as appends of the new tokens
    sse = page.evaluate("window.__sse.join('')")
    updates = [m for m in sse.split("\n") if 'class=\\"tk p' in m]
    assert len(updates) >= 3, len(updates)
    assert any('"append"' in m for m in updates)
    shot(page, "probs-1400")
    # after a reload (the address names the session) and opened from History: shaded as it was
    page.reload()
    expect(page.locator("#lane-1 .tk").first).to_be_visible(timeout=WAIT)
    shaded_everywhere(page)
    expect(page.locator("#probs input")).to_be_checked()  # the controls follow the session shown
    expect(page.locator("#top-k input")).to_have_value("3")
    page.locator("#new-session").click()
    page.get_by_role("tab", name="History").click()
    page.locator("#history").get_by_role("gridcell", name=re.compile("Name a colour")).first.click()
    expect(page.locator("#lane-0 .tk").first).to_be_visible(timeout=WAIT)
    shaded_everywhere(page)
    # a replay streams the stored tokens back, shaded as they come
    page.locator("#speed").get_by_label("10×").check()
    page.locator("#replay").click()
    expect(page.locator("#notice")).to_contain_text("replayed", timeout=WAIT)
    for lane, out in enumerate(outputs):
        expect(page.locator(f"#lane-{lane} .tk")).to_have_count(len(out["tokens"]))
    shaded_everywhere(page)
    assert page.errors == []


def test_a_token_shows_its_alternatives_on_hover_and_focus(page: Any, browser: Any, web: SimpleNamespace) -> None:
    probabilities(page, 3)
    run(page, "Name a fruit.")
    token = page.locator("#lane-0 .tk").nth(1)
    assert tip(page, token) == ""
    token.hover()
    shown = tip(page, token)
    assert "top 3 alternatives" in shown and "▸" in shown and "%" in shown, shown
    shot(page, "tip-hover-1400")
    # the keyboard: a token is in the tab order, focus shows its tip, Esc closes it and stops nothing
    page.mouse.move(5, 5)
    other = page.locator("#lane-1 .tk").nth(2)
    other.focus()
    expect(other).to_be_focused()
    assert "top 3 alternatives" in tip(page, other)
    assert other.get_attribute("tabindex") == "0"
    page.keyboard.press("Escape")
    assert tip(page, other) == ""
    expect(page.locator("#notice")).not_to_contain_text("stopped")
    phone = open_page(browser, page.url, 390, 844)
    try:
        expect(phone.locator("#lane-0 .tk").first).to_be_visible(timeout=WAIT)
        tapped = phone.locator("#lane-0 .tk").nth(1)
        tapped.scroll_into_view_if_needed()
        tapped.click()  # a tap focuses the token: its tip shows
        assert "alternatives" in tip(phone, tapped)
        shot(phone, "tip-tap-390")
    finally:
        phone.context.close()


def test_score_mode_shows_the_text_shaded_with_its_figures(page: Any) -> None:
    probabilities(page, 2, mode="Score")
    sentence = "The cat sat on the mat."
    run(page, sentence)
    answer = page.locator("#lane-0")
    expect(answer.locator(".tk-view")).to_have_text(sentence)  # the text itself, once, shaded
    assert answer.locator(".tk").count() >= 5
    stats = page.locator("#stats-0")
    for figure in ("logprob_sum", "logprob_mean", "perplexity", "bits_per_char", "bits_per_byte"):
        expect(stats.locator(f"[data-figure={figure}]")).to_be_visible()
    expect(stats).to_contain_text("not comparable across tokenizers")
    expect(page.locator("#stats-1 .lane-error")).to_contain_text("score mode not offered")  # that lane only
    shot(page, "score-1400")


def test_a_hostile_token_is_shown_as_text(page: Any) -> None:
    probabilities(page, 2)
    run(page, "Say it.")
    lane = page.locator("#lane-1")
    expect(lane.locator(".tk").first).to_have_text(HOSTILE_TEXT + "0 ")
    assert lane.locator("img").count() == 0
    assert page.evaluate("window.__pwned") is None
    token = lane.locator(".tk").first
    token.hover()
    assert HOSTILE_TEXT in tip(page, token)  # the alternatives too: text in a tip, never markup
    assert page.evaluate("window.__pwned") is None


def test_a_bad_top_k_is_one_line_and_the_page_stays_usable(page: Any) -> None:
    probabilities(page, 25)
    page.locator("#prompt textarea").fill("Name a colour.")
    page.locator("#run").click()
    expect(page.get_by_text(re.compile("top-K must be a whole number from 0 to 20"))).to_be_visible(timeout=WAIT)
    expect(page.locator("#run")).to_be_enabled()
    page.locator("#top-k input").fill("2")
    run(page, "Name a colour.")
    expect(page.locator("#lane-0 .tk").first).to_be_visible()


def serious(page: Any) -> list[str]:
    found = axe_api.Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}"
            for v in found if v["impact"] in ("serious", "critical")]


def test_axe_and_the_console_with_probabilities(page: Any, browser: Any) -> None:
    probabilities(page, 3)
    run(page, "Name a colour.")
    assert serious(page) == [], "shaded lanes at 1400×900"
    page.locator("#lane-0 .tk").first.focus()
    assert serious(page) == [], "a tip shown"
    phone = open_page(browser, page.url, 390, 844)
    try:
        expect(phone.locator("#lane-1 .tk").first).to_be_visible(timeout=WAIT)
        assert serious(phone) == [], "shaded lanes at 390×844"
        shot(phone, "probs-390")
        assert phone.errors == []
    finally:
        phone.context.close()
    assert page.errors == []


def test_the_bytes_sent_per_token_stay_bounded(browser: Any, tmp_path: Path) -> None:
    """300 tokens with 5 alternatives each: the page gets each token's span once (an append), not
    the whole shaded answer at every update."""
    long = "test:chunks=300&delay_ms=4&text=word{i} "
    with served_page(tmp_path, [long], key="sk-test-lp-bytes-0123456789",
                     toml="[defaults]\nmax_tokens = 1000\n") as served:
        pg = open_page(browser, served.url, last=0)
        try:
            expect(pg.locator("#lane-0")).to_be_visible()
            pg.locator("#probs input").check()
            pg.locator("#top-k input").fill("5")
            before = pg.evaluate("window.__sseBytes")
            pg.locator("#prompt textarea").fill("Go.")
            pg.locator("#run").click()
            expect(pg.locator("#stats-0 .badge")).to_have_text("done", timeout=WAIT)
            expect(pg.locator("#lane-0 .tk")).to_have_count(300)
            sent = pg.evaluate("window.__sseBytes") - before
            html = pg.locator("#lane-0").inner_html()
            per_token = sent / 300
            print(json.dumps({"bytes_per_token": round(per_token), "html_bytes_per_token": round(len(html) / 300)}))
            # Each token's span goes once as an append, and Gradio's "completed" message carries the whole
            # answer once more; the rest is the figures under the lane, once per update (~25 updates).
            # Resent whole at every update, the answer alone would be ~12× its size here.
            assert sent < 5 * len(html), (sent, len(html))
            assert per_token < 1500, per_token
        finally:
            pg.context.close()
