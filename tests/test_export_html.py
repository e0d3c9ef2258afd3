"""The HTML export (storage/html.py) of sessions made by real runs against the scripted server: what
the file holds, its size, the round trip through import, the CLI, and the file itself opened from
disk in a real Chromium with every network request blocked and logged."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from playground.testing import ScriptedServer
from playground.testing.frames import Reply
from storage import ImportRejected, Store
from storage.html import embedded_document, script_json, to_html

EVIL_ANSWER = ["<img src=x onerror=alert(11)>", " <script>alert(12)</script>", " & </script> that's",
               " \u2028all\u2029", " 😀 fin."]
EVIL_PROMPT = "<img src=x onerror=alert(15)> What is <b>2+2</b>? </script><script>alert(17)</script>"
EVIL_SYSTEM = "<script>alert(14)</script> be brief"
EVIL_MODEL = "openai:<img src=x onerror=alert(16)>"
EVIL_ERROR = "<script>alert(13)</script> upstream broke"
NAMED_MODELS = ["openai:scripted-a", EVIL_MODEL, "openai:scripted-c"]
BLIND_MODELS = ["openai:scripted-y", "openai:scripted-x"]
KEY = "sk-test-html-0123456789"


def _words(word: str, n: int) -> list[str]:
    return [f"{word}{k} " for k in range(n)]


async def _record(home: Path, server: ScriptedServer) -> tuple[str, str]:
    """Two sessions saved as the engine saves them: a named one (3 lanes, 2 turns, an error lane,
    a human vote and a judge's) and a blind one nobody has voted on."""
    from playground.api import compare
    from playground.blind import BLIND_TAG, record_vote, vote_from_answer
    from playground.judge import judge_turn
    from playground.recorder import Recorder
    from playground.runtime import Runtime
    from playground.session import new_document
    from playground.settings import Settings

    settings = Settings.load(env={"PLAYGROUND_HOME": str(home), "OPENAI_API_KEY": KEY,
                                  "OPENAI_BASE_URL": server.base_url("openai")}, cwd=home)
    runtime = Runtime(settings)
    store = Store.open(settings.database_url, home=settings.home)
    try:
        # lanes take the queued replies in the order their requests arrive: every reply has its own
        # pace, so whichever lane gets which, the lanes end at different times
        server.script(Reply(chunks=EVIL_ANSWER, delay=0.1), Reply(chunks=_words("beta", 12), delay=0.1),
                      Reply(chunks=_words("gamma", 16), delay=0.25))
        doc = await compare(EVIL_PROMPT, NAMED_MODELS, system=EVIL_SYSTEM, runtime=runtime,
                            recorder=Recorder(store), max_tokens=64)
        server.script(Reply(chunks=_words("delta", 4), delay=0.05),
                      Reply(chunks=_words("partial", 8), delay=0.1, error_after=4, message=EVIL_ERROR),
                      Reply(chunks=_words("epsilon", 10), delay=0.25))
        doc = await compare("And in words?", NAMED_MODELS, runtime=runtime, session=doc,
                            recorder=Recorder(store), max_tokens=64)
        record_vote(store, doc, vote_from_answer("b", 0, NAMED_MODELS, blind=False))
        doc = store.get_session(doc["id"])
        server.script(Reply(chunks=["The second answer is fuller.\n", "VERDICT: B"]))
        record_vote(store, doc, await judge_turn(runtime, doc, 1, "openai:judge", "Pick the clearest."))

        server.script(Reply(chunks=_words("left", 6), delay=0.05), Reply(chunks=_words("right", 6), delay=0.1))
        hidden = new_document("Which is better, tea or coffee?", None)
        hidden["tags"] = [BLIND_TAG]
        hidden = await compare("Which is better, tea or coffee?", BLIND_MODELS, runtime=runtime, session=hidden,
                               recorder=Recorder(store), max_tokens=64)
        return doc["id"], hidden["id"]
    finally:
        store.close()
        await runtime.aclose()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    home = tmp_path_factory.mktemp("html-home")
    with ScriptedServer() as server:
        named_id, blind_id = asyncio.run(_record(home, server))
    store = Store.open(f"sqlite:///{home / 'playground.db'}")
    try:
        named, hidden = store.export_document(named_id), store.export_document(blind_id)
    finally:
        store.close()
    assert [o["status"] for o in named["turns"][1]["outputs"]].count("error") == 1
    assert len(named["votes"]) == 2 and "blind" in hidden["tags"] and not hidden.get("votes")
    out = tmp_path_factory.mktemp("html-files")
    named_html, blind_html = out / "named.html", out / "blind.html"
    import playground

    named_html.write_text(playground.export_html(named), encoding="utf-8")
    blind_html.write_text(playground.export_html(hidden), encoding="utf-8")
    yield SimpleNamespace(home=home, named=named, hidden=hidden, named_html=named_html, blind_html=blind_html)


def _json_export(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"  # as `sessions export` writes it


# ---- the file -----------------------------------------------------------------------------------


def test_embedded_json_cannot_close_its_script_element_and_reads_back_exactly(recorded) -> None:
    text = script_json(recorded.named)
    for char in ("<", ">", "&", "\u2028", "\u2029"):
        assert char not in text
    assert json.loads(text) == recorded.named
    page = recorded.named_html.read_text(encoding="utf-8")
    assert page.lower().count("<script") == 2  # the document and the page's own script, nothing planted
    assert json.loads(embedded_document(page)) == recorded.named
    assert json.loads(embedded_document(page.encode("utf-8"))) == recorded.named


def test_the_file_forbids_every_request_but_its_own_inline_script_and_style(recorded) -> None:
    page = recorded.named_html.read_text(encoding="utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert csp.startswith("default-src 'none';") and "unsafe" not in csp
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", csp) and re.search(r"style-src 'sha256-", csp)
    assert not re.search(r"(src|href)=\"?(https?:)?//", page)  # no CDN, font or analytics address


def test_size_is_at_most_one_and_a_half_json_exports_plus_the_fixed_part(recorded) -> None:
    empty = {**recorded.named, "turns": [], "votes": [], "system": None}
    fixed = len(to_html(empty).encode()) - len(script_json(empty).encode())
    for doc in (recorded.named, recorded.hidden):
        html = to_html(doc).encode()
        assert len(html) <= 1.5 * len(_json_export(doc).encode()) + fixed, (len(html), fixed)


def test_round_trip_html_import_then_json_export_equals_the_original(recorded, tmp_path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        new_id = store.import_document(recorded.named_html.read_bytes())
        assert new_id == recorded.named["id"]
        assert _json_export(store.export_document(new_id)) == _json_export(recorded.named)
    finally:
        store.close()


def test_a_blind_session_not_voted_on_stays_blind_and_cannot_be_imported(recorded, tmp_path) -> None:
    page = recorded.blind_html.read_text(encoding="utf-8")
    for model in BLIND_MODELS:
        assert model not in page and model.split(":")[1] not in page
    assert 'id="playground-blind"' in page and 'id="playground-session"' not in page
    for output in recorded.hidden["turns"][0]["outputs"]:
        assert script_json(output["text"])[1:-1] in page  # the answers are there, to read and replay
    store = Store.open(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        with pytest.raises(ImportRejected, match="blind session not voted on yet"):
            store.import_document(page)
        with pytest.raises(ImportRejected, match="no Playground session in this HTML file"):
            store.import_document("<!doctype html><p>hello</p>")
    finally:
        store.close()
    import playground
    from playground.arena import make_vote

    models = [o["model"] for o in recorded.hidden["turns"][0]["outputs"]]
    voted = {**recorded.hidden, "votes": [make_vote(0, [0, 1], models, "a", blind=True)]}
    assert all(model in playground.export_html(voted) for model in BLIND_MODELS)  # revealed by the vote


# ---- the command line -----------------------------------------------------------------------------


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(PLAYGROUND_HOME=str(home), COLUMNS="120")
    return subprocess.run([sys.executable, "-m", "playground.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_cli_exports_html_markdown_beside_it_and_imports_the_html(recorded, tmp_path) -> None:
    sid = recorded.named["id"]
    res = _cli(recorded.home, "sessions", "export", sid, "--format", "html")
    assert res.returncode == 0, res.stderr
    assert json.loads(embedded_document(res.stdout)) == recorded.named

    res = _cli(recorded.home, "sessions", "export", sid, "--format", "json,md,html", "-o", str(tmp_path / "espresso"))
    assert res.returncode == 0, res.stderr
    markdown = (tmp_path / "espresso.md").read_text(encoding="utf-8")
    assert "[HTML (replays the race, opens offline)](espresso.html)" in markdown
    assert "[JSON (imports back)](espresso.json)" in markdown
    alone = _cli(recorded.home, "sessions", "export", sid, "--format", "md").stdout
    link_line = next(line for line in markdown.splitlines() if line.startswith("Also as"))
    assert alone == markdown.replace(link_line + "\n\n", "", 1)  # written alone: no links

    other = tmp_path / "other-home"
    imported = _cli(other, "sessions", "import", str(tmp_path / "espresso.html"))
    assert imported.returncode == 0, imported.stderr
    again = _cli(other, "sessions", "export", imported.stdout.strip())
    assert again.stdout == (tmp_path / "espresso.json").read_text(encoding="utf-8") == _json_export(recorded.named)

    blind = _cli(recorded.home, "sessions", "export", recorded.hidden["id"], "--format", "html",
                 "-o", str(tmp_path / "blind.html"))
    assert blind.returncode == 0 and "is blind and not voted on" in blind.stderr
    refused = _cli(other, "sessions", "import", str(tmp_path / "blind.html"))
    assert refused.returncode == 2 and "blind session not voted on yet" in refused.stderr
    bad = _cli(recorded.home, "sessions", "export", sid, "--format", "pdf")
    assert bad.returncode == 2 and "use json, md or html" in bad.stderr


# ---- the file in a real browser, from disk, with no network ---------------------------------------


expect = pytest.importorskip("playwright.sync_api").expect


class Opened(SimpleNamespace):
    page: Any
    requests: list[str]
    dialogs: list[str]
    problems: list[str]


@pytest.fixture
def open_file(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def open_(path: Path, **options: Any) -> Opened:
        context = browser.new_context(offline=True, **{"viewport": {"width": 1400, "height": 900}, **options})
        contexts.append(context)
        opened = Opened(requests=[], dialogs=[], problems=[])
        context.on("request", lambda r: opened.requests.append(r.url))
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                      else route.abort())
        page = context.new_page()
        page.on("dialog", lambda d: (opened.dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: opened.problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: opened.problems.append(str(e)))
        page.add_init_script("window.__pwned = []; document.addEventListener('securitypolicyviolation',"
                             " (e) => window.__pwned.push(e.violatedDirective));")
        page.goto(path.as_uri())
        page.wait_for_selector("article.lane")
        opened.page = page
        return opened

    yield open_
    for context in contexts:
        context.close()


def _number(text: str) -> float:
    return float(re.search(r"-?\d+(\.\d+)?(e-?\d+)?", text.replace(",", "")).group(0))


@pytest.mark.browser
def test_every_lane_shows_its_text_figures_and_errors_and_nothing_planted_runs(recorded, open_file) -> None:
    opened = open_file(recorded.named_html)
    page = opened.page
    assert page.locator("#title").text_content() == recorded.named["title"]
    assert page.locator("#system-text").text_content() == EVIL_SYSTEM
    for t, turn in enumerate(recorded.named["turns"]):
        section = page.locator(f"#turn-{t}")
        assert section.locator(".prompt").text_content() == turn["prompt"]
        for i, o in enumerate(turn["outputs"]):
            lane = section.locator(f"article.lane[data-lane='{i}']")
            assert lane.locator(".answer").text_content() == o["text"]
            assert lane.get_attribute("data-status") == o["status"]
            assert o["model"] in lane.text_content()
            m = o["metrics"]
            for key, tolerance in (("ttft_ms", 1), ("total_ms", 1), ("tokens_per_s", 0.06), ("output_tokens", 0)):
                if m.get(key) is not None:
                    assert abs(_number(lane.locator(f"[data-figure='{key}']").text_content()) - m[key]) <= tolerance
            if o["error"]:
                assert EVIL_ERROR in lane.locator(".lane-error").text_content()
    assert page.locator("#turn-0 .lane.voted").count() == 1  # the human vote's winner
    assert "Judge openai:judge" in page.locator("#turn-1 .votes").text_content()
    assert page.locator("#turn-0 svg polyline").count() == 3 and page.locator("#turn-1 svg polyline").count() == 3
    assert page.locator("img").count() == 0 and page.locator("script").count() == 2
    assert EVIL_MODEL in page.locator("#turn-0 article.lane[data-lane='1']").text_content()
    page.locator("#turn-0 button.replay").click()  # the planted text replayed: still text
    expect(page.locator("#turn-0 button.replay")).to_have_text("▶ Replay", timeout=10_000)  # replayed to its end
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned") == [] and opened.dialogs == [] and opened.problems == []
    assert opened.requests == [recorded.named_html.as_uri()]


FINISHES = """([turn, label]) => new Promise((resolve) => {
  document.querySelector(`input[name=speed][value='${label}']`).click();
  const section = document.getElementById('turn-' + turn);
  const lanes = [...section.querySelectorAll('article.lane')];
  const ended = new Set(['ok', 'error', 'cancelled', 'interrupted', 'running']);
  const log = [];
  let t0 = 0;
  const watch = new MutationObserver((changes) => {
    const now = performance.now() - t0;
    for (const {target} of changes) {  // in the order the lanes changed
      const lane = +target.dataset.lane;
      if (ended.has(target.dataset.status) && !log.some((e) => e[0] === lane)) log.push([lane, now]);
    }
    if (log.length === lanes.length) { watch.disconnect(); resolve(log); }
  });
  lanes.forEach((l) => watch.observe(l, {attributes: true, attributeFilter: ['data-status']}));
  t0 = performance.now();
  section.querySelector('button.replay').click();
})"""


@pytest.mark.browser
def test_replay_at_10x_finishes_the_lanes_in_the_recorded_order_at_a_tenth_of_the_time(recorded, open_file) -> None:
    from playground.web.replay import schedule

    opened = open_file(recorded.named_html)
    for t, turn in enumerate(recorded.named["turns"]):
        plan = schedule(turn["outputs"])  # the page's replay: the order and times to reproduce
        order = [lane for _, lane, chunk in plan if chunk is None]
        expected_ms = plan[-1][0] * 1000 / 10
        ends = []
        for _ in range(3):  # a shared CPU can stall the page a few tens of ms: the best of 3 replays
            log = opened.page.evaluate(FINISHES, [t, "10×"])
            assert [lane for lane, _ in log] == order
            ends.append(log[-1][1])
            if abs(ends[-1] - expected_ms) <= 0.15 * expected_ms:
                break
        assert abs(ends[-1] - expected_ms) <= 0.15 * expected_ms, (ends, expected_ms)
        for i, o in enumerate(turn["outputs"]):
            lane = opened.page.locator(f"#turn-{t} article.lane[data-lane='{i}']")
            assert lane.locator(".answer").text_content() == o["text"]


@pytest.mark.browser
def test_replay_at_1x_runs_the_clocks_shows_partial_text_and_stop_restores_the_end(recorded, open_file) -> None:
    opened = open_file(recorded.named_html)
    page = opened.page
    turn = recorded.named["turns"][0]
    slowest = max(range(3), key=lambda i: turn["outputs"][i]["metrics"]["total_ms"])
    lane = page.locator(f"#turn-0 article.lane[data-lane='{slowest}']")
    page.locator("input[name=speed][value='1×']").click()
    page.locator("#turn-0 button.replay").click()
    page.wait_for_timeout(900)
    assert lane.get_attribute("data-status") == "replaying"
    partial = lane.locator(".answer").text_content()
    assert 0 < len(partial) < len(turn["outputs"][slowest]["text"])
    assert turn["outputs"][slowest]["text"].startswith(partial)
    clock = _number(page.locator("#turn-0 .turn-clock").text_content())
    assert 0.5 < clock < 2.0
    assert lane.locator(".after").is_hidden()  # figures once the lane has replayed to its end
    page.locator("#turn-0 button.replay").click()  # Stop: back to the recorded end
    assert lane.locator(".answer").text_content() == turn["outputs"][slowest]["text"]
    assert lane.get_attribute("data-status") == "ok" and lane.locator(".after").is_visible()
    page.locator("input[name=speed][value='instant']").click()
    page.locator("#turn-1 button.replay").click()
    for i, o in enumerate(recorded.named["turns"][1]["outputs"]):
        assert page.locator(f"#turn-1 article.lane[data-lane='{i}']").get_attribute("data-status") == o["status"]
    assert opened.problems == [] and opened.requests == [recorded.named_html.as_uri()]


@pytest.mark.browser
def test_a_blind_file_names_lanes_by_letter_and_hides_figures(recorded, open_file) -> None:
    opened = open_file(recorded.blind_html)
    page = opened.page
    names = page.locator("#turn-0 .lane-name").all_text_contents()
    assert names == ["Model A", "Model B"]
    for i, o in enumerate(recorded.hidden["turns"][0]["outputs"]):
        lane = page.locator(f"#turn-0 article.lane[data-lane='{i}']")
        assert lane.locator(".answer").text_content() == o["text"]
        assert lane.locator(".figs").text_content() == "figures after the vote"
    assert "not voted on yet" in page.locator("#blind-note").text_content()
    assert all(model not in page.content() for model in BLIND_MODELS)
    log = page.evaluate(FINISHES, [0, "10×"])
    assert len(log) == 2 and opened.problems == [] and opened.requests == [recorded.blind_html.as_uri()]
