"""No configured API key (nor a credential header's value) ever reaches what the app stores,
shows, logs or exports — whatever a hostile provider quotes, wherever its wire format allows text.

The provider is a real scripted server on 127.0.0.1 (``playground.testing.hostile``): every lane
of every protocol quotes every key configured — its own provider's and the others' — in error
bodies, headers, error frames, malformed frames, answers and server figures. The run goes
through the engine with a real SQLite store and through the ``playground`` command (a compare in
its own process; the JSON and Markdown exports and ``sessions show``); the key must be in none of it, not even in part.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from backends.base import ProviderConfig
from backends.errors import StreamError
from playground.api import Comparison
from playground.cli.main import main
from playground.engine.runtime import Runtime
from playground.session.recorder import Recorder
from playground.settings import Settings
from playground.testing import PROTOCOLS, ScriptedServer
from playground.testing.hostile import hostile_replies
from storage import Store

KEY_ENVS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "QWEN_KEY")
FRAGMENT = 10  # no run of this many characters of a secret's random part may appear


def _secret(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(20)}"


def _fragments(value: str) -> set[str]:
    random_part = value.split("-")[-1]
    return {random_part[i:i + FRAGMENT] for i in range(len(random_part) - FRAGMENT + 1)}


def _leaks(haystack: str, values: list[str]) -> list[str]:
    return [v for v in values if any(f in haystack for f in _fragments(v))]


@pytest.fixture
def keys() -> dict[str, str]:
    return {env: _secret("sk-test-") for env in KEY_ENVS}


@pytest.fixture
def tokens() -> list[str]:
    """Credential header values configured nowhere (a proxy's token a server echoes back)."""
    return [_secret("tok-") for _ in range(3)]


def _quoted(keys: dict[str, str], tokens: list[str]) -> str:
    every_key = " ".join(keys.values())
    return (f"keys {every_key}; Authorization: Bearer {tokens[0]}; x-api-key: {tokens[1]}; "
            f"headers {{'x-goog-api-key': '{tokens[2]}'}}")


def _home(tmp_path: Path, server: ScriptedServer, keys: dict[str, str]) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "playground.toml").write_text(
        "[providers.openai]\nretry = { max_tries = 2, base_delay = 0.01, max_wait = 1 }\n"
        "timeouts = { connect = 2, first_byte = 5, idle = 5, total = 20 }\n"
        "[providers.anthropic]\nretry = { max_tries = 2, base_delay = 0.01, max_wait = 1 }\n"
        "[providers.gemini]\nretry = { max_tries = 2, base_delay = 0.01, max_wait = 1 }\n"
        "[providers.ollama]\nretry = { max_tries = 2, base_delay = 0.01, max_wait = 1 }\n"
        f'[models.qwen]\nprovider = "openai"\nbase_url = "{server.base_url("openai")}"\n'
        'model = "openai-answer"\napi_key_env = "QWEN_KEY"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(keys)
    env.update(PLAYGROUND_HOME=str(home), COLUMNS="160", NO_PROXY="127.0.0.1", no_proxy="127.0.0.1",
               OPENAI_BASE_URL=server.base_url("openai"), ANTHROPIC_BASE_URL=server.base_url("anthropic"),
               GEMINI_BASE_URL=server.base_url("gemini"), OLLAMA_HOST=server.base_url("ollama"))
    return home, env


def _script(server: ScriptedServer, keys: dict[str, str], tokens: list[str]) -> list[str]:
    """Every hostile scenario of every protocol; the model ids that reach them. Each clipped
    value is another provider's key (OpenAI's server quotes Anthropic's key, and so on)."""
    quoted = _quoted(keys, tokens)
    others = {"openai": "ANTHROPIC_API_KEY", "anthropic": "GEMINI_API_KEY", "gemini": "OPENAI_API_KEY",
              "ollama": "GOOGLE_API_KEY"}
    models = []
    for protocol in PROTOCOLS:
        for name, reply in hostile_replies(protocol, quoted, keys[others[protocol]]).items():
            server.by_model[f"{protocol}-{name}"] = reply
            models.append(f"{protocol}:{protocol}-{name}")
    return [*models, "qwen"]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "playground.cli", *args], env=env, capture_output=True,
                          text=True, timeout=180)


def _files(home: Path) -> str:
    """Every byte the app wrote under its home (the database, its WAL), as text."""
    return "".join(p.read_bytes().decode("latin-1") for p in sorted(home.rglob("*")) if p.is_file())


