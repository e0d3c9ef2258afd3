"""Per-lane actions, figures and the vote bar in the real page (Playwright on Debian's Chromium, the
app launched in-process) against a scripted OpenAI-compatible server that records every request,
so what each lane really sent — its top_p, stop sequences, system prompt, max tokens — is checked
on the wire, not on the page (issue 12, capabilities 4, 7 and 8)."""

from __future__ import annotations

import re
import time
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
A, B = "openai:scripted-a", "openai:scripted-b"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with served_page(tmp_path_factory.mktemp("lanes-home"), [A, B], key="sk-test-lanes-0123456789",
                     toml="[defaults]\ntemperature = 0\nmax_tokens = 256\n") as served:
        yield served


@pytest.fixture
def page(browser: Any, web: SimpleNamespace) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    web.server.reset()
    pg.goto(web.url)
    expect(pg.locator("#lane-1")).to_be_visible(timeout=30_000)  # a loaded machine renders slowly
    yield pg
    context.close()


def run(page: Any, prompt: str) -> None:
    page.locator("#prompt textarea").fill(prompt)
    page.locator("#run").click()


def chat(server: ScriptedServer, model: str) -> list[Any]:
    """The chat requests the server received for a model part, in order."""
    return [r for r in server.requests if r.path.endswith("/chat/completions") and r.model == model]


def own_params(page: Any) -> None:
    """Turn "same params for all" off and open every lane's params."""
    page.locator("#same-params input").uncheck()
    for acc in page.locator(".lane-params").all():
        acc.locator("button").first.click()


def wait_for(web: SimpleNamespace, session_id: str, turns: int) -> dict[str, Any]:
    """The stored session once it has ``turns`` turns, every output ended (or as it is after 20 s)."""
    deadline = time.monotonic() + 20
    while True:
        doc = web.ctx.store.get_session(session_id)
        done = len(doc["turns"]) >= turns and all(o["status"] != "running" for o in doc["turns"][-1]["outputs"])
        if done or time.monotonic() > deadline:
            return doc
        time.sleep(0.1)


def latest(web: SimpleNamespace) -> dict[str, Any]:
    return web.ctx.store.get_session(web.ctx.store.list_sessions(limit=1)[0]["id"])


# ---- capability 4: per-lane parameters, stop one lane, regenerate one lane --------------------


def test_each_lane_sends_its_own_top_p_stop_and_system(page: Any, web: SimpleNamespace) -> None:
    own_params(page)
    expect(page.locator("#temperature input, #temperature textarea").first).to_be_disabled()  # ignored: greyed
    page.locator("#lane-top-p-0 textarea, #lane-top-p-0 input").first.fill("0.5")
    page.locator("#lane-stops-0 textarea").fill("END\n###")
    page.locator("#lane-system-0 textarea").fill("Answer in French.")
    page.locator("#lane-top-p-1 textarea, #lane-top-p-1 input").first.fill("0.9")
    page.get_by_role("button", name=re.compile("System prompt")).click()
    page.locator("#system textarea").fill("Be brief.")
    run(page, "Hello?")
    expect(page.locator("#stats-1")).to_contain_text("done", timeout=20_000)
    expect(page.locator("#stats-0")).to_contain_text("done", timeout=20_000)
    a, b = chat(web.server, "scripted-a")[-1].body, chat(web.server, "scripted-b")[-1].body
    assert a["top_p"] == 0.5 and a["stop"] == ["END", "###"]
    assert a["messages"][0] == {"role": "system", "content": "Answer in French."}
    assert b["top_p"] == 0.9 and "stop" not in b
    assert b["messages"][0] == {"role": "system", "content": "Be brief."}  # blank: the session's
    saved = latest(web)["turns"][0]["outputs"]
    assert saved[0]["params"]["system"] == "Answer in French." and saved[0]["params"]["stop"] == ["END", "###"]
    assert saved[1]["params"]["top_p"] == 0.9 and "system" not in saved[1]["params"]


def test_lane_values_survive_new_session_and_a_model_change(page: Any, web: SimpleNamespace) -> None:
    own_params(page)
    box = page.locator(".lane-params").nth(1).get_by_label("max tokens")  # the lane's own, by its label
    box.fill("77")
    box.press("Tab")
    run(page, "First question")
    expect(page.locator("#stats-1")).to_contain_text("done", timeout=20_000)
    assert chat(web.server, "scripted-b")[-1].body["max_tokens"] == 77
    page.locator("#new-session").click()
    expect(page.locator("#notice")).to_contain_text("new session")
    page.locator("#blind input").check()  # the lanes re-render (as Model A, B) ...
    expect(page.locator("#head-1")).to_contain_text("Model B")
    page.locator("#blind input").uncheck()  # ... and again for the models: rebuilt, not from the defaults
    expect(page.locator("#head-1")).to_contain_text(B)
    page.locator("#same-params input").check()
    page.locator("#same-params input").uncheck()
    page.locator(".lane-params").nth(1).locator("button").first.click()
    expect(box).to_have_value("77")  # not back to 256
    run(page, "Second question")
    expect(page.locator("#stats-1")).to_contain_text("done", timeout=20_000)
    assert chat(web.server, "scripted-b")[-1].body["max_tokens"] == 77
    assert latest(web)["turns"][0]["outputs"][1]["params"]["max_tokens"] == 77


