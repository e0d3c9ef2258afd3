"""The real page in a real Chromium (Playwright, Debian's /usr/bin/chromium, headless), against the
app launched in-process with real backends: gguf:smollm2 (llama.cpp, SmolLM2-135M, ≤ 12 tokens) and
an OpenAI-protocol scripted server for a lane whose timing and text the test controls."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from playground.settings import Settings
from playground.testing import ScriptedServer, free_port
from playground.testing.frames import Reply
from playground.web.serve import start, stop
from storage.schema import validate

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
SLOW = 60_000  # ms: SmolLM2 on a shared 2-core machine


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    server = ScriptedServer().start()
    home = tmp_path_factory.mktemp("web-home")
    (home / "playground.toml").write_text("[defaults]\ntemperature = 0\nmax_tokens = 12\nseed = 1\n")
    settings = Settings.load(env={"PLAYGROUND_HOME": str(home), "OPENAI_API_KEY": "sk-test-web-0123456789",
                                  "OPENAI_BASE_URL": server.base_url("openai")}, cwd=home)
    demo, ctx, url = start(settings, models=["gguf:smollm2", "openai:scripted"], port=free_port())
    try:
        yield SimpleNamespace(server=server, ctx=ctx, url=url)
    finally:
        stop(demo, ctx)
        server.stop()


@pytest.fixture
def page(browser: object, web: SimpleNamespace) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    web.server.reset()
    pg.goto(web.url)
    expect(pg.locator("#lane-1")).to_be_visible()  # the lanes (and their events) are rendered
    yield pg
    context.close()


def run(page: object, prompt: str) -> None:
    page.locator("#prompt textarea").fill(prompt)
    page.locator("#prompt textarea").press("Control+Enter")  # the keyboard shortcut runs


def drop_local_lane(page: object) -> None:
    """Remove the gguf:smollm2 chip from the model picker: the lanes re-render with one lane."""
    page.locator("#models .token", has_text="gguf:smollm2").locator(".token-remove").click()
    expect(page.locator("#lane-1")).to_have_count(0)
    expect(page.locator("#lane-0")).to_be_visible()


def test_two_lanes_stream_side_by_side_with_figures(page: object, web: SimpleNamespace) -> None:
    web.server.default = Reply(chunks=[f"word{k} " for k in range(30)], delay=0.1)
    run(page, "Name three colours.")
    expect(page.locator("#stats-1")).to_contain_text("streaming", timeout=10_000)
    expect(page.locator("#lane-1")).to_contain_text("word1 ")
    partial = len(page.locator("#lane-1").inner_text())
    expect(page.locator("#lane-1")).to_contain_text("word29", timeout=10_000)
    assert partial < len(page.locator("#lane-1").inner_text())  # it grew while we watched
    expect(page.locator("#stats-1")).to_contain_text("done")
    expect(page.locator("#stats-0")).to_contain_text("done", timeout=SLOW)
    for i in (0, 1):
        expect(page.locator(f"#stats-{i}")).to_contain_text(re.compile(r"TTFT\s*\d+ ms"))
        expect(page.locator(f"#stats-{i}")).to_contain_text(re.compile(r"\d+(\.\d)? tok/s"))
    assert page.locator("#lane-0").inner_text().strip()  # SmolLM2 said something
    expect(page.locator(".fig.best").first).to_be_visible()  # best-of marks across lanes
    expect(page.locator("#stats-0")).to_contain_text("threads")  # the local lane's notes
    expect(page.locator("#notice")).to_contain_text("saved")


def test_stop_cancels_the_stream_server_side_and_saves_cancelled(page: object, web: SimpleNamespace) -> None:
    web.server.default = Reply(chunks=["tick "] * 600, delay=0.05)  # 30 s unless stopped
    drop_local_lane(page)
    run(page, "Count forever.")
    expect(page.locator("#lane-0")).to_contain_text("tick tick tick", timeout=10_000)
    page.locator("#stop").click()
    expect(page.locator("#stats-0")).to_contain_text("cancelled", timeout=5_000)
    stopped_at = len(page.locator("#lane-0").inner_text())
    deadline = time.monotonic() + 5
    while not web.server.requests[-1].disconnected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert web.server.requests[-1].disconnected and not web.server.requests[-1].completed
    time.sleep(0.5)
    assert len(page.locator("#lane-0").inner_text()) == stopped_at  # nothing more arrives
    newest = web.ctx.store.list_sessions(limit=1)[0]
    doc = web.ctx.store.get_session(newest["id"])
    assert doc["turns"][0]["prompt"] == "Count forever."
    assert doc["turns"][0]["outputs"][0]["status"] == "cancelled"
    assert doc["turns"][0]["outputs"][0]["text"].startswith("tick tick tick")
    expect(page.locator("#run")).to_be_enabled()


def test_closing_the_tab_cancels_the_run_server_side(page: object, web: SimpleNamespace) -> None:
    web.server.default = Reply(chunks=["tock "] * 600, delay=0.05)  # 30 s unless cancelled
    drop_local_lane(page)
    run(page, "Count until I leave.")
    expect(page.locator("#lane-0")).to_contain_text("tock tock tock", timeout=10_000)
    page.context.close()  # the user closes the tab mid-stream: the provider must not go on streaming
    deadline = time.monotonic() + 5
    while not web.server.requests[-1].disconnected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert web.server.requests[-1].disconnected and not web.server.requests[-1].completed
    for _ in range(100):  # the lane's end is saved as it was: cancelled, with the text it had
        output = web.ctx.store.get_session(web.ctx.store.list_sessions(limit=1)[0]["id"])["turns"][0]["outputs"][0]
        if output["status"] != "running":
            break
        time.sleep(0.05)
    assert output["status"] == "cancelled" and output["text"].startswith("tock tock tock")


def _recorded_doc() -> dict:
    chunks = ["Espresso ", "needs ", "fresh ", "beans ", "and ", "a ", "fine ", "grind."]
    other = ["Good ", "espresso: ", "pressure ", "and ", "time."]

    def out(model: str, parts: list[str], step: float) -> dict:
        return {"model": model, "label": None, "params": {"max_tokens": 12}, "text": "".join(parts),
                "status": "ok", "error": None, "finish_reason": "stop",
                "metrics": {"ttft_ms": 100.0, "total_ms": 100 + step * len(parts), "queue_ms": 0.0, "load_ms": 0.0,
                            "input_tokens": 5, "output_tokens": len(parts), "tokens_per_s": 1000 / step,
                            "cost_usd": 0.0, "estimated": [], "contention": {"threads": 2, "shared_with": []}},
                "server_metrics": {}, "timeline": [[100 + step * k, len(p)] for k, p in enumerate(parts)]}

    return {"schema": "playground.session/1", "id": "01J0000000000000000000WEB1", "title": "replay me espresso",
            "created_at": "2026-01-02T03:04:05.000Z", "system": None,
            "turns": [{"prompt": "What makes espresso great?", "created_at": "2026-01-02T03:04:05.000Z",
                       "outputs": [out("gguf:smollm2", chunks, 250.0), out("openai:scripted", other, 150.0)]}]}


def test_history_open_replay_and_export_json(page: object, web: SimpleNamespace) -> None:
    web.ctx.store.import_document(_recorded_doc())
    page.get_by_role("tab", name="History").click()
    page.locator("#history-search input, #history-search textarea").first.fill("makes espresso")
    page.locator("#history-search input, #history-search textarea").first.press("Enter")
    cell = page.locator("#history").get_by_role("gridcell", name=re.compile("replay me espresso")).first
    expect(cell).to_be_visible()
    cell.click()
    expect(page.locator("#lane-0")).to_contain_text("Espresso needs fresh beans and a fine grind.")
    expect(page.locator("#stats-0")).to_contain_text("done")
    expect(page.locator("#earlier-0")).to_contain_text("What makes espresso great?")

    page.locator("#speed").get_by_text("1×").click()
    page.locator("#replay").click()
    expect(page.locator("#stats-0")).to_contain_text("replaying", timeout=5_000)
    expect(page.locator("#lane-0")).not_to_contain_text("grind.")  # mid-replay: partial text
    expect(page.locator("#stats-0")).to_contain_text("done", timeout=10_000)
    expect(page.locator("#lane-0")).to_contain_text("Espresso needs fresh beans and a fine grind.")
    expect(page.locator("#lane-1")).to_contain_text("Good espresso: pressure and time.")

    with page.expect_download() as info:
        page.locator("#export-json").click()
    doc = json.loads(open(info.value.path(), encoding="utf-8").read())
    validate(doc)
    assert doc["title"] == "replay me espresso" and doc["turns"][0]["outputs"][1]["text"].startswith("Good")


def test_model_output_is_shown_as_text_never_run(page: object, web: SimpleNamespace) -> None:
    evil = ["<img src=x onerror=alert(1)>", " <script>alert(2)</script>", " ${alert(3)} {{value}}"]
    web.server.default = Reply(chunks=evil)
    drop_local_lane(page)
    run(page, "<b>bold?</b>")
    lane = page.locator("#lane-0")
    expect(lane).to_contain_text("<img src=x onerror=alert(1)> <script>alert(2)</script> ${alert(3)} {{value}}")
    expect(page.locator("#stats-0")).to_contain_text("done")
    assert lane.locator("img").count() == 0 and lane.locator("script").count() == 0
    expect(page.locator("#earlier-0")).to_contain_text("<b>bold?</b>")
    page.wait_for_timeout(300)
    assert page.dialogs == []


def test_repeat_runs_show_median_and_p90_per_lane(page, web):
    drop_local_lane(page)
    page.locator("#repeat input").fill("3")
    page.locator("#warmup input").check()
    run(page, "repeat me")
    notice = page.locator("#notice")
    expect(notice).to_contain_text("TTFT median · p90", timeout=SLOW)
    expect(notice).to_contain_text("3, 1 warm-up")
    expect(notice).to_contain_text("openai:scripted")
    saved = web.ctx.store.get_session(web.ctx.store.list_sessions(limit=1)[0]["id"])
    outputs = saved["turns"][-1]["outputs"]
    assert [(o.get("repeat"), bool(o.get("warmup"))) for o in outputs] == [(0, True), (1, False), (2, False),
                                                                          (3, False)]
    assert all(o["status"] == "ok" for o in outputs)
    expect(page.locator("#lane-0")).to_contain_text("Hello, world!")


def test_rerun_with_another_model_diff_markdown_import_delete_stats_settings(page: object, web: SimpleNamespace,
                                                                             tmp_path) -> None:
    web.server.default = Reply(chunks=["The ", "quick ", "brown ", "fox."])
    drop_local_lane(page)
    run(page, "Describe a fox.")
    expect(page.locator("#stats-0")).to_contain_text("done", timeout=10_000)
    expect(page.locator("#notice")).to_contain_text("saved")
    source_id = web.ctx.store.list_sessions(limit=1)[0]["id"]

    with page.expect_download() as info:  # Markdown export: the figures table and the answer
        page.locator("#export-md").click()
    markdown = open(info.value.path(), encoding="utf-8").read()
    assert "Describe a fox." in markdown and "The quick brown fox." in markdown and "| openai:scripted" in markdown

    # re-run with another model in the lane: a new session linked to its source
    other = "test:chunks=3&text=slow%20red%20fox%20"
    page.locator("#models .token", has_text="openai:scripted").locator(".token-remove").click()
    page.locator("#models input").fill(other)
    page.locator("#models input").press("Enter")
    expect(page.locator("#head-0")).to_contain_text("text=slow")
    page.locator("#rerun").click()
    expect(page.locator("#lane-0")).to_contain_text("slow red fox slow red fox slow red fox", timeout=10_000)
    expect(page.locator("#notice")).to_contain_text("saved")
    rerun = web.ctx.store.get_session(web.ctx.store.list_sessions(limit=1)[0]["id"])
    assert rerun["rerun_of"] == source_id and rerun["turns"][0]["prompt"] == "Describe a fox."
    assert rerun["turns"][0]["outputs"][0]["model"] == other

    # the diff: the re-run's answer against its source's, word by word, as text
    page.get_by_text("Diff two answers").click()
    expect(page.locator("#diff-b input")).to_have_value("original 1: openai:scripted")
    page.locator("#diff").click()
    expect(page.locator("#diff-out del").first).to_contain_text("slow")
    expect(page.locator("#diff-out ins").first).to_contain_text("The")
    expect(page.locator("#diff-out")).to_contain_text("fox")

    # import: a good document lands in History, a broken one is refused in one line
    page.get_by_role("tab", name="History").click()
    good = _recorded_doc() | {"id": "01J0000000000000000000CAFE", "title": "imported latte"}
    (tmp_path / "good.json").write_text(json.dumps(good), encoding="utf-8")
    (tmp_path / "bad.json").write_text(json.dumps({**good, "schema": "playground.session/9"}), encoding="utf-8")
    for name, said in (("bad.json", "import rejected"), ("good.json", "imported “imported latte”")):
        with page.expect_file_chooser() as chooser:
            page.locator("#import-json").click()
        chooser.value.set_files(str(tmp_path / name))
        expect(page.locator("#history-msg")).to_contain_text(said)
    assert "\n" not in page.locator("#history-msg").inner_text().strip()
    latte = page.locator("#history").get_by_role("gridcell", name=re.compile("imported latte")).first
    expect(latte).to_be_visible()

    # delete: open the imported session, come back, delete it — gone from the table and the store
    latte.click()
    expect(page.locator("#lane-0")).to_contain_text("Espresso needs fresh beans")
    page.get_by_role("tab", name="History").click()
    page.locator("#delete").click()
    page.locator("#delete-confirm").click()
    expect(page.locator("#history-msg")).to_contain_text("deleted “imported latte”")
    expect(page.locator("#history").get_by_role("gridcell", name=re.compile("imported latte"))).to_have_count(0)
    assert all(s["id"] != "01J0000000000000000000CAFE" for s in web.ctx.store.list_sessions(limit=100))

    # stats: a row per model run here; settings: which keys are set, never the key
    page.get_by_role("tab", name="Stats").click()
    expect(page.locator("#stats-table")).to_contain_text("openai:scripted")
    expect(page.locator("#stats-table")).not_to_contain_text(other)  # scripted test: models: left out by default
    page.locator("#stats-include-test input").check()
    expect(page.locator("#stats-table")).to_contain_text(other)
    page.get_by_role("tab", name="Settings").click()
    expect(page.locator("#status")).to_contain_text("openai (OPENAI_API_KEY)")
    expect(page.locator("#status")).to_contain_text("not reachable")  # no Ollama here
    assert "sk-test-web-0123456789" not in page.content()


def test_export_html_in_compare_and_history_and_its_import(page: object, web: SimpleNamespace, tmp_path) -> None:
    from storage.html import embedded_document

    doc = _recorded_doc() | {"id": "01J0000000000000000000SHAR", "title": "shared espresso"}
    web.ctx.store.import_document(doc)
    saved = web.ctx.store.export_document(doc["id"])
    page.get_by_role("tab", name="History").click()
    page.locator("#history-search input, #history-search textarea").first.fill("makes espresso")
    page.locator("#history-search input, #history-search textarea").first.press("Enter")
    cell = page.locator("#history").get_by_role("gridcell", name=re.compile("shared espresso")).first
    expect(cell).to_be_visible()
    cell.click()
    expect(page.locator("#lane-0")).to_contain_text("Espresso needs fresh beans")

    with page.expect_download() as info:  # Compare: the file that replays the session offline
        page.locator("#export-html").click()
    assert info.value.suggested_filename.endswith(f"{doc['id']}.html")
    html = open(info.value.path(), encoding="utf-8").read()
    assert json.loads(embedded_document(html)) == saved
    with page.expect_download() as info:  # the Markdown beside it links to it
        page.locator("#export-md").click()
    assert f"shared-espresso-{doc['id']}.html)" in open(info.value.path(), encoding="utf-8").read()

    page.get_by_role("tab", name="History").click()
    with page.expect_download() as info:  # History: the same file, of the session opened
        page.locator("#history-export-html").click()
    (tmp_path / "shared.html").write_text(open(info.value.path(), encoding="utf-8").read(), encoding="utf-8")
    assert (tmp_path / "shared.html").read_text(encoding="utf-8") == html
    before = len(web.ctx.store.list_sessions(limit=1000))
    with page.expect_file_chooser() as chooser:  # and it imports back
        page.locator("#import-json").click()
    chooser.value.set_files(str(tmp_path / "shared.html"))
    # the same session is here already: opened, not copied (Store.import_or_open reads the embedded document)
    expect(page.locator("#history-msg")).to_contain_text("is saved here already: opened it (no copy made)")
    assert len(web.ctx.store.list_sessions(limit=1000)) == before
