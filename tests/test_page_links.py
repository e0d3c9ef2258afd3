"""Sessions that survive a reload, with links, and a History that finds (issue 12, capabilities 5
and 10): the real page in Debian's Chromium (Playwright), against the app launched in-process with
one lane on an OpenAI-protocol scripted server whose text the test sets."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from playground.testing.frames import Reply
from playground.testing.page import served_page

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
SLOW = 30_000  # ms: a shared, loaded 2-core machine re-renders lanes slowly
ADDRESS = re.compile(r"[?&]session=([0-9A-HJKMNP-TV-Z]{26})(&|$)")


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with served_page(tmp_path_factory.mktemp("links-home"), ["openai:scripted"],
                     key="sk-test-links-0123456789", toml="[defaults]\nmax_tokens = 12\n") as served:
        yield served


@pytest.fixture
def page(browser: object, web: SimpleNamespace) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web.url.rstrip("/"))
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    web.server.reset()
    expect.set_options(timeout=15_000)  # this module's waits; back to Playwright's 5 s after
    pg.goto(web.url)
    expect(pg.locator("#lane-0")).to_be_visible(timeout=SLOW)  # a loaded machine
    yield pg
    context.close()
    expect.set_options(timeout=5_000)


def run(page: object, prompt: str) -> None:
    page.locator("#prompt textarea").fill(prompt)
    page.locator("#run").click()
    expect(page.locator("#stats-0")).to_contain_text("done", timeout=SLOW)
    expect(page.locator("#notice")).to_contain_text("saved")


def shown_id(page: object) -> str:
    """The session id in the page's address, once it is there."""
    expect(page).to_have_url(ADDRESS, timeout=SLOW)
    return ADDRESS.search(page.url).group(1)


def history(page: object) -> None:
    page.get_by_role("tab", name="History").click()


def _doc(sid: str, title: str, answer: str) -> dict:
    parts = [answer[i:i + 6] for i in range(0, len(answer), 6)]
    out = {"model": "openai:scripted", "label": None, "params": {"max_tokens": 12}, "text": answer, "status": "ok",
           "error": None, "finish_reason": "stop",
           "metrics": {"ttft_ms": 50.0, "total_ms": 50.0 + 40 * len(parts), "queue_ms": 0.0, "load_ms": 0.0,
                       "input_tokens": 5, "output_tokens": len(parts), "tokens_per_s": 25.0, "cost_usd": None,
                       "estimated": [], "contention": {"threads": 1, "shared_with": []}},
           "server_metrics": {}, "timeline": [[50.0 + 40 * k, len(p)] for k, p in enumerate(parts)]}
    return {"schema": "playground.session/1", "id": sid, "title": title, "created_at": "2026-02-03T04:05:06.000Z",
            "system": None, "turns": [{"prompt": title + "?", "created_at": "2026-02-03T04:05:06.000Z",
                                       "outputs": [out]}]}


def test_the_address_follows_the_session_a_reload_keeps_it_and_replay_works(page, web) -> None:
    assert not ADDRESS.search(page.url)  # nothing shown yet: no session in the address
    # ~3 s of streaming, so a replay at 1× is seen "replaying" even on a loaded machine
    web.server.default = Reply(chunks=["Crema ", "on ", "top, ", "sweet ", "finish."], delay=0.6)
    run(page, "What makes a great espresso?")
    sid = shown_id(page)
    assert sid == web.ctx.store.list_sessions(limit=1)[0]["id"]
    expect(page.locator("#notice")).to_contain_text("saved “What makes a great espresso?”")  # a title, not an id
    assert sid not in page.locator("#notice").inner_text()

    page.get_by_role("button", name="Copy link").click()  # copies the whole address
    assert page.evaluate("navigator.clipboard.readText()") == page.url

    page.reload()
    expect(page.locator("#lane-0")).to_contain_text("Crema on top, sweet finish.", timeout=SLOW)
    expect(page.locator("#stats-0")).to_contain_text("done")
    expect(page.locator("#notice")).to_contain_text("opened “What makes a great espresso?”")
    assert shown_id(page) == sid  # and the address still names it
    page.locator("#speed").get_by_text("1×").click()
    page.locator("#replay").click()
    expect(page.locator("#stats-0")).to_contain_text("replaying")
    expect(page.locator("#stats-0")).to_contain_text("done", timeout=SLOW)
    expect(page.locator("#lane-0")).to_contain_text("Crema on top, sweet finish.")

    page.locator("#new-session").click()  # no session shown: none in the address
    expect(page).not_to_have_url(ADDRESS)
    assert page.errors == []


