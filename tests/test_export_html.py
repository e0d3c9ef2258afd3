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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.testing import ScriptedServer
from playground.testing.frames import Reply
from storage import ImportRejected, Store
from storage.html import answers_html, blind_view, embedded_document, script_json, to_html

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
    from playground.arena.blind import BLIND_TAG, record_vote, vote_from_answer
    from playground.arena.judge import judge_turn
    from playground.engine.runtime import Runtime
    from playground.session.document import new_document
    from playground.session.recorder import Recorder
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
    assert _parser_markup(text) == [] and "\\u003c/script>" in text  # the planted ones, escaped
    assert "<img src=x onerror=alert(11)>" in text and "\u2028" in text  # the rest as it is
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
        assert len(html) <= 1.5 * len(_json_export(doc).encode()) + fixed + _rendered(doc), (len(html), fixed)


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
            assert lane.locator(".answer-raw").text_content() == o["text"]
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
    from storage.document import Turn

    opened = open_file(recorded.named_html)
    for t, turn in enumerate(recorded.named["turns"]):
        plan = schedule(Turn.of(turn).outputs)  # the page's replay: the order and times to reproduce
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
            assert lane.locator(".answer-raw").text_content() == o["text"]


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
    partial = lane.locator(".answer-raw").text_content()
    assert 0 < len(partial) < len(turn["outputs"][slowest]["text"])
    assert turn["outputs"][slowest]["text"].startswith(partial)
    clock = _number(page.locator("#turn-0 .turn-clock").text_content())
    assert 0.5 < clock < 2.0
    assert lane.locator(".after").is_hidden()  # figures once the lane has replayed to its end
    page.locator("#turn-0 button.replay").click()  # Stop: back to the recorded end
    assert lane.locator(".answer-raw").text_content() == turn["outputs"][slowest]["text"]
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
        assert lane.locator(".answer-raw").text_content() == o["text"]
        assert lane.locator(".figs").text_content() == "figures after the vote"
    assert "not voted on yet" in page.locator("#blind-note").text_content()
    assert all(model not in page.content() for model in BLIND_MODELS)
    log = page.evaluate(FINISHES, [0, "10×"])
    assert len(log) == 2 and opened.problems == [] and opened.requests == [recorded.blind_html.as_uri()]


# ---- text made of what the HTML parser reads inside a script element ------------------------------
# Inside `<script type="application/json">` only "</script", "<!--" and "<script" (any case) mean
# anything to the parser; the file escapes only those, and embeds the document as base64 when even
# that would make it larger than 4/3 × its JSON — so the size bound holds for every document.

FLOOD = ["<" * 10_000, "&" * 10_000, ">" * 10_000]  # each one chunk: nothing streamed pays for escapes
MARKUP = "</script><!--<script>alert(21)</script>--></SCRIPT ><!-- <sCrIpT/>x"
MARKUP_PROMPT = "</script><!-- " * 40 + "<script>alert(23)</script> and </SCRIPT\t<!--"
MARKUP_SYSTEM = "<!--<script>alert(25)</script>"
MARKUP_MODELS = ["openai:</script><!--a", "openai:<script>alert(24)</script><!--b"]


async def _record_hostile(home: Path, server: ScriptedServer) -> tuple[str, str]:
    """Two sessions saved as the engine saves them: three lanes that each answered 10,000 `<`, `&`
    or `>` in one chunk, and two lanes whose prompt, system prompt, model ids and answers are full
    of `</script>` and `<!--` (one answer in one chunk, one streamed)."""
    from playground.api import compare
    from playground.engine.runtime import Runtime
    from playground.session.recorder import Recorder
    from playground.settings import Settings

    settings = Settings.load(env={"PLAYGROUND_HOME": str(home), "OPENAI_API_KEY": KEY,
                                  "OPENAI_BASE_URL": server.base_url("openai")}, cwd=home)
    runtime = Runtime(settings)
    store = Store.open(settings.database_url, home=settings.home)
    try:
        server.script(*(Reply(chunks=[text]) for text in FLOOD))
        flood = await compare("Say < & > ten thousand times.", ["openai:lt", "openai:amp", "openai:gt"],
                              runtime=runtime, recorder=Recorder(store))
        server.script(Reply(chunks=[MARKUP * 150]), Reply(chunks=[MARKUP] * 20, delay=0.01))
        markup = await compare(MARKUP_PROMPT, MARKUP_MODELS, system=MARKUP_SYSTEM, runtime=runtime,
                               recorder=Recorder(store))
        return flood["id"], markup["id"]
    finally:
        store.close()
        await runtime.aclose()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    home = tmp_path_factory.mktemp("html-hostile")
    with ScriptedServer() as server, ThreadPoolExecutor(1) as thread:  # a thread: the browser's loop may run here
        flood_id, markup_id = thread.submit(asyncio.run, _record_hostile(home, server)).result()
    store = Store.open(f"sqlite:///{home / 'playground.db'}")
    try:
        flood, markup = store.export_document(flood_id), store.export_document(markup_id)
    finally:
        store.close()
    assert sorted(o["text"] for o in flood["turns"][0]["outputs"]) == sorted(FLOOD)
    assert all(len(o["timeline"]) == 1 for o in flood["turns"][0]["outputs"])  # one chunk each
    assert [o["model"] for o in markup["turns"][0]["outputs"]] == MARKUP_MODELS
    assert sorted(len(o["timeline"]) for o in markup["turns"][0]["outputs"]) == [1, 20]
    out = tmp_path_factory.mktemp("html-hostile-files")
    files = {}
    for name, doc in (("flood", flood), ("markup", markup)):
        files[name] = out / f"{name}.html"
        files[name].write_text(to_html(doc), encoding="utf-8")
    yield SimpleNamespace(flood=flood, markup=markup, files=files)


