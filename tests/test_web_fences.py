"""An exposed page stays inside its fences (issue 10, item 5), through its real HTTP API: the
scripted ``test:`` model is refused unless configured, a symlink out of the models directory is
refused, an over-long prompt is one line, and an over-large request body is refused before Gradio
reads it. The page is served on 127.0.0.1 with its settings marked exposed, as ``serve`` marks
them for ``--host 0.0.0.0 --no-auth``."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from backends.base import Params
from backends.local import embedded_gguf
from playground.settings import Settings
from playground.testing import free_port
from playground.web import actions
from playground.web.serve import start, stop

LIMITS = "[limits]\nprompt_chars = 1000\nupload_mb = 0.5\n"


def exposed_page(home: Path, toml: str) -> tuple[object, object, str]:
    (home / "models").mkdir(parents=True, exist_ok=True)
    (home / "playground.toml").write_text(toml)
    settings = Settings.load(env={"PLAYGROUND_HOME": str(home)}, cwd=home)
    return start(dataclasses.replace(settings, exposed=True), models=["gguf:smollm2"], port=free_port())


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    home = tmp_path_factory.mktemp("fenced-home")
    demo, ctx, url = exposed_page(home, LIMITS)
    (ctx.settings.models_dir / "escape.gguf").symlink_to(embedded_gguf())
    try:
        yield SimpleNamespace(ctx=ctx, url=url, client=Client(url, verbose=False))
    finally:
        stop(demo, ctx)


def lanes(client: Client, models: list[str], prompt: str = "hi") -> list[dict]:
    final = client.submit(prompt, models, "", None, 4, None, "", api_name="/compare").result()
    assert final["done"]
    return final["lanes"]


def test_an_exposed_page_refuses_test_unless_configured_and_a_symlink_out(page: SimpleNamespace,
                                                                          tmp_path: Path) -> None:
    scripted, escape = lanes(page.client, ["test:chunks=2", "gguf:escape.gguf"])
    assert scripted["status"] == "error" and scripted["error"]["message"] == (
        "the test: model is off on an exposed server — set test_model = true under [serve] "
        "in playground.toml to offer it")
    assert escape["status"] == "error" and escape["error"]["message"] == (
        f"'escape.gguf': on an exposed server, local models must be files under "
        f"{page.ctx.settings.models_dir} or named models of playground.toml")
    assert page.ctx.runtime.loaded_models() == []  # nothing was loaded
    demo, ctx, url = exposed_page(tmp_path, LIMITS + "[serve]\ntest_model = true\n")
    try:
        (lane,) = lanes(Client(url, verbose=False), ["test:chunks=5"])
        assert lane["status"] == "ok" and lane["text"] == "tok0 tok1 tok2 tok3 "  # max tokens 4
    finally:
        stop(demo, ctx)


def test_an_over_long_prompt_is_one_line(page: SimpleNamespace) -> None:
    with pytest.raises(AppError) as refused:
        lanes(page.client, ["gguf:smollm2"], "x" * 1001)
    assert str(refused.value) == ("the prompt is 1,001 characters, over the limit of 1,000 — shorten it "
                                  "(or raise prompt_chars under [limits] in playground.toml)")
    with pytest.raises(AppError, match="^models must list 1 to 8 model ids$"):
        lanes(page.client, [f"gguf:m{i}" for i in range(9)])


def test_an_over_large_body_is_refused_before_it_is_read(page: SimpleNamespace) -> None:
    join = f"{page.url.rstrip('/')}/gradio_api/queue/join"
    message = ("request body over the limit of 0.5 MB — send less "
               "(or raise upload_mb under [limits] in playground.toml)")
    with httpx.Client(trust_env=False, timeout=30) as http:
        declared = http.post(join, content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                             headers={"content-type": "application/json"})
        assert (declared.status_code, declared.text) == (413, message)

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it comes
            for _ in range(40):
                yield b" " * 65536

        streamed = http.post(join, content=chunks(), headers={"content-type": "application/json"})
        assert (streamed.status_code, streamed.text) == (413, message)
        small = http.post(join, json={"data": [], "fn_index": 0, "session_hash": "x"})
        assert small.status_code != 413


async def test_a_blind_run_says_the_prompt_is_too_long_not_that_a_model_is_unusable(page: SimpleNamespace) -> None:
    params = [Params()] * 2
    with pytest.raises(gr.Error) as refused:
        async for _ in actions.run(page.ctx, "k", ["test:chunks=1", "test:chunks=1"], "x" * 1001, None, params,
                                   None, blind=True):
            pass
    assert refused.value.message.startswith("the prompt is 1,001 characters, over the limit of 1,000")
