"""One comparison across every engine, discovery of what is usable, and keys that never leak."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

from playground.api import compare
from playground.engine.discovery import discover
from playground.testing import Reply

EVERY = ["openai:gpt-4o-mini", "anthropic:claude-3-5-haiku-latest", "gemini:gemini-2.0-flash",
         "ollama:llama3.2:3b", "gguf:smollm2", "hf:smollm2"]


async def test_one_model_of_each_provider_side_by_side(local_runtime, server):
    doc = await compare("Name a colour.", EVERY, runtime=local_runtime, temperature=0.0, seed=1, max_tokens=6)
    outputs = doc["turns"][0]["outputs"]
    assert [o["model"] for o in outputs] == EVERY
    for out in outputs:
        assert out["status"] == "ok", out
        assert out["text"] and sum(n for _, n in out["timeline"]) == len(out["text"])
        m = out["metrics"]
        assert m["ttft_ms"] is not None and m["total_ms"] >= m["ttft_ms"]
        assert m["output_tokens"] and "output_tokens" not in m["estimated"]
    hosted = outputs[:4]
    assert all(o["text"] == "Hello, world!" for o in hosted)
    assert {r.protocol for r in server.requests} == {"openai", "anthropic", "gemini", "ollama"}
    # hosted lanes ran concurrently with the local ones; the two local lanes took turns
    gguf, hf = outputs[4]["metrics"], outputs[5]["metrics"]
    assert max(gguf["contention"].get("waited_for", []) + hf["contention"].get("waited_for", [])) in (
        "gguf:smollm2", "hf:smollm2")
    assert outputs[0]["metrics"]["cost_usd"] is not None and outputs[0]["metrics"]["cost_usd"] > 0
    assert gguf["cost_usd"] == hf["cost_usd"] == 0.0


async def test_discovery_lists_what_is_usable_and_why_not(local_runtime, server, tmp_path):
    models_dir = local_runtime.settings.models_dir
    (models_dir / "team").mkdir(parents=True, exist_ok=True)
    (models_dir / "team" / "tiny.gguf").write_bytes(b"GGUF")
    server.models = ["llama3.2:3b", "qwen2.5:7b"]
    found = {m.id: m for m in await discover(local_runtime)}
    assert found["gguf:smollm2"].usable and found["hf:smollm2"].usable
    assert found["gguf:team/tiny.gguf"].usable
    assert found["ollama:llama3.2:3b"].usable and found["ollama:qwen2.5:7b"].usable
    assert found["openai:*"].usable and "OPENAI_API_KEY is set" in found["openai:*"].why
    assert not found["groq:*"].usable and found["groq:*"].why == "set GROQ_API_KEY"
    assert all("sk-" not in m.why for m in found.values())


def test_a_key_never_reaches_the_database_an_export_or_a_log(tmp_path, server):
    key = f"sk-test-{secrets.token_hex(12)}"
    server.script(Reply(chunks=["fine"]), Reply(status=401, message=f"Incorrect API key provided: {key}"))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(PLAYGROUND_HOME=str(tmp_path / "home"), OPENAI_API_KEY=key,
               OPENAI_BASE_URL=server.base_url("openai"))
    runs = [subprocess.run([sys.executable, "-m", "playground.cli", "compare", "--json", "-m", "openai:m", p],
                           env=env, capture_output=True, text=True, timeout=60) for p in ("one", "two")]
    assert runs[0].returncode == 0 and runs[1].returncode == 1
    failed = json.loads(runs[1].stdout)["turns"][0]["outputs"][0]
    assert failed["error"]["type"] == "auth" and "OPENAI_API_KEY" in failed["error"]["message"]
    assert server.requests[0].headers["authorization"] == f"Bearer {key}"  # it was really used
    exported = [subprocess.run([sys.executable, "-m", "playground.cli", "sessions", "export",
                                json.loads(r.stdout)["id"], "--format", fmt], env=env, capture_output=True,
                               text=True, timeout=60).stdout for r in runs for fmt in ("json", "md")]
    everything = "".join(r.stdout + r.stderr for r in runs) + "".join(exported)
    for path in (tmp_path / "home").rglob("*"):
        if path.is_file():
            everything += path.read_bytes().decode("latin-1")
    assert key not in everything and key[8:] not in everything