def _fixed_part() -> int:
    """The HTML of a session with no turns less its embedded JSON: the template, style, script, CSP."""
    empty = {"schema": "playground.session/1", "id": "01J0000000000000000000EMPT", "title": "t", "turns": []}
    return len(to_html(empty).encode()) - len(script_json(empty).encode())


def _rendered(doc: dict) -> int:
    """The bytes of the answers' rendered Markdown in the file (storage/html.py: answers_html)."""
    return len(answers_html(doc).encode())


def _parser_markup(page: str) -> list[str]:
    return re.findall(r"</?script|<!--", page, re.IGNORECASE | re.ASCII)  # as the HTML parser matches


def test_text_of_lt_amp_gt_or_script_markup_stays_within_the_size_bound_and_reads_back(hostile) -> None:
    fixed = _fixed_part()
    for name, doc in (("flood", hostile.flood), ("markup", hostile.markup)):
        page = hostile.files[name].read_text(encoding="utf-8")
        assert len(page.encode()) <= 1.5 * len(_json_export(doc).encode()) + fixed + _rendered(doc), name
        assert _parser_markup(page) == ["<script", "</script", "<script", "</script"], name  # the file's own
        assert json.loads(embedded_document(page)) == doc
        assert json.loads(embedded_document(page.encode())) == doc
    flood = hostile.files["flood"].read_text(encoding="utf-8")
    assert 'data-encoding="base64"' not in flood and all(text in flood for text in FLOOD)  # as they are
    markup = hostile.files["markup"].read_text(encoding="utf-8")
    assert 'data-encoding="base64"' in markup  # escaped, it would be ~1.8 × its JSON


