"""Untrusted text is text in the real page (Playwright on Debian's Chromium, the app in-process).

Markup is planted wherever outside text reaches the page — a prompt (and so a session title), a
model's answer, a typed model id, an imported session's title and model id, an import refused
for a field it quotes, and a typed value echoed by an error toast — each aimed at a real pixel
server on 127.0.0.1: an ``<img>`` that would load from it, an ``onerror`` and a ``<script>`` that
would call it, a password form that would post to it. The page must show every one as the text
it is, and the pixel server must hear nothing.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from playground.session.document import title_from
from playground.settings import Settings
from playground.testing import free_port
from playground.web.serve import start, stop
from storage.schema import validate

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
WAIT = 30_000  # ms: a page on a shared 2-core machine


class _Pixel(BaseHTTPRequestHandler):
    """Answers every request with a 1×1 GIF and records its path: any hit is a leak."""

    hits: list[str]

    def _answer(self) -> None:
        self.hits.append(f"{self.command} {self.path}")
        gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
        self.send_response(200)
        self.send_header("content-type", "image/gif")
        self.send_header("content-length", str(len(gif)))
        self.end_headers()
        self.wfile.write(gif)

    do_GET = do_POST = _answer  # noqa: N815 - the names http.server calls

    def log_message(self, *args: object) -> None:  # quiet
        pass


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    handler = type("Pixel", (_Pixel,), {"hits": []})
    pixel = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=pixel.serve_forever, daemon=True).start()
    home = tmp_path_factory.mktemp("web-untrusted-home")
    settings = Settings.load(env={"PLAYGROUND_HOME": str(home)}, cwd=home)
    demo, ctx, url = start(settings, models=["test:chunks=1&text=warm-up"], port=free_port())
    try:
        yield SimpleNamespace(ctx=ctx, url=url, hits=handler.hits, host=f"127.0.0.1:{pixel.server_address[1]}")
    finally:
        stop(demo, ctx)
        pixel.shutdown()
        pixel.server_close()


def hostile(host: str, where: str) -> str:
    """Markup that, if it were markup, would reach the pixel server (and say from where)."""
    return (f"<img src=http://{host}/{where}/img>"
            f"<img src=x onerror=\"fetch('http://{host}/{where}/onerror');alert(1)\">"
            f"<form action=http://{host}/{where}/form method=post><input type=password name=pw></form>"
            f"<script>fetch('http://{host}/{where}/script')</script>")


def test_titles_prompts_answers_model_ids_imports_and_toasts_are_shown_as_text(browser, web, tmp_path) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if web.host in r.url else None)
    page.goto(web.url)
    expect(page.locator("#lane-0")).to_be_visible(timeout=WAIT)
    models = page.locator("#models input")

    # a run: the prompt (and so the title) and the answer hold markup; so does a typed model id
    prompt = f"MARK1 <img src=//{web.host}/prompt-title>\n{hostile(web.host, 'prompt')}"
    title = title_from(prompt)  # 8 words, 80 characters: an image and a cut-off one
    answer = hostile(web.host, "answer")
    typed_model = f"test:<img src=//{web.host}/typed-model>"
    page.locator("#models .token").locator(".token-remove").click()
    for model in (f"test:chunks=1&text={quote(answer)}", typed_model):
        models.fill(model)
        models.press("Enter")
    expect(page.locator("#head-1")).to_contain_text(typed_model, timeout=WAIT)
    page.locator("#prompt textarea").fill(prompt)
    page.locator("#run").click()
    expect(page.locator("#lane-0 .answer-md")).to_have_text(answer, timeout=WAIT)  # rendered: markup as text
    expect(page.locator("#stats-1")).to_contain_text(typed_model, timeout=WAIT)  # its error names it
    expect(page.locator("#earlier-0")).to_contain_text(prompt.replace("\n", " ")[:60], timeout=WAIT)
    expect(page.locator("#notice")).to_contain_text("saved", timeout=WAIT)

    # an error toast echoing what was typed
    page.locator("#temperature textarea, #temperature input").first.fill(f"<img src=//{web.host}/toast>")
    page.locator("#run").click()
    toast = page.locator("[data-testid='toast-body']").filter(has_text="must be a number")
    expect(toast).to_contain_text(f"<img src=//{web.host}/toast>", timeout=WAIT)
    page.locator("#temperature textarea, #temperature input").first.fill("")

    # History: open the run's session (its title goes into the "opened session" notice)
    page.get_by_role("tab", name="History").click()
    page.locator("#history").get_by_role("gridcell", name=re.compile("MARK1")).first.click()
    saved = web.ctx.store.list_sessions(limit=1)[0]
    assert saved["title"] == title and "<img" in title
    expect(page.locator("#notice")).to_have_text(f"opened {shown_title(title)}", timeout=WAIT)

    # import: one refused for a field its message quotes, one whose title and model id hold markup
    doc = json.loads(json.dumps(web.ctx.store.export_document(saved["id"])))
    doc |= {"id": "01J000000000000000000000ZZ", "title": "MARK2 " + hostile(web.host, "import-title")}
    imported_model = "openai:" + hostile(web.host, "import-model")
    for output in doc["turns"][0]["outputs"]:
        output["model"] = imported_model
    validate(doc)
    (tmp_path / "good.json").write_text(json.dumps(doc), encoding="utf-8")
    refused = {**doc, "schema": hostile(web.host, "import-refused")}
    (tmp_path / "refused.json").write_text(json.dumps(refused), encoding="utf-8")
    page.get_by_role("tab", name="History").click()  # opening a session went to Compare
    for name, said in (("refused.json", "import rejected"), ("good.json", "imported “MARK2")):
        with page.expect_file_chooser() as chooser:
            page.locator("#import-json").click()
        chooser.value.set_files(str(tmp_path / name))
        expect(page.locator("#history-msg")).to_contain_text(said, timeout=WAIT)
        if name == "refused.json":
            # the refusal quotes the field, cut to its first 60 characters (storage.schema bounds it)
            expect(page.locator("#history-msg")).to_contain_text(repr(refused["schema"])[:59], timeout=WAIT)
    cell = page.locator("#history").get_by_role("gridcell", name=re.compile("MARK2")).first
    expect(cell).to_have_text(doc["title"], timeout=WAIT)
    cell.click()
    expect(page.locator("#notice")).to_have_text(f"opened {shown_title(doc['title'])}", timeout=WAIT)
    expect(page.locator("#head-0")).to_contain_text(imported_model, timeout=WAIT)

    page.get_by_role("tab", name="Stats").click()
    page.locator("#stats-include-test input").check()  # the typed model is a scripted test: one
    expect(page.locator("#stats-table")).to_contain_text(typed_model, timeout=WAIT)

    page.wait_for_timeout(500)  # anything the page was going to load or run has had its chance
    for what, selector in (("an image", f"img[src*='{web.host}']"), ("a form", f"form[action*='{web.host}']"),
                           ("a password field", "input[type=password]"), ("a script", "script:not([src])")):
        found = [e.evaluate("e => e.outerHTML") for e in page.locator(selector).all()]
        found = [html for html in found if web.host in html or what == "a password field"]
        assert not found, f"{what} in the page: {found[:2]}"
    assert web.hits == [] and asked == [] and dialogs == []
    context.close()


def shown_title(title: str, limit: int = 60) -> str:
    """A title as a notice shows it: spaces folded, cut to ``limit`` characters, in quotes (as text)."""
    title = " ".join(title.split())
    return f"“{title if len(title) <= limit else title[:limit - 1] + '…'}”"