def test_a_bad_lane_value_names_the_lane(page: Any, web: SimpleNamespace) -> None:
    own_params(page)
    page.locator(".lane-params").nth(0).get_by_label("temperature").fill("abc")
    run(page, "Hi")
    expect(page.get_by_text(f"{A}: temperature must be a number between 0 and 2")).to_be_visible(timeout=10_000)
    assert not chat(web.server, "scripted-a")


def test_stop_one_lane_while_the_other_streams_on(page: Any, web: SimpleNamespace) -> None:
    web.server.by_model["scripted-a"] = Reply(chunks=["tick "] * 400, delay=0.05)  # 20 s unless stopped
    web.server.by_model["scripted-b"] = Reply(chunks=["tock "] * 40, delay=0.05)  # 2 s
    run(page, "Count.")
    expect(page.locator("#lane-0")).to_contain_text("tick tick", timeout=10_000)
    # a click event on the button itself: Playwright's mouse click waits for the whole page to hold
    # still, which a page streaming into another lane does not do on a loaded machine
    page.locator("#lane-stop-0").dispatch_event("click")
    expect(page.locator("#stats-0")).to_contain_text("cancelled", timeout=5_000)
    expect(page.locator("#stats-1")).to_contain_text("done", timeout=10_000)
    assert page.locator("#lane-1").inner_text().count("tock") == 40  # the other lane ran to its end
    deadline = time.monotonic() + 5
    while not chat(web.server, "scripted-a")[-1].disconnected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert chat(web.server, "scripted-a")[-1].disconnected  # the provider's stream was closed
    outputs = latest(web)["turns"][0]["outputs"]
    assert [o["status"] for o in outputs] == ["cancelled", "ok"]


def test_regenerate_one_lane_replaces_its_answer_only(page: Any, web: SimpleNamespace) -> None:
    web.server.by_model["scripted-a"] = Reply(chunks=["first ", "answer"])
    web.server.by_model["scripted-b"] = Reply(chunks=["steady ", "lane"])
    run(page, "Tell me.")
    expect(page.locator("#stats-0")).to_contain_text("done", timeout=20_000)
    expect(page.locator("#stats-1")).to_contain_text("done", timeout=20_000)
    first = chat(web.server, "scripted-a")[-1].body["messages"]
    web.server.by_model["scripted-a"] = Reply(chunks=["second ", "take"])
    before_b = len(chat(web.server, "scripted-b"))
    page.locator("#lane-regen-0").click()
    expect(page.locator("#lane-0")).to_contain_text("second take", timeout=20_000)
    expect(page.locator("#notice")).to_contain_text("regenerated", timeout=10_000)
    expect(page.locator("#lane-1")).to_contain_text("steady lane")
    assert len(chat(web.server, "scripted-b")) == before_b  # only that lane's model ran
    assert chat(web.server, "scripted-a")[-1].body["messages"] == first  # the same conversation
    doc = latest(web)
    assert len(doc["turns"]) == 1
    assert [o["text"] for o in doc["turns"][0]["outputs"]] == ["second take", "steady lane"]
    web.server.by_model["scripted-a"] = Reply(status=400, message="model is busy")
    page.locator("#lane-regen-0").click()  # a failed regeneration keeps the answer it would replace
    expect(page.locator("#notice")).to_contain_text("the earlier answer is kept", timeout=20_000)
    expect(page.locator("#lane-0")).to_contain_text("second take")
    assert latest(web)["turns"][0]["outputs"][0]["text"] == "second take"
    web.server.by_model["scripted-a"] = Reply(chunks=["third"])
    run(page, "And then?")  # the follow-up's history is the regenerated answer
    wait_for(web, doc["id"], 2)
    sent = chat(web.server, "scripted-a")[-1].body["messages"]
    assert {"role": "assistant", "content": "second take"} in sent


# ---- capability 7: figures explained ---------------------------------------------------------