def test_text_of_lt_amp_gt_or_script_markup_round_trips_through_import(hostile, tmp_path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        for name, doc in (("flood", hostile.flood), ("markup", hostile.markup)):
            new_id = store.import_document(hostile.files[name].read_bytes())
            assert _json_export(store.export_document(new_id)) == _json_export(doc)
    finally:
        store.close()


def test_a_damaged_base64_session_is_refused_with_a_one_line_error(hostile, tmp_path) -> None:
    page = hostile.files["markup"].read_text(encoding="utf-8")
    start = page.index('data-encoding="base64">') + len('data-encoding="base64">')
    store = Store.open(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        with pytest.raises(ImportRejected, match="damaged .*export it again"):
            store.import_document(page[:start] + "!!" + page[start + 2:])
    finally:
        store.close()


_PIECES = ["<", ">", "&", "</script>", "</SCRIPT ", "<script", "<!--", "-->", "<!-", "<\u017fcript", "a",
           "\u2028", "😀", "\"", "\\", "\n"]


# a text: a few runs of one piece repeated (dense, as one big chunk of "<" is) and a mix of pieces
_RUNS = st.lists(st.tuples(st.sampled_from(_PIECES), st.integers(0, 1500)), max_size=4)
_TEXT = st.one_of(_RUNS.map(lambda runs: "".join(piece * n for piece, n in runs)),
                  st.lists(st.sampled_from(_PIECES), max_size=400).map("".join))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(_TEXT, min_size=1, max_size=3), prompt=_TEXT)
def test_every_document_stays_within_the_bound_and_reads_back(texts: list[str], prompt: str) -> None:
    doc = {"schema": "playground.session/1", "id": "01J0000000000000000000PROP", "title": prompt[:20],
           "turns": [{"prompt": prompt, "outputs": [{"model": f"openai:{t[:12]}", "text": t, "status": "ok",
                                                     "timeline": [[12.5, len(t)]] if t else []} for t in texts]}]}
    page = to_html(doc)
    assert len(page.encode()) <= 1.5 * len(_json_export(doc).encode()) + _fixed_part() + _rendered(doc)
    assert _parser_markup(page) == ["<script", "</script", "<script", "</script"]
    assert json.loads(embedded_document(page)) == doc


@pytest.mark.browser
def test_text_of_lt_amp_gt_or_script_markup_opens_as_literal_text_and_nothing_runs(hostile, open_file) -> None:
    for name, doc in (("flood", hostile.flood), ("markup", hostile.markup)):
        opened = open_file(hostile.files[name])
        page = opened.page
        turn = doc["turns"][0]
        assert page.locator("#turn-0 .prompt").text_content() == turn["prompt"]
        if doc["system"]:
            assert page.locator("#system-text").text_content() == doc["system"]
        page.locator("input[name=speed][value='instant']").click()
        for replayed in (False, True):  # as built, and replayed from the timelines
            if replayed:
                page.locator("#turn-0 button.replay").click()
            for i, o in enumerate(turn["outputs"]):
                lane = page.locator(f"#turn-0 article.lane[data-lane='{i}']")
                assert lane.locator(".answer-raw").text_content() == o["text"]
                assert o["model"] in lane.text_content()
        assert page.locator("img").count() == 0 and page.locator("script").count() == 2
        page.wait_for_timeout(200)
        assert page.evaluate("window.__pwned") == [] and opened.dialogs == [] and opened.problems == [], name
        assert opened.requests == [hostile.files[name].as_uri()]


# ---- a retried lane: its failed attempts (metrics.retry_ms, the `retries` list) -------------------


async def _record_retried(home: Path, server: ScriptedServer) -> dict[str, Any]:
    """One lane answered 503 first, then streamed after a retry (as tests/test_retry_timing.py)."""
    from playground.api import compare
    from playground.engine.runtime import Runtime
    from playground.settings import Settings

    (home / "playground.toml").write_text("[providers.openai]\nretry = { max_tries = 3, base_delay = 0.05, "
                                          "max_wait = 1 }\noptions = { trust_env = false }\n", encoding="utf-8")
    runtime = Runtime(Settings.load(env={"PLAYGROUND_HOME": str(home), "OPENAI_API_KEY": KEY,
                                         "OPENAI_BASE_URL": server.base_url("openai")}, cwd=home))
    server.script(Reply(status=503, header_delay=0.3, message="busy"),
                  Reply(chunks=["one ", "two ", "three"], first_delay=0.05, delay=0.05))
    try:
        return await compare("Count to three.", ["openai:retried"], runtime=runtime)
    finally:
        await runtime.aclose()


FIRST_TEXT = """() => new Promise((resolve) => {
  document.querySelector("input[name=speed][value='1×']").click();
  const answer = document.querySelector('#turn-0 article.lane .answer-raw');
  const watch = new MutationObserver(() => {
    if (answer.textContent) { watch.disconnect(); resolve(performance.now() - t0); }
  });
  watch.observe(answer, {childList: true, characterData: true, subtree: true});
  const t0 = performance.now();
  document.querySelector('#turn-0 button.replay').click();
})"""


@pytest.mark.browser
def test_a_retried_lane_replays_its_answer_after_the_failed_attempts(open_file, tmp_path) -> None:
    with ScriptedServer() as server, ThreadPoolExecutor(1) as thread:
        doc = thread.submit(asyncio.run, _record_retried(tmp_path, server)).result()
    output = doc["turns"][0]["outputs"][0]
    m = output["metrics"]
    assert output["status"] == "ok" and len(output["retries"]) == 1 and m["retry_ms"] >= 300
    path = tmp_path / "retried.html"
    path.write_text(to_html(doc), encoding="utf-8")
    opened = open_file(path)
    lane = opened.page.locator("#turn-0 article.lane")
    assert "retried" in lane.text_content()
    # as playground/web/replay.py: no text before the answering attempt's first chunk (a busy
    # machine only makes it later)
    assert opened.page.evaluate(FIRST_TEXT) >= 0.95 * (m["retry_ms"] + m["ttft_ms"])
    expect(lane).to_have_attribute("data-status", "ok", timeout=10_000)
    assert lane.locator(".answer-raw").text_content() == output["text"]
    assert opened.problems == [] and opened.requests == [path.as_uri()]
    assert blind_view(doc)["turns"][0]["outputs"][0]["metrics"]["retry_ms"] == m["retry_ms"]  # a blind replay's too
