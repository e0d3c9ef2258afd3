"""playground.toml and the environment, read once: named models end to end, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from backends.errors import ConfigError
from playground.api import compare
from playground.engine.runtime import Runtime
from playground.settings import Settings
from playground.testing import Reply


def test_named_model_works_end_to_end(tmp_path, server):
    (tmp_path / "playground.toml").write_text(f"""
[defaults]
max_tokens = 64

[models.local-qwen]
provider = "openai"
base_url = "{server.base_url('openai')}"
model = "qwen2.5"
api_key_env = "QWEN_KEY"
label = "Qwen local"
params = {{ temperature = 0.2 }}
""")
    server.script(Reply(chunks=["Hello", " there"]))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(PLAYGROUND_HOME=str(tmp_path / "home"), QWEN_KEY="sk-qwen-test")
    res = subprocess.run([sys.executable, "-m", "playground.cli", "compare", "--json",
                          "-m", "local-qwen", "hi"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)["turns"][0]["outputs"][0]
    assert out["model"] == "local-qwen" and out["label"] == "Qwen local" and out["text"] == "Hello there"
    assert out["params"] == {"temperature": 0.2, "max_tokens": 64}
    sent = server.requests[0]
    assert sent.body["model"] == "qwen2.5" and sent.body["temperature"] == 0.2
    assert sent.headers["authorization"] == "Bearer sk-qwen-test"
    assert "sk-qwen-test" not in res.stdout
    saved = subprocess.run([sys.executable, "-m", "playground.cli", "sessions", "export",
                            json.loads(res.stdout)["id"]], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=60)
    assert json.loads(saved.stdout)["turns"][0]["outputs"][0]["model"] == "local-qwen"


def test_malformed_file_is_one_line_with_the_line_number(tmp_path):
    (tmp_path / "playground.toml").write_text("[defaults]\ntemperature = 0.7\nmax_tokens = = 3\n")
    with pytest.raises(ConfigError) as err:
        Settings.load(env={"PLAYGROUND_HOME": str(tmp_path)}, cwd=tmp_path)
    message = str(err.value)
    assert "line 3" in message and "\n" not in message and "playground.toml" in message
    env = {**os.environ, "PLAYGROUND_HOME": str(tmp_path / "h")}
    res = subprocess.run([sys.executable, "-m", "playground.cli", "models"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "line 3" in res.stderr and res.stderr.count("\n") == 1


@pytest.mark.parametrize(("text", "expected"), [
    ("[defaults]\ntemprature = 1\n", "unknown parameter(s) temprature"),
    ("[cpu]\nmode = \"fast\"\n", "mode must be \"turns\" or \"shared\""),
    ("[models.x]\nprovider = \"nope\"\nmodel = \"m\"\n", "[models.x] needs provider"),
    ("[providers.openai]\ntimeouts = { conect = 3 }\n", "unknown timeout(s) conect"),
])
def test_bad_settings_say_what_to_fix(tmp_path, text, expected):
    (tmp_path / "playground.toml").write_text(text)
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]")):
        Settings.load(env={}, cwd=tmp_path)


def test_environment_and_home(tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "playground.toml").write_text("[providers.openai]\nrequests = 2\nperiod = 1.0\n")
    s = Settings.load(env={"PLAYGROUND_HOME": str(tmp_path / "home"), "OPENAI_API_KEY": "sk-secret-9f8e7d",
                           "OLLAMA_HOST": "10.1.2.3:11434", "GOOGLE_API_KEY": "g",
                           "PLAYGROUND_DATABASE_URL": "postgresql://x/y"}, cwd=tmp_path)
    assert s.providers["openai"].api_key == "sk-secret-9f8e7d" and s.providers["openai"].rate.requests == 2
    assert s.providers["ollama"].base_url == "http://10.1.2.3:11434"
    assert s.providers["gemini"].api_key == "g" and s.providers["gemini"].key_env == "GOOGLE_API_KEY"
    assert s.database_url == "postgresql://x/y"
    assert "sk-secret-9f8e7d" not in repr(s.providers["openai"]) + repr(s)  # keys never in a repr


async def test_retry_wait_is_retry_time_in_the_record(tmp_path, server):
    server.script(Reply(status=429, headers={"retry-after": "1"}, message="slow down"),
                  Reply(chunks=["one ", "two"]))
    rt = Runtime(Settings.load(env={"PLAYGROUND_HOME": str(tmp_path), "OPENAI_API_KEY": "sk-x",
                                    "OPENAI_BASE_URL": server.base_url("openai")}, cwd=tmp_path))
    try:
        doc = await compare("hi", ["openai:m"], runtime=rt)
    finally:
        await rt.aclose()
    out = doc["turns"][0]["outputs"][0]
    assert out["status"] == "ok" and out["text"] == "one two"  # no duplicated text
    assert 950 <= out["metrics"]["retry_ms"] <= 1500 and out["metrics"]["queue_ms"] < 100
    assert out["metrics"]["total_ms"] >= out["metrics"]["retry_ms"]  # what the user waited
    assert out["metrics"]["ttft_ms"] < 500  # the wait is not in TTFT
    assert len(out["retries"]) == 1 and out["retries"][0]["error"].startswith("rate_limit")
