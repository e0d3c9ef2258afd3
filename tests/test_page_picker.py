"""The model picker and provider messages in a real Chromium, against the app launched in-process and
an OpenAI-compatible scripted server set as OPENAI_BASE_URL: the models that server lists are
offered (and asked for again on refresh), a 9th model is refused in words, a lane that another
model answered says so, a Run clicked before the lanes are drawn still runs, and an empty prompt
is explained in the page's words."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from playground.testing import free_port
from playground.testing.frames import Reply
from playground.testing.page import served_page

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with served_page(tmp_path_factory.mktemp("picker-home"), ["openai:scripted"],
                     key="sk-test-picker-0123456789", toml="[defaults]\nmax_tokens = 12\n",
                     env={"OLLAMA_HOST": f"127.0.0.1:{free_port()}"},
                     listed=["listed-model", "listed-other"]) as served:
        yield served


@pytest.fixture
def page(browser: object, web: SimpleNamespace) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    web.server.reset()
    yield pg
    context.close()


def opened(page: object, web: SimpleNamespace) -> object:
    page.goto(web.url)
    expect(page.locator("#lane-0")).to_be_visible(timeout=30_000)
    return page


def offered(page: object) -> list[str]:
    """The picker's options, as its list shows them when opened."""
    page.locator("#models input").click()
    options = page.locator("ul[role='listbox'] li")
    try:
        options.first.wait_for(timeout=3_000)
    except playwright_api.TimeoutError:
        return []  # not open yet (the picker is being updated): the caller asks again
    names = [t.strip() for t in options.all_inner_texts()]
    page.keyboard.press("Escape")
    page.locator("#prompt textarea").click()  # away from the picker: the next click opens it again
    return names


def add_model(page: object, model: str) -> None:
    page.locator("#models input").fill(model)
    page.locator("#models input").press("Enter")


def test_the_picker_offers_what_the_provider_lists_and_refresh_asks_again(page, web) -> None:
    opened(page, web)
    expect(page.locator("#models input")).to_be_enabled()
    deadline = time.monotonic() + 20
    while "openai:listed-model" not in offered(page) and time.monotonic() < deadline:
        time.sleep(0.3)  # the lists arrive after the page is up
    assert {"openai:listed-model", "openai:listed-other"} <= set(offered(page))
    web.server.models = ["listed-later"]
    page.locator("#refresh-models").click()
    deadline = time.monotonic() + 20
    while "openai:listed-later" not in offered(page) and time.monotonic() < deadline:
        time.sleep(0.3)
    names = offered(page)
    assert "openai:listed-later" in names and "openai:listed-model" not in names
    assert any(r.path == "/v1/models" for r in web.server.requests)
    expect(page.locator("#models-note")).not_to_contain_text("could not list")


def test_a_ninth_model_is_refused_in_words(page, web) -> None:
    opened(page, web)
    for k in range(1, 8):
        add_model(page, f"test:chunks={k}")
    expect(page.locator("#models .token")).to_have_count(8)
    expect(page.locator("#models-note")).to_have_text("")
    add_model(page, "test:chunks=9")
    expect(page.locator("#models-note")).to_contain_text("at most 8 models at once: test:chunks=9 left out")
    expect(page.locator("#models .token")).to_have_count(8)
    expect(page.locator("#models .token", has_text="test:chunks=9")).to_have_count(0)


def test_a_lane_says_which_model_answered(page, web) -> None:
    web.server.by_model["nope"] = Reply(answer_model="listed-model")
    opened(page, web)
    page.locator("#models .token", has_text="openai:scripted").locator(".token-remove").click()
    add_model(page, "openai:nope")
    expect(page.locator("#head-0")).to_contain_text("openai:nope")
    page.locator("#prompt textarea").fill("Who are you?")
    page.locator("#run").click()
    expect(page.locator("#stats-0")).to_contain_text("done", timeout=20_000)
    expect(page.locator("#stats-0 .answered-by")).to_have_text("answered by listed-model")


def test_a_run_clicked_before_the_lanes_are_drawn_is_not_lost(page, web) -> None:
    held: list = []  # the page's first events (the lanes' drawing among them) wait until released
    released = False

    def hold(route: object) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route("**/queue/join*", hold)
    page.goto(web.url, wait_until="domcontentloaded")
    expect(page.locator("#run")).to_be_visible(timeout=30_000)
    assert page.locator("#lane-0").count() == 0  # Run is there, its lanes (and their events) are not
    page.evaluate("""() => { const t = document.querySelector('#prompt textarea');
                             t.value = 'early'; t.dispatchEvent(new Event('input', {bubbles: true}));
                             document.querySelector('#run').click(); }""")
    released = True
    for route in held:
        route.continue_()
    expect(page.locator("#lane-0")).to_contain_text("Hello, world!", timeout=30_000)
    assert [r.body["messages"][-1]["content"] for r in web.server.requests if r.path.endswith("/completions")] \
        == ["early"]


def test_an_empty_prompt_is_explained_in_page_words(page, web) -> None:
    opened(page, web)
    page.locator("#run").click()
    toast = page.locator("[data-testid='toast-body']").filter(has_text="empty prompt")
    expect(toast).to_be_visible(timeout=10_000)
    assert "standard input" not in toast.inner_text() and "prompt box" in toast.inner_text()
