"""The page's remaining gaps of issue 12, in a real Chromium against the app launched in-process
(``served_page``: two lanes on a scripted OpenAI-protocol server):

- a Run clicked while the lanes are rebuilt after a mode change is never lost: it waits for the
  new lanes, says so, and runs in them (capability 1);
- ``/?session=ID&turn=N`` shows turn N with replay ready; a turn the session lacks gets a notice
  and its last turn (capability 5).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from playground.testing.frames import Reply
from playground.testing.page import served_page

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
SLOW = 30_000  # ms: a shared, loaded 2-core machine re-renders lanes slowly


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with served_page(tmp_path_factory.mktemp("gaps-home"), ["openai:a", "openai:b"], key="sk-test-gaps-0123456789",
                     toml="[defaults]\nmax_tokens = 12\n") as served:
        yield served


@pytest.fixture
def page(browser: Any, web: SimpleNamespace) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    web.server.reset()
    pg.goto(web.url)
    expect(pg.locator("#lane-1")).to_be_visible(timeout=SLOW)
    yield pg
    context.close()


def test_a_run_clicked_while_the_lanes_are_rebuilt_waits_for_them_and_runs(page: Any, web: SimpleNamespace) -> None:
    web.server.default = Reply(chunks=["Hello, ", "blind ", "world!"])
    page.locator("#prompt textarea").fill("Say hello.")
    for attempt in range(3):  # each switch rebuilds the lanes; the click lands while they are rebuilt
        page.locator("#blind input").set_checked(attempt % 2 == 0)
        page.locator("#run").click()
        expect(page.locator(".toast-body.error")).to_have_count(0)
        expect(page.locator("#stats-1")).to_contain_text("done", timeout=SLOW)
        expect(page.locator("#lane-1")).to_contain_text("Hello, blind world!")
        expect(page.locator("#head-0")).to_contain_text("Model A" if attempt % 2 == 0 else "openai:a")
        expect(page.locator("#run")).to_be_enabled(timeout=SLOW)
    sessions = web.ctx.store.list_sessions(limit=10)
    assert len(sessions) == 3  # three runs, none lost
    assert page.errors == []


def _output(model: str, answer: str) -> dict[str, Any]:
    parts = [answer[i:i + 5] for i in range(0, len(answer), 5)]
    return {"model": model, "label": None, "params": {"max_tokens": 12}, "text": answer, "status": "ok",
            "error": None, "finish_reason": "stop",
            "metrics": {"ttft_ms": 40.0, "total_ms": 40.0 + 30 * len(parts), "queue_ms": 0.0, "load_ms": 0.0,
                        "input_tokens": 5, "output_tokens": len(parts), "tokens_per_s": 30.0, "cost_usd": None,
                        "estimated": [], "contention": {"threads": 1, "shared_with": []}},
            "server_metrics": {}, "timeline": [[40.0 + 30 * k, len(p)] for k, p in enumerate(parts)]}


def _three_turns(sid: str) -> dict[str, Any]:
    turns = [{"prompt": f"Question number {n}?", "created_at": "2026-02-03T04:05:06.000Z",
              "outputs": [_output("openai:a", f"First answer {n}."), _output("openai:b", f"Second answer {n}.")]
              + ([_output("openai:c", f"Third answer {n}.")] if n == 3 else [])}  # a model added in turn 3
             for n in (1, 2, 3)]
    return {"schema": "playground.session/1", "id": sid, "title": "Three turns of questions",
            "created_at": "2026-02-03T04:05:06.000Z", "system": None, "turns": turns}


def test_a_link_with_a_turn_shows_that_turn_and_replays_it(page: Any, web: SimpleNamespace) -> None:
    sid = "01J0000000000000000000TRN2"
    web.ctx.store.import_document(_three_turns(sid))
    page.goto(f"{web.url.rstrip('/')}/?session={sid}&turn=2")
    expect(page.locator("#lane-0")).to_contain_text("First answer 2.", timeout=SLOW)
    expect(page.locator("#lane-1")).to_contain_text("Second answer 2.")
    expect(page.locator("#earlier-0")).to_contain_text("Turn 1: Question number 1?")
    expect(page.locator("#earlier-0")).not_to_contain_text("Question number 3")
    expect(page.locator("#notice")).to_contain_text("turn 2 of 3")
    expect(page.locator("#lane-2")).to_have_count(0)  # the lanes of the turns shown: openai:c came later
    expect(page).to_have_url(re.compile(rf"session={sid}&turn=2$"))  # the address still names the turn
    page.locator("#speed").get_by_text("instant").click()
    page.locator("#replay").click()  # ready, and replaying the turn shown
    expect(page.locator("#notice")).to_contain_text("replayed", timeout=SLOW)
    expect(page.locator("#lane-1")).to_contain_text("Second answer 2.")
    expect(page.locator("#lane-1")).not_to_contain_text("Second answer 3.")

    page.reload()  # a reload keeps the turn
    expect(page.locator("#lane-0")).to_contain_text("First answer 2.", timeout=SLOW)

    web.server.default = Reply(chunks=["A fourth ", "answer."])
    page.locator("#prompt textarea").fill("Question number 4?")
    page.locator("#run").click()  # a run goes on from the session's last turn: the address drops the turn
    expect(page.locator("#stats-1")).to_contain_text("done", timeout=SLOW)
    expect(page).to_have_url(re.compile(rf"session={sid}$"), timeout=SLOW)
    turns = web.ctx.store.get_session(sid)["turns"]
    assert [t["prompt"] for t in turns] == [f"Question number {n}?" for n in (1, 2, 3, 4)]
    assert page.errors == []


@pytest.mark.parametrize("turn", ["7", "0"])
def test_a_link_to_a_turn_the_session_lacks_says_so_and_shows_the_last(page: Any, web: SimpleNamespace,
                                                                       turn: str) -> None:
    sid = "01J0000000000000000000TRN3"
    web.ctx.store.import_or_open(_three_turns(sid))
    page.goto(f"{web.url.rstrip('/')}/?session={sid}&turn={turn}")
    expect(page.locator("#notice")).to_contain_text(f"this session has 3 turns: the link's turn {turn} is not one",
                                                    timeout=SLOW)
    expect(page.locator("#lane-0")).to_contain_text("First answer 3.")
    expect(page.locator("#replay")).to_be_enabled()


def test_a_model_added_later_can_start_fresh_and_its_lane_says_so(page: Any, web: SimpleNamespace) -> None:
    web.server.default = Reply(chunks=["An ", "answer."])
    page.locator("#prompt textarea").fill("Name a colour.")
    page.locator("#run").click()
    expect(page.locator("#stats-1")).to_contain_text("done", timeout=SLOW)
    page.locator("#models input").fill("openai:c")
    page.locator("#models input").press("Enter")
    expect(page.locator("#head-2")).to_contain_text("openai:c", timeout=SLOW)
    expect(page.locator("#earlier-2")).to_contain_text("joined later — turn 1: prompt only")
    page.locator("#join-from input").click()
    page.locator("#join-from").get_by_role("option", name="nothing: it starts fresh").click()
    expect(page.locator("#earlier-2")).to_contain_text("joined later — turn 1: not sent (started fresh)",
                                                       timeout=SLOW)
    web.server.requests.clear()
    page.locator("#prompt textarea").fill("Why that one?")
    page.locator("#run").click()
    expect(page.locator("#stats-2")).to_contain_text("done", timeout=SLOW)
    sent = {r.model: [(m["role"], m["content"]) for m in r.body["messages"]] for r in web.server.requests}
    assert sent["c"] == [("user", "Why that one?")]  # nothing of turn 1
    assert sent["a"] == [("user", "Name a colour."), ("assistant", "An answer."), ("user", "Why that one?")]
    expect(page.locator("#earlier-2")).to_contain_text("not sent (started fresh)")  # still said after the run


def test_a_markdown_table_has_light_cell_lines_and_no_box_around_it(page: Any, web: SimpleNamespace) -> None:
    web.server.default = Reply(chunks=["Here:\n\n| dose | time |\n| --- | ---: |\n| 18 g | 25 s |\n"])
    page.locator("#prompt textarea").fill("Espresso numbers?")
    page.locator("#run").click()
    table = page.locator("#lane-0 .answer-md table")
    expect(table).to_be_visible(timeout=SLOW)
    look = table.evaluate("""(t) => ({
      box: ['borderTopStyle', 'borderLeftStyle'].map((k) => getComputedStyle(t)[k]),
      rows: [...t.querySelectorAll('tr')].map((r) => getComputedStyle(r).borderTopStyle),
      cell: getComputedStyle(t.querySelector('td')).borderTopColor,
      text: getComputedStyle(t).color,
      widths: [t.getBoundingClientRect().width, t.querySelector('tr').getBoundingClientRect().width]})""")
    assert look["box"] == ["none", "none"] and set(look["rows"]) == {"none"}  # no dark box, no row lines
    assert look["cell"] != look["text"]  # the cells' lines are lighter than the text
    assert look["widths"][0] - look["widths"][1] < 2  # as wide as its columns, not the lane