async def test_a_hostile_provider_gets_no_key_into_anything(tmp_path, server, keys, tokens, caplog, capsys,
                                                           monkeypatch):
    caplog.set_level(logging.DEBUG)
    home, env = _home(tmp_path, server, keys)
    models = _script(server, keys, tokens)
    secrets_ = [*keys.values(), *tokens]

    # the engine with a store, as the page runs it; what a lane shows is read while it streams
    runtime = Runtime(Settings.load(env=env, cwd=home))
    store = Store.open(None, home=home)
    shown: list[str] = []
    try:
        comp = Comparison(runtime, models, "Tell me a secret.", recorder=Recorder(store, flush_s=0.05))
        async for ev in comp.events():
            lane = comp.current.lanes[ev.lane]
            shown.append(lane.text + json.dumps(lane.figures()))
        document = json.dumps(comp.document)
    finally:
        await runtime.aclose()
        store.close()
    outputs = {o["model"]: o for o in comp.document["turns"][0]["outputs"]}
    places = {
        "what the lanes showed": "".join(shown),
        "the session document": document,
        "the database and everything else under the home": _files(home),
    }
    for where, text in places.items():
        assert not _leaks(text, secrets_), f"a secret in {where}"

    # every scenario really quoted a secret, and it was redacted rather than never sent
    assert len(outputs) == len(models) and all(o["status"] in ("ok", "error") for o in outputs.values())
    for model, out in outputs.items():
        if out["status"] == "error":
            assert "[redacted]" in out["error"]["message"], (model, out["error"])
    for model in ("openai:openai-answer", "anthropic:anthropic-answer", "gemini:gemini-answer",
                  "ollama:ollama-answer", "qwen"):
        out = outputs[model]
        assert out["status"] == "ok" and "*" * 20 in out["text"]
        assert sum(n for _, n in out["timeline"]) == len(out["text"])  # masked, same length
    assert "*" * 20 in outputs["openai:openai-answer"]["reasoning"]
    assert outputs["openai:openai-timings"]["server_metrics"]["note"].startswith("keys [redacted]")
    retried = outputs["openai:openai-status-text"]
    assert retried["retries"] and "[redacted]" in retried["retries"][0]["error"]

    # the command line: a live compare (saved), then its session exported as JSON and Markdown
    live = _cli(env, "compare", *[a for m in models for a in ("-m", m)], "Tell me a secret.")
    assert live.returncode == 1, live.stderr  # lanes failed: exit 1, everything still shown and saved
    assert "[redacted]" in live.stdout + live.stderr
    store = Store.open(None, home=home)
    try:
        [cli_id] = [s["id"] for s in store.list_sessions() if s["id"] != comp.document["id"]]
        saved = store.get_session(comp.document["id"])["turns"][0]["outputs"]
        assert [(o["status"], o["text"], o["error"]) for o in saved] == [
            (o["status"], o["text"], o["error"]) for o in comp.document["turns"][0]["outputs"]]
        assert len(store.get_session(cli_id)["turns"][0]["outputs"]) == len(models)
    finally:
        store.close()
    assert "could not save" not in caplog.text  # every lane was stored, none refused
    for name, value in env.items():  # the exports in this process: the same code, no start-up
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    exports, codes = [], []
    for args in (("export", cli_id, "--format", "json"), ("export", cli_id, "--format", "md"),
                 ("show", cli_id)):
        codes.append(main(["sessions", *args]))
        exports.append(capsys.readouterr())
    assert codes == [0, 0, 0], exports
    # the Markdown export writes error text literally, its brackets escaped (storage.untrusted)
    assert "[redacted]" in exports[0].out and "\\[redacted\\]" in exports[1].out

    places = {
        "the database and everything else under the home": _files(home),
        "the log": caplog.text + "".join(r.getMessage() for r in caplog.records),
        "playground compare": live.stdout + live.stderr,
        **{f"export/show {i}": r.out + r.err for i, r in enumerate(exports)},
    }
    for where, text in places.items():
        assert not _leaks(text, secrets_), f"a secret in {where}"


def test_log_lines_are_redacted_whoever_logs_them(caplog, keys):
    """A library or a module of ours that logs a key — in the message, its arguments or an
    exception's text — writes "[redacted]" instead."""
    ProviderConfig(name="openai", api_key=keys["OPENAI_API_KEY"])
    key = keys["OPENAI_API_KEY"]
    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpx").info("sending %s", {"authorization": f"Bearer {key}"})
    logging.getLogger("playground.anything").warning(f"raw key {key}")
    try:
        raise RuntimeError(f"the server said {key}")
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("failed")
    logging.getLogger("x").error("token %s", f"x-api-key: {_secret('tok-')}"[:-4])
    text = caplog.text
    assert "[redacted]" in text and not _leaks(text, [key])
    assert "x-api-key: [redacted]" in text
    assert all(key not in r.getMessage() for r in caplog.records)


def test_a_live_answer_never_shows_the_start_of_a_key_still_arriving(keys):
    """A key split over chunks: a live view reads the answer between them (seen once in a full run
    under load, where a frame caught the first half of a key)."""
    from backends import redact

    key = next(iter(keys.values()))
    redact.register(key)
    for cut in (6, 10, len(key) // 2, len(key) - 1):
        shown = redact.mask("the key is " + key[:cut])
        assert shown == "the key is " + "*" * cut and not _leaks(shown, [key])
    assert redact.mask("the key is " + key + " ok") == "the key is " + "*" * len(key) + " ok"
    assert redact.mask("just text") == "just text" and redact.mask("ends in sk-t") == "ends in sk-t"


def test_an_error_clipped_for_display_never_keeps_part_of_a_key(keys):
    key = keys["ANTHROPIC_API_KEY"]
    ProviderConfig(name="anthropic", api_key=key)
    from backends.wire import json_object

    with pytest.raises(StreamError) as caught:
        json_object("{" + "z" * 60 + key, "OpenAI")  # the quote is clipped at 80 characters
    assert not _leaks(str(caught.value), [key])
