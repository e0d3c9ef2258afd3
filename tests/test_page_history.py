"""Each model's own conversation, on the page (Chromium, the app in-process, a scripted
OpenAI-compatible server on 127.0.0.1 whose received requests are checked): removing a chip
between turns, adding a model with "new models see answers of", and reopening a session whose
later turns changed its lanes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from playground.testing import ScriptedServer
from playground.testing.frames import Reply
from playground.testing.page import served_page

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
ANSWERS = {"alpha": "Alpha says red.", "beta": "Beta says blue.", "gamma": "Gamma says green."}


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with served_page(tmp_path_factory.mktemp("page-history-home"), ["openai:alpha", "openai:beta"],
                     key="sk-test-web-0123456789") as served:
        yield served


@pytest.fixture
def page(browser: Any, web: SimpleNamespace) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    web.server.reset()
    for model, text in ANSWERS.items():
        web.server.by_model[model] = Reply(chunks=[text[:6], text[6:]])
    pg.goto(web.url)
    expect(pg.locator("#lane-1")).to_be_visible(timeout=30_000)  # the lanes (and their events) are rendered
    yield pg
    context.close()


def run(page: Any, prompt: str, lanes: int) -> None:
    page.locator("#prompt textarea").fill(prompt)
    page.locator("#run").click()
    for i in range(lanes):  # the run's first frame puts the prompt over every lane's answer, "done" comes after
        expect(page.locator(f"#earlier-{i}")).to_contain_text(f"› {prompt}", timeout=15_000)
    for i in range(lanes):
        expect(page.locator(f"#stats-{i}")).to_contain_text("done", timeout=15_000)
    expect(page.locator("#notice")).to_contain_text("saved")


def received(server: ScriptedServer, model: str) -> list[list[tuple[str, str]]]:
    return [[(m["role"], m["content"]) for m in r.body["messages"]]
            for r in server.requests if r.protocol == "openai" and r.model == model]


def test_removing_the_first_chip_leaves_the_other_model_its_own_conversation(page: Any, web: SimpleNamespace) -> None:
    run(page, "Name a colour.", 2)
    page.locator("#models .token", has_text="openai:alpha").locator(".token-remove").click()
    expect(page.locator("#lane-1")).to_have_count(0, timeout=30_000)
    expect(page.locator("#head-0")).to_contain_text("openai:beta")
    expect(page.locator("#lane-0")).to_contain_text(ANSWERS["beta"])  # its own answer stays in its lane
    run(page, "Why that one?", 1)
    assert received(web.server, "beta")[-1] == [("user", "Name a colour."), ("assistant", ANSWERS["beta"]),
                                                ("user", "Why that one?")]
    expect(page.locator("#earlier-0")).to_contain_text(ANSWERS["beta"])
    expect(page.locator("#earlier-0")).not_to_contain_text(ANSWERS["alpha"])
    doc = web.ctx.store.get_session(web.ctx.store.list_sessions(limit=1)[0]["id"])
    assert [o["model"] for o in doc["turns"][1]["outputs"]] == ["openai:beta"]


def test_an_added_model_sees_the_answers_picked_and_its_lane_says_so(page: Any, web: SimpleNamespace) -> None:
    run(page, "Name a colour.", 2)
    page.locator("#models input").fill("openai:gamma")
    page.locator("#models input").press("Enter")
    expect(page.locator("#head-2")).to_contain_text("openai:gamma", timeout=30_000)
    expect(page.locator("#earlier-2")).to_contain_text("joined later — turn 1: prompt only")
    expect(page.locator("#lane-0")).to_contain_text(ANSWERS["alpha"])  # the others keep their answers

    page.locator("#join-from input").click()
    page.locator("#join-from").get_by_role("option", name="openai:alpha").click()
    expect(page.locator("#earlier-2")).to_contain_text("joined later — turn 1: answers of openai:alpha",
                                                       timeout=30_000)
    run(page, "Why that one?", 3)
    assert received(web.server, "gamma") == [[("user", "Name a colour."), ("assistant", ANSWERS["alpha"]),
                                              ("user", "Why that one?")]]
    assert received(web.server, "beta")[-1][1] == ("assistant", ANSWERS["beta"])
    expect(page.locator("#earlier-2")).to_contain_text("answers of openai:alpha")  # still said after the run
    doc = web.ctx.store.get_session(web.ctx.store.list_sessions(limit=1)[0]["id"])
    assert doc["turns"][1]["outputs"][2]["history_from"] == "openai:alpha"


def _output(model: str, text: str) -> dict[str, Any]:
    return {"model": f"openai:{model}", "label": None, "params": {}, "text": text, "status": "ok", "error": None,
            "finish_reason": "stop", "metrics": {"ttft_ms": 10.0, "total_ms": 20.0}, "server_metrics": {},
            "timeline": [[10.0, len(text)]]}


def _open(page: Any, words: str, title: str) -> None:
    """Open from History the session found by ``words`` (of its prompts) whose title is ``title``."""
    page.get_by_role("tab", name="History").click()
    search = page.locator("#history-search input, #history-search textarea").first
    search.fill(words)
    search.press("Enter")
    rows = page.locator("#history [role=row]:has([role=gridcell])")
    expect(rows).to_have_count(1, timeout=30_000)  # the search's answer, not the listing the tab opened with
    cell = page.locator("#history").get_by_role("gridcell", name=re.compile(title)).first
    expect(cell).to_be_visible()
    cell.click()


def test_a_reopened_session_shows_every_lane_of_every_turn(page: Any, web: SimpleNamespace) -> None:
    """Turn 2 dropped alpha and added gamma: the lanes are alpha, beta, gamma, each with its own turns."""
    doc = {"schema": "playground.session/1", "id": "01J0000000000000000000MANE", "title": "lanes changed",
           "created_at": "2026-01-02T03:04:05.000Z", "system": None, "turns": [
               {"prompt": "Name a colour.", "created_at": "2026-01-02T03:04:05.000Z",
                "outputs": [_output("alpha", "red"), _output("beta", "blue")]},
               {"prompt": "Another one?", "created_at": "2026-01-02T03:05:05.000Z",
                "outputs": [_output("beta", "navy"), _output("gamma", "green")]}]}
    web.ctx.store.import_document(doc)
    _open(page, "Another one", "lanes changed")
    expect(page.locator("#lane-2")).to_be_visible(timeout=30_000)
    for i, model in enumerate(("openai:alpha", "openai:beta", "openai:gamma")):
        expect(page.locator(f"#head-{i}")).to_contain_text(model)
    expect(page.locator("#lane-1 .answer-md")).to_have_text("navy")  # beta's turn 2, though it was lane 0 there
    expect(page.locator("#earlier-1")).to_contain_text("blue")
    expect(page.locator("#lane-2 .answer-md")).to_have_text("green")
    expect(page.locator("#earlier-2")).to_contain_text("joined later — turn 1: prompt only")
    expect(page.locator("#lane-0")).to_have_text("")  # alpha was not in turn 2
    expect(page.locator("#earlier-0")).to_contain_text("red")
    expect(page.locator("#earlier-0")).to_contain_text("turn 2: prompt only")

    run(page, "And now?", 3)  # every lane goes on with its own conversation
    assert received(web.server, "alpha")[-1] == [("user", "Name a colour."), ("assistant", "red"),
                                                 ("user", "Another one?"), ("user", "And now?")]
    assert received(web.server, "beta")[-1] == [("user", "Name a colour."), ("assistant", "blue"),
                                                ("user", "Another one?"), ("assistant", "navy"), ("user", "And now?")]
    assert received(web.server, "gamma")[-1] == [("user", "Name a colour."), ("user", "Another one?"),
                                                 ("assistant", "green"), ("user", "And now?")]
