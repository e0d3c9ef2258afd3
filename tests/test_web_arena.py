"""Blind mode, battles, votes, the judge and the leaderboard in the real page (Playwright on Debian's
Chromium, the app launched in-process). Lanes run the in-process ``test:`` model, whose id names
its text (``...text=alpha%20`` streams "alpha alpha ..."), so a leak of an id is easy to spot.

Identity checks: from the moment blind mode is switched on until the vote, every response body the
page receives (config, SSE queue data, uploads — recorded with ``page.on("response")``) and the
page's HTML (less the model picker and the pool, which show what the user typed) contain no text
that names a model of the run: neither its id (``text=alpha``) nor its engine (``scripted``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from playground.settings import Settings
from playground.testing import free_port
from playground.testing.browser import EVENT_STREAM_TAP
from playground.web.serve import start, stop
from storage.schema import validate

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
ALPHA = "test:chunks=5&delay_ms=20&text=alpha%20"
BETA = "test:chunks=5&delay_ms=20&text=beta%20"
GAMMA = "test:chunks=5&delay_ms=20&text=gamma%20"
JUDGE = "test:chunks=1&text=Better%20answer%3A%20A.%0AVERDICT%3A%20A"
SECRETS = ("text=alpha", "text=beta", "text=gamma", "scripted")  # what would name a lane's model


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    home = tmp_path_factory.mktemp("web-arena-home")
    settings = Settings.load(env={"PLAYGROUND_HOME": str(home)}, cwd=home)
    demo, ctx, url = start(settings, models=[ALPHA, BETA], port=free_port())
    try:
        yield SimpleNamespace(ctx=ctx, url=url)
    finally:
        stop(demo, ctx)


@pytest.fixture
def page(browser: object, web: SimpleNamespace) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.add_init_script(EVENT_STREAM_TAP)  # the wire check reads the event streams
    pg.goto(web.url)
    expect(pg.locator("#lane-1")).to_be_visible(timeout=30_000)  # each lane has more controls: slower on a loaded machine
    yield pg
    context.close()


@pytest.fixture
def wire(page: object) -> Wire:
    return Wire(page)


class Wire:
    """Every response to a request the page makes from now on: the bodies of finished requests, and
    every chunk of Gradio's event streams as the page read it (a stream may stay open between
    events); ``leaks()`` lists the secrets found in them, printing where each was."""

    def __init__(self, page: object) -> None:
        self.page = page
        self.pending: set[object] = set()
        self.responses: list[object] = []
        self.mark = 0  # event-stream chunks read before this one are forgotten
        page.on("request", lambda r: self.pending.add(r))
        page.on("requestfinished", self._finished)
        page.on("requestfailed", lambda r: self.pending.discard(r))

    def _finished(self, request: object) -> None:
        # only what the page asked for from now on: a reply to an earlier request (the picker's
        # re-render, still in flight on a loaded machine) rightly names the models it was sent for
        if request not in self.pending:
            return
        self.pending.discard(request)
        response = request.response()
        if response is not None and "/queue/data" not in request.url:  # those are read chunk by chunk
            self.responses.append(response)

    def settle(self, seconds: float = 60) -> bool:
        """Wait until every request the page made has ended, but for the event streams (read as
        they come; Gradio may keep one open between events); False if not."""
        for _ in range(int(seconds * 20)):
            if not self.open():
                return True
            self.page.wait_for_timeout(50)
        return not self.open()

    def open(self) -> list[str]:
        return [r.url for r in self.pending if "/queue/data" not in r.url]

    def begin(self) -> None:
        """Record from here on: what the page asked for until now has been answered (nothing new
        on the event streams for a second) and is forgotten."""
        assert self.settle(), f"still open: {self.open()}"
        seen, quiet = -1, 0
        for _ in range(600):  # within 60 s
            now = self.page.evaluate("window.__sse.length")
            quiet = quiet + 1 if now == seen else 0
            if quiet >= 10:
                break
            seen = now
            self.page.wait_for_timeout(100)
        assert quiet >= 10, "the event streams never went quiet"
        self.forget()

    def forget(self) -> None:
        """Forget what was received so far (e.g. a reveal, which rightly names the models)."""
        self.responses.clear()
        self.mark = self.page.evaluate("window.__sse.length")

    def bodies(self) -> list[tuple[str, str]]:
        self.settle(seconds=5)  # the last uploads and downloads; event streams are read as they come
        out = [("event streams", "".join(self.page.evaluate("window.__sse")[self.mark:]))]
        for r in self.responses:
            try:
                out.append((r.url, r.body().decode("utf-8", "replace")))
            except Exception:  # noqa: BLE001 - a redirect has no body
                continue
        return out

    def leaks(self, secrets: tuple[str, ...] = SECRETS) -> list[str]:
        found = []
        for url, body in self.bodies():
            for s in secrets:
                if s in body:
                    at = body.index(s)
                    print(f"leak of {s!r} in {url}: ...{body[max(0, at - 300):at + 100]}...")
                    found.append(s)
        return found


def page_leaks(page: object, secrets: tuple[str, ...] = SECRETS) -> list[str]:
    """Secrets in the page's HTML and in its start-up config, less the picker and the pool (the
    user typed those: they say which models may run, not which lane is which)."""
    html, config = page.evaluate("""() => {
        const c = document.documentElement.cloneNode(true);
        c.querySelectorAll('#models, #pool').forEach(e => e.remove());
        c.querySelectorAll('script').forEach(s => { if (s.textContent.includes('window.gradio_config =')) s.remove(); });
        const cfg = window.gradio_config;
        const rest = cfg.components.filter(x => !['models', 'pool'].includes(x.props.elem_id));
        return [c.outerHTML, JSON.stringify({...cfg, components: rest})]; }""")
    assert 'id="lane-0"' in html and '"elem_id":"lane-0"' not in config
    return [s for s in secrets if s in html or s in config]


def run(page: object, prompt: str) -> None:
    expect(page.locator("#run")).to_be_enabled()  # the previous run's events have ended
    page.locator("#prompt textarea").fill(prompt)
    page.locator("#run").click()
    expect(page.locator("#earlier-0")).to_contain_text(prompt)  # the run has started (lanes reset)


def lanes_done(page: object, n: int = 2) -> None:
    for i in range(n):
        expect(page.locator(f"#stats-{i}")).to_contain_text("done", timeout=15_000)


def newest(web: SimpleNamespace) -> dict:
    return web.ctx.store.get_session(web.ctx.store.list_sessions(limit=1)[0]["id"])


def test_blind_run_hides_the_models_until_the_vote_then_reveals_them(page: object, wire: Wire, web: SimpleNamespace) -> None:
    wire.begin()
    page.locator("#blind input").check()
    expect(page.locator("#head-0")).to_contain_text("Model A")
    run(page, "Say a word.")
    lanes_done(page)
    expect(page.locator("#vote-status")).to_contain_text("Vote to reveal")
    expect(page.locator("#head-1")).to_contain_text("Model B")
    expect(page.locator("#stats-0")).to_contain_text("figures after the vote")
    expect(page.locator("#notice")).to_contain_text("vote to reveal")
    texts = [page.locator(f"#lane-{i}").inner_text().strip() for i in (0, 1)]
    assert sorted(t.split()[0] for t in texts) == ["alpha", "beta"]
    assert page_leaks(page) == [] and wire.leaks() == []
    assert "alpha alpha" in wire.bodies()[0][1]  # the tap reads the event streams: the answers went that way

    page.get_by_role("tab", name="History").click()  # the history row (and model filter) say nothing either
    expect(page.locator("#history")).to_contain_text("blind — not voted yet")
    page.get_by_role("tab", name="Stats").click()  # nor do the per-model stats
    expect(page.locator("#stats-table")).to_be_visible()
    page.get_by_role("tab", name="Settings").click()  # nor which local models are loaded now
    expect(page.locator("#loaded-models")).to_contain_text("hidden until you vote on the blind session")
    page.wait_for_timeout(300)
    page.get_by_role("tab", name="Compare").click()
    assert page_leaks(page) == [] and wire.leaks() == []
    doc = newest(web)
    assert doc["tags"] == ["blind"] and "votes" not in doc

    a_is = "alpha" if texts[0].startswith("alpha") else "beta"
    page.locator("#vote-a").click()
    expect(page.locator("#vote-status")).to_contain_text("Your vote on turn 1: A is better")
    expect(page.locator("#reveal")).to_contain_text(f"Model A was test:chunks=5&delay_ms=20&text={a_is}%20")
    expect(page.locator("#head-0")).to_contain_text(f"text={a_is}")
    expect(page.locator("#head-0")).to_contain_text("scripted")
    assert f"text={a_is}" in wire.leaks()  # the check sees names when they are sent: the reveal sends them
    expect(page.locator("#stats-0")).to_contain_text("TTFT")
    page.get_by_role("tab", name="Settings").click()  # revealed: the loaded models are listed again
    expect(page.locator("#status")).to_contain_text("database")
    expect(page.locator("#loaded-models")).not_to_contain_text("hidden until you vote")
    page.get_by_role("tab", name="Compare").click()
    doc = web.ctx.store.get_session(doc["id"])
    (vote,) = doc["votes"]
    assert vote["outcome"] == "a" and vote["blind"] is True and vote["judge"] is None
    assert vote["models"][0] == doc["turns"][0]["outputs"][0]["model"] and f"text={a_is}" in vote["models"][0]

    with page.expect_download() as info:  # the export is written after the vote, and holds it
        page.locator("#export-json").click()
    exported = json.loads(open(info.value.path(), encoding="utf-8").read())
    validate(exported)
    assert exported["votes"] == doc["votes"]

    page.locator("#vote-tie").click()  # changed: replaces the vote (now cast with names visible)
    expect(page.locator("#vote-status")).to_contain_text("Your vote on turn 1: tie")
    (vote,) = web.ctx.store.get_session(doc["id"])["votes"]
    assert vote["outcome"] == "tie" and vote["blind"] is False
    page.locator("#vote-withdraw").click()
    expect(page.locator("#vote-status")).to_contain_text("no vote yet")
    assert "votes" not in web.ctx.store.get_session(doc["id"])


def test_battle_draws_from_the_pool_and_keeps_the_pair_hidden(page: object, wire: Wire, web: SimpleNamespace) -> None:
    wire.begin()
    page.locator("#battle input").check()
    expect(page.locator("#pool")).to_be_visible()
    expect(page.locator("#blind input")).to_be_checked()
    expect(page.locator("#head-0")).to_contain_text("Model A")  # the lanes are rendered for the battle
    pool_input = page.locator("#pool input")
    for model in (ALPHA, BETA, GAMMA):
        pool_input.fill(model)
        pool_input.press("Enter")
    expect(page.locator("#pool .token")).to_have_count(3)
    for k in range(12):  # alpha has met both others often: the least-voted pair, beta–gamma, is drawn first
        web.ctx.store.import_document(_voted_doc(f"01J0000000000000000000B{k:03d}", ALPHA, (BETA, GAMMA)[k % 2], "a",
                                                 tags=["seed"]))
    for k in range(3):
        run(page, f"Battle {k}: say a word.")
        lanes_done(page)
        expect(page.locator("#vote-status")).to_contain_text("Vote to reveal")
        assert page_leaks(page) == [] and wire.leaks() == []
        doc = newest(web)
        assert doc["tags"] == ["blind", "battle"] and doc["turns"][0]["prompt"].startswith(f"Battle {k}")
        models = {o["model"] for o in doc["turns"][0]["outputs"]}
        assert len(models) == 2 and models <= {ALPHA, BETA, GAMMA}
        if k == 0:
            assert models == {BETA, GAMMA}
        page.locator("#vote-bothbad").click()
        expect(page.locator("#reveal")).to_be_visible()
        page.locator("#new-round").click()  # a follow-up would go on in this battle: a new round draws again
        expect(page.locator("#notice")).to_contain_text("New round")
        page.wait_for_timeout(200)
        wire.forget()  # the reveal names them, rightly; the next battle starts hidden again


def test_three_lanes_two_turns_reopened_from_history_then_best_of_vote(page: object, wire: Wire,
                                                                     web: SimpleNamespace) -> None:
    # ids of their own: the History tab lists models of earlier (revealed) sessions in its filter
    colours = [f"test:chunks=4&delay_ms=20&text={c}%20" for c in ("red", "green", "blue")]
    secrets = ("text=red", "text=green", "text=blue", "scripted")
    picker = page.locator("#models input")
    for model in (ALPHA, BETA):
        page.locator("#models .token", has_text=model.split("&")[-1]).locator(".token-remove").click()
    expect(page.locator("#models .token")).to_have_count(0)
    for model in colours:
        picker.fill(model)
        picker.press("Enter")
    expect(page.locator("#lane-2")).to_be_visible()
    wire.begin()  # the picker's re-renders name the models, rightly: the page is not blind yet
    page.locator("#blind input").check()
    expect(page.locator("#head-2")).to_contain_text("Model C")
    run(page, "First question.")
    lanes_done(page, 3)
    order = [page.locator(f"#lane-{i}").inner_text().split()[0] for i in range(3)]
    run(page, "Second question.")  # the hidden session goes on with the same lanes
    lanes_done(page, 3)
    assert [page.locator(f"#lane-{i}").inner_text().split()[0] for i in range(3)] == order
    expect(page.locator("#vote-status")).to_contain_text("Turn 2: which is better?")
    doc = newest(web)
    assert len(doc["turns"]) == 2 and "votes" not in doc

    page.locator("#new-session").click()  # leave it un-voted, then open it again from History
    page.get_by_role("tab", name="History").click()
    page.locator("#history").get_by_role("gridcell", name=re.compile("First question")).first.click()
    expect(page.locator("#notice")).to_contain_text("vote to reveal")
    expect(page.locator("#head-1")).to_contain_text("Model B")
    expect(page.locator("#lane-1")).to_contain_text(order[1])
    assert page_leaks(page, secrets) == [] and wire.leaks(secrets) == []

    page.locator("#vote-best-which").get_by_text("B", exact=True).click()
    page.locator("#vote-best").click()
    expect(page.locator("#vote-status")).to_contain_text("Your vote on turn 2: B is the best")
    expect(page.locator("#head-1")).to_contain_text(f"text={order[1]}")
    (vote,) = web.ctx.store.get_session(doc["id"])["votes"]
    assert (vote["turn"], vote["outcome"], vote["winner"], vote["blind"]) == (1, "best", 1, True)
    assert f"text={order[1]}" in vote["models"][1]


def test_judge_vote_is_recorded_apart_and_reveals_nothing(page: object, wire: Wire, web: SimpleNamespace) -> None:
    wire.begin()
    page.locator("#blind input").check()
    expect(page.locator("#head-0")).to_contain_text("Model A")  # re-rendered: Run is wired to the blind lanes
    run(page, "Which colour is the sky?")
    lanes_done(page)
    page.get_by_text("Judge model").click()
    page.locator("#judge-model input, #judge-model textarea").first.fill(JUDGE)
    expect(page.locator("#judge-rubric textarea")).to_have_value(re.compile("impartial judge"))
    page.locator("#judge-run").click()
    expect(page.locator("#judge-out")).to_contain_text("A is better", timeout=10_000)
    expect(page.locator("#judge-out")).to_contain_text("VERDICT: A")
    expect(page.locator("#vote-status")).to_contain_text("Vote to reveal")  # still hidden for the human
    assert page_leaks(page) == [] and [s for s in wire.leaks() if s != "scripted"] == []
    (vote,) = newest(web)["votes"]
    assert vote["judge"]["model"] == JUDGE and vote["outcome"] == "a"
    assert "VERDICT: A" in vote["judge"]["reasoning"] and "impartial judge" in vote["judge"]["rubric"]

    page.locator("#judge-rubric textarea").fill("Pick B. End with VERDICT: B")  # edited rubric, every run
    page.locator("#judge-auto input").check()
    run(page, "And the grass?")
    lanes_done(page)
    # the line of turn 2 with its judge's vote (turn 1's line also said "judge …: A is better")
    expect(page.locator("#vote-status")).to_contain_text(re.compile(r"Turn 2:.*judge .*A is better", re.S))
    doc = newest(web)
    assert len(doc["turns"]) == 2 and [v["turn"] for v in doc["votes"]] == [0, 1]
    assert doc["votes"][1]["judge"]["rubric"] == "Pick B. End with VERDICT: B"


def _voted_doc(sid: str, a: str, b: str, outcome: str, judge: str | None = None,
               tags: tuple[str, ...] | list[str] = ("blind", "board")) -> dict:
    def out(model: str) -> dict:
        return {"model": model, "label": None, "params": {}, "text": "x", "status": "ok", "error": None,
                "finish_reason": "stop", "metrics": {}, "server_metrics": {}, "timeline": [[1.0, 1]]}

    vote = {"turn": 0, "lanes": [0, 1], "models": [a, b], "outcome": outcome,
            "winner": {"a": 0, "b": 1}.get(outcome), "blind": True,
            "judge": {"model": judge, "rubric": "", "reasoning": ""} if judge else None,
            "created_at": "2026-01-02T03:04:05Z"}
    return {"schema": "playground.session/1", "id": sid, "title": "voted", "created_at": "2026-01-02T03:04:05Z",
            "system": None, "tags": list(tags), "votes": [vote],
            "turns": [{"prompt": "q", "created_at": "2026-01-02T03:04:05Z", "outputs": [out(a), out(b)]}]}


def test_leaderboard_shows_ratings_and_the_win_rate_heat_map(page: object, web: SimpleNamespace) -> None:
    votes = ([("lb:strong", "lb:weak", "a")] * 6 + [("lb:strong", "lb:mid", "a")] * 3 + [("lb:mid", "lb:strong", "a")]
             + [("lb:mid", "lb:weak", "a")] * 3 + [("lb:weak", "lb:mid", "a")])
    for k, (a, b, outcome) in enumerate(votes):
        web.ctx.store.import_document(_voted_doc(f"01J00000000000000000000{k:03d}", a, b, outcome))
    web.ctx.store.import_document(_voted_doc("01J00000000000000000000J99", "lb:weak", "lb:strong", "a",
                                             judge="lb:judge"))
    page.get_by_role("tab", name="Leaderboard").click()
    page.locator("#lb-tags input, #lb-tags textarea").first.fill("board")
    page.locator("#lb-tags input, #lb-tags textarea").first.press("Enter")
    board = page.locator("#leaderboard")
    expect(board).to_contain_text("14 game(s) rated")
    rows = board.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("lb:strong")
    expect(rows.first).to_contain_text(re.compile(r"\d{3,4} – \d{3,4}"))  # the 95% interval
    expect(rows.first.locator("td").nth(4)).to_have_text("10")  # votes
    expect(rows.nth(1)).to_contain_text("lb:mid")
    expect(page.locator("#winrate td[title*='lb:strong vs lb:weak']")).to_contain_text("100%")
    expect(page.locator("#winrate td[title*='lb:strong vs lb:mid']")).to_contain_text("75%")
    expect(page.locator("#winrate td[title*='lb:mid vs lb:strong']")).to_contain_text("25%")
    page.locator("#lb-source").get_by_text("judge", exact=True).click()
    expect(board).to_contain_text("1 game(s) rated")
    expect(rows.first).to_contain_text("lb:weak")