def test_figures_have_meanings_and_a_cut_answer_says_so(page: Any, web: SimpleNamespace) -> None:
    for i in (0, 1):  # a lane that has not run shows nothing: no "waiting", no "$?"
        assert page.locator(f"#stats-{i}").inner_text().strip() == ""
    web.server.by_model["scripted-a"] = Reply(chunks=["cut ", "short"], finish="length")
    run(page, "Go on and on.")
    expect(page.locator("#stats-1")).to_contain_text("done", timeout=20_000)
    expect(page.locator("#stats-0")).to_contain_text("cut at max tokens", timeout=20_000)
    expect(page.locator("#stats-1")).not_to_contain_text("cut at max tokens")
    ttft = page.locator("#stats-0 [data-figure='ttft_ms']")
    assert "time to first token" in ttft.get_attribute("title")
    assert "time to first token" in ttft.get_attribute("aria-label")
    cost = page.locator("#stats-0 [data-figure='cost_usd']")
    assert "$?" not in cost.inner_text() or "no price" in cost.get_attribute("title")
    for figure in page.locator("#stats-0 .fig").all():
        assert figure.get_attribute("title"), figure.inner_text()
    expect(page.locator("#fig-legend")).to_contain_text("What the figures mean")


# ---- capability 8: the vote bar and battles ----------------------------------------------------


def test_vote_bar_only_after_a_run_and_named_by_model(page: Any, web: SimpleNamespace) -> None:
    expect(page.locator("#vote-a")).to_be_hidden()  # nothing to vote on at first open
    expect(page.locator("#hide-figures")).to_be_hidden()  # a blind-only option, blind is off
    run(page, "Which?")
    expect(page.locator("#stats-1")).to_contain_text("done", timeout=20_000)
    expect(page.locator("#vote-a")).to_be_visible(timeout=10_000)
    expect(page.locator("#vote-a")).to_have_text(f"{A} is better")
    page.locator("#blind input").check()
    expect(page.locator("#hide-figures")).to_be_visible()
    expect(page.locator("#vote-a")).to_be_hidden()  # a new blind session: nothing run yet


def test_a_battle_follow_up_continues_until_new_round(page: Any, web: SimpleNamespace) -> None:
    web.server.by_model["scripted-a"] = Reply(chunks=["alpha"])
    web.server.by_model["scripted-b"] = Reply(chunks=["beta"])
    page.locator("#battle input").check()
    pool = page.locator("#pool input")
    for model in (A, B):
        pool.fill(model)
        pool.press("Enter")
    run(page, "Round one?")
    expect(page.locator("#stats-1")).to_contain_text("done", timeout=20_000)
    expect(page.locator("#vote-a")).to_have_text("A is better", timeout=10_000)  # blind: by letter
    page.locator("#vote-a").click()
    expect(page.locator("#notice")).to_contain_text("vote saved", timeout=10_000)
    expect(page.locator("#reveal")).to_contain_text("A was", timeout=10_000)  # the lanes re-rendered, named
    first = latest(web)
    run(page, "And a follow-up?")
    expect(page.locator("#notice")).to_contain_text(first["title"], timeout=20_000)  # "saved “title”"
    doc = wait_for(web, first["id"], 2)
    assert doc["turns"][1]["prompt"] == "And a follow-up?"
    sent = chat(web.server, "scripted-a")[-1].body["messages"]
    assert [m["content"] for m in sent if m["role"] == "user"] == ["Round one?", "And a follow-up?"]
    page.locator("#new-round").click()
    expect(page.locator("#notice")).to_contain_text("New round")
    run(page, "A new battle?")
    expect(page.locator("#stats-1")).to_contain_text("done", timeout=20_000)
    deadline = time.monotonic() + 10
    while latest(web)["id"] == first["id"] and time.monotonic() < deadline:
        time.sleep(0.1)
    newest = latest(web)
    assert newest["id"] != first["id"] and len(newest["turns"]) == 1


def test_leaderboard_header_counts_what_its_table_counts(page: Any, web: SimpleNamespace) -> None:
    run(page, "Vote me.")
    expect(page.locator("#vote-bothbad")).to_be_visible(timeout=20_000)
    page.locator("#vote-bothbad").click()
    expect(page.locator("#notice")).to_contain_text("vote saved", timeout=10_000)
    run(page, "Vote me again.")
    expect(page.locator("#stats-1")).to_contain_text("done", timeout=20_000)
    expect(page.locator("#vote-status")).to_contain_text("no vote yet", timeout=10_000)
    page.locator("#vote-a").click()
    expect(page.locator("#notice")).to_contain_text("vote saved on turn 2", timeout=10_000)
    page.get_by_role("tab", name="Leaderboard").click()
    page.locator("#lb-blind-only input").uncheck()
    board = page.locator("#leaderboard")
    expect(board).to_contain_text("blind and named", timeout=10_000)  # redrawn for the filter
    expect(board).to_contain_text("W-T-L", timeout=10_000)
    header = board.locator(".notes").first.inner_text()
    rows = board.locator("tbody tr").all()
    games = sum(int(re.search(r"(\d+)-(\d+)-(\d+)", r.inner_text()).group(1)) for r in rows)  # wins
    games += sum(int(re.search(r"(\d+)-(\d+)-(\d+)", r.inner_text()).group(2)) for r in rows) / 2  # ties
    counted = int(re.search(r"(\d+) game", header).group(1))
    assert counted == games, header
    assert "both-bad" in header