@pytest.mark.parametrize("query", ["session=01J00000000000000000000000", "session=%3Cimg%20src%3Dx%20onerror%3D"
                                   "alert(1)%3E", "session=../../etc/passwd", "session=01J0000000000000000000WEB1&turn=x"])
def test_a_link_to_no_saved_session_says_so_and_the_page_stays_usable(page, web, query) -> None:
    page.goto(f"{web.url.rstrip('/')}/?{query}")
    notice = page.locator("#notice")
    expect(notice).to_contain_text(re.compile("no saved session has this link's id|is not valid|is not a number"))
    assert "\n" not in notice.inner_text().strip()
    assert "onerror" not in notice.inner_text() and "passwd" not in notice.inner_text()  # never echoed
    expect(page.locator("#lane-0")).to_have_text(re.compile(r"^\s*$"))  # an empty page
    web.server.default = Reply(chunks=["still ", "works"])
    run(page, "Does the page still run?")
    expect(page.locator("#lane-0")).to_contain_text("still works")


def test_search_as_you_type_finds_a_word_by_its_start(page, web) -> None:
    web.ctx.store.import_document(_doc("01J0000000000000000000M00N", "Moon landing questions", "Neil Armstrong."))
    web.ctx.store.import_document(_doc("01J0000000000000000000TEA1", "Green tea timing", "Two minutes."))
    history(page)
    tea = page.locator("#history").get_by_role("gridcell", name=re.compile("Green tea timing"))
    expect(tea.first).to_be_visible()  # every session listed before a search
    box = page.locator("#history-search textarea, #history-search input").first
    box.press_sequentially("Moo", delay=60)  # no Enter: it searches once typing pauses
    expect(tea).to_have_count(0)
    expect(page.locator("#history").get_by_role("gridcell", name=re.compile("Moon landing"))).to_be_visible()
    expect(page.locator("#history-empty")).to_have_text(re.compile(r"^\s*$"))
    box.press_sequentially("qx", delay=60)
    expect(page.locator("#history-empty")).to_contain_text("No saved session matches “Mooqx”")
    expect(page.locator("#history").get_by_role("gridcell", name=re.compile("Moon landing"))).to_have_count(0)
    expect(page.locator("#history-model input")).to_have_value("all models")  # the filter's first entry


def test_delete_asks_first_and_clears_the_session_on_compare_then_run_works(page, web) -> None:
    web.server.default = Reply(chunks=["to be ", "deleted"])
    run(page, "Delete me afterwards please")
    sid = shown_id(page)
    history(page)
    page.locator("#history").get_by_role("gridcell", name=re.compile("Delete me afterwards")).first.click()
    expect(page.locator("#lane-0")).to_contain_text("to be deleted")  # open on Compare
    history(page)
    page.locator("#delete").click()
    expect(page.locator("#delete-ask")).to_contain_text("Delete “Delete me afterwards please” for good?")
    page.locator("#delete-cancel").click()
    expect(page.locator("#delete-ask")).to_be_hidden()
    assert web.ctx.store.get_session(sid)["title"] == "Delete me afterwards please"  # kept

    page.locator("#delete").click()
    page.locator("#delete-confirm").click()
    expect(page.locator("#history-msg")).to_contain_text("deleted “Delete me afterwards please”")
    assert sid not in page.locator("#history-msg").inner_text()  # the title, not the id
    assert all(s["id"] != sid for s in web.ctx.store.list_sessions(limit=100))
    page.get_by_role("tab", name="Compare").click()
    expect(page.locator("#notice")).to_contain_text("was deleted")
    expect(page.locator("#lane-0")).not_to_contain_text("to be deleted")
    expect(page).not_to_have_url(ADDRESS)

    web.server.default = Reply(chunks=["a fresh ", "start"])
    run(page, "And now?")  # the next run works and makes a new session
    expect(page.locator("#lane-0")).to_contain_text("a fresh start")
    assert shown_id(page) != sid
    expect(page.locator("#run")).to_be_enabled()


def test_importing_a_saved_session_again_opens_it(page, web, tmp_path) -> None:
    doc = _doc("01J0000000000000000000D0P1", "Twice imported tea", "Steep it for two minutes.")
    path = tmp_path / "tea.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    history(page)
    for said in ("imported “Twice imported tea”", "“Twice imported tea” is saved here already"):
        with page.expect_file_chooser() as chooser:
            page.locator("#import-json").click()
        chooser.value.set_files(str(path))
        expect(page.locator("#history-msg")).to_contain_text(said)
    expect(page.locator("#lane-0")).to_contain_text("Steep it for two minutes.")  # opened on Compare
    assert shown_id(page) == doc["id"]
    same = [s for s in web.ctx.store.list_sessions(limit=100) if s["title"] == "Twice imported tea"]
    assert len(same) == 1
