"""An exposed server stays inside its fences (issue 10, item 5), below the page: a local model id is
pinned once to the real file it names and that file is what is checked and loaded; on an exposed
server only what lies under the models directory may be named; the scripted ``test:`` model is
bounded, stops at max tokens, and is off on an exposed server unless configured; prompts are
bounded at the one check every front end goes through."""

from __future__ import annotations

import dataclasses
import os
import tracemalloc
from pathlib import Path

import pytest

from backends.base import ProviderConfig
from backends.errors import ConfigError
from backends.local import embedded_gguf
from backends.scripted import MAX_CHUNKS, ScriptedBackend
from playground.api import Comparison, compare
from playground.engine.discovery import gguf_files, hub_models
from playground.engine.runtime import Runtime
from playground.settings import Settings


def settings_in(home: Path, toml: str = "") -> Settings:
    (home / "models").mkdir(parents=True, exist_ok=True)
    if toml:
        (home / "playground.toml").write_text(toml)
    return Settings.load(env={"PLAYGROUND_HOME": str(home)}, cwd=home)


def exposed(settings: Settings) -> Runtime:
    return Runtime(dataclasses.replace(settings, exposed=True))


def only(doc: dict) -> dict:
    (out,) = doc["turns"][-1]["outputs"]
    return out


# ---- local paths: pinned once, loaded as checked ------------------------------------------------


async def test_the_checked_file_is_the_loaded_one_when_the_working_directory_has_a_namesake(
        tmp_path, monkeypatch) -> None:
    settings = settings_in(tmp_path / "home")
    checked = settings.models_dir / "shadow.gguf"
    checked.write_text("not a model")  # what the exposed server checks, under its models directory
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "shadow.gguf").symlink_to(embedded_gguf())  # a loadable namesake where the server runs
    monkeypatch.chdir(cwd)
    runtime = exposed(settings)
    try:
        target = runtime.resolve("gguf:shadow.gguf")
        assert target.model == str(checked.resolve())  # pinned: no lookup by name after this
        out = only(await compare("hi", ["gguf:shadow.gguf"], runtime=runtime, max_tokens=2))
        # the file under the models directory is the one used, so it is refused (not a GGUF), and
        # the namesake in the working directory is never loaded
        assert out["status"] == "error" and out["text"] == ""
        assert out["error"]["message"] == f"not a GGUF file: {checked.resolve()} — llama.cpp needs a .gguf model file"
        assert runtime.loaded_models() == []
    finally:
        await runtime.aclose()


def test_on_a_loopback_server_a_path_is_pinned_to_what_it_names_now(tmp_path, monkeypatch) -> None:
    settings = settings_in(tmp_path / "home")
    (settings.models_dir / "a.gguf").write_bytes(b"GGUF")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "a.gguf").write_bytes(b"GGUF")
    monkeypatch.chdir(cwd)
    runtime = Runtime(settings)
    target = runtime.resolve("gguf:a.gguf")
    assert target.model == str((cwd / "a.gguf").resolve())
    key, args = target.backend.resolve(target.model)
    assert key == args["model_path"] == target.model
    monkeypatch.chdir(tmp_path)  # a later change of directory changes nothing: the path is absolute
    assert target.backend.resolve(target.model)[1]["model_path"] == target.model
    assert runtime.resolve("gguf:smollm2").model == "smollm2"


def test_an_exposed_server_takes_only_what_lies_under_the_models_directory(tmp_path) -> None:
    settings = settings_in(tmp_path / "home")
    outside = tmp_path / "home" / "outside.gguf"
    outside.write_bytes(b"GGUF")
    (settings.models_dir / "escape.gguf").symlink_to(embedded_gguf())  # a symlink leading out
    (settings.models_dir / "team").symlink_to(tmp_path)  # a folder leading out
    (tmp_path / "escape.gguf").write_bytes(b"GGUF")
    folder = settings.models_dir / "tiny"  # a model folder whose weights lead out
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"elsewhere")
    (folder / "model.safetensors").symlink_to(secret)
    refused = ["gguf:escape.gguf", "gguf:../outside.gguf", f"gguf:{outside}", "gguf:team/escape.gguf",
               "gguf:HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/model.gguf", "gguf:nowhere.gguf",
               "hf:tiny", "hf:HuggingFaceTB/SmolLM2-135M-Instruct", "hf:../models/tiny"]
    runtime = exposed(settings)
    for model_id in refused:
        model = model_id.partition(":")[2]
        with pytest.raises(ConfigError) as why:
            runtime.resolve(model_id)
        assert str(why.value) == (f"{model!r}: on an exposed server, local models must be files under "
                                  f"{settings.models_dir} or named models of playground.toml"), model_id
        Runtime(settings).resolve(model_id)  # the same ids on a loopback server: no fence
    (folder / "model.safetensors").unlink()
    (folder / "model.safetensors").write_bytes(b"inside")
    target = runtime.resolve("hf:tiny")
    assert target.model == str(folder.resolve())
    assert target.backend.resolve(target.model) == (str(folder.resolve()), {"source": str(folder.resolve())})
    assert runtime.resolve("gguf:smollm2").model == runtime.resolve("hf:smollm2").model == "smollm2"


def test_an_exposed_picker_offers_only_files_a_run_would_accept(tmp_path) -> None:
    settings = settings_in(tmp_path / "home")
    (settings.models_dir / "inside.gguf").write_bytes(b"GGUF")
    (settings.models_dir / "escape.gguf").symlink_to(embedded_gguf())
    commit = "a" * 40
    snapshot = tmp_path / "hub" / "models--org--repo" / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / "cached.gguf").write_bytes(b"GGUF")
    (tmp_path / "hub" / "models--org--repo" / "refs").mkdir()
    (tmp_path / "hub" / "models--org--repo" / "refs" / "main").write_text(commit)
    settings = dataclasses.replace(settings, hf_hub_cache=tmp_path / "hub")

    def found(runtime: Runtime) -> dict[str, bool]:
        return {m.id: m.usable for m in gguf_files(runtime) + hub_models(runtime)}

    assert found(Runtime(settings)) == {"gguf:escape.gguf": True, "gguf:inside.gguf": True,
                                        "gguf:org/repo/cached.gguf": True}
    assert found(exposed(settings)) == {"gguf:escape.gguf": False, "gguf:inside.gguf": True,
                                        "gguf:org/repo/cached.gguf": False}


# ---- the scripted model: bounded, and stopped by max tokens -------------------------------------


@pytest.mark.parametrize(("model", "message"), [
    ("chunks=20000000", "test:chunks=20000000: chunks must be from 0 to 100,000, not 20000000"),
    ("chunks=-1", "chunks must be from 0 to 100,000, not -1"),
    ("chunks=lots", "chunks must be a whole number from 0 to 100,000, not 'lots'"),
    ("delay_ms=1e9", "delay_ms must be from 0 to 10,000, not 1e9"),
    ("first_ms=nan", "first_ms must be from 0 to 60,000, not nan"),
    ("text=" + "x" * 1001, "text must be at most 1,000 characters, not 1,001"),
    ("chunks=100000&text=" + "x" * 100, "at most 2,000,000 characters in all — 100,000 chunks of 100 is 10,000,000"),
    ("chunks=100000&delay_ms=10", "at most 600,000 ms of pauses in all"),
    ("echo=yes", "echo must be 0 or 1, not 'yes'"),
    ("fail_at=x", "fail_at must be a whole number"),
])
def test_a_script_past_a_bound_is_refused_with_one_line_naming_it(model: str, message: str) -> None:
    problem = ScriptedBackend(ProviderConfig(name="test")).check(model)
    assert problem is not None and message in problem
    assert "\n" not in problem and len(problem) < 300  # the id is quoted, never echoed whole


async def test_max_tokens_stops_the_script_with_finish_length_and_little_memory(tmp_path) -> None:
    runtime = Runtime(settings_in(tmp_path))
    tracemalloc.start()
    try:
        out = only(await compare("hi", [f"test:chunks={MAX_CHUNKS}"], runtime=runtime, max_tokens=1))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out["status"] == "ok" and out["finish_reason"] == "length" and out["text"] == "tok0 "
    assert out["metrics"]["output_tokens"] == 1 and len(out["timeline"]) == 1
    # the largest script allowed, cut after one delta, never builds the rest (it was ~7 MB)
    assert peak < 1024 * 1024, peak
    for model in ("test:echo=1", "test:chunks=3&text=many%20words%20here%20"):  # a delta is a token
        out = only(await compare("one two three four", [model], runtime=runtime, max_tokens=1))
        assert out["finish_reason"] == "length" and out["metrics"]["output_tokens"] == 1, model
    out = only(await compare("hi", ["test:chunks=3"], runtime=runtime, max_tokens=3))
    assert out["finish_reason"] == "stop" and out["metrics"]["output_tokens"] == 3


async def test_an_exposed_server_runs_test_only_when_configured(tmp_path) -> None:
    off = exposed(settings_in(tmp_path / "off"))
    out = only(await compare("hi", ["test:chunks=2"], runtime=off))
    assert out["status"] == "error" and out["error"]["message"] == (
        "the test: model is off on an exposed server — set test_model = true under [serve] "
        "in playground.toml to offer it")
    on = exposed(settings_in(tmp_path / "on", "[serve]\ntest_model = true\n"))
    assert only(await compare("hi", ["test:chunks=2"], runtime=on))["text"] == "tok0 tok1 "
    named = exposed(settings_in(tmp_path / "named", '[models.demo]\nprovider = "test"\nmodel = "chunks=2"\n'))
    assert only(await compare("hi", ["demo"], runtime=named))["status"] == "ok"  # the owner's choice


# ---- prompts: one bound, at the one check ----------------------------------------------------------


def test_an_over_long_prompt_or_system_prompt_is_one_line(tmp_path) -> None:
    runtime = Runtime(settings_in(tmp_path, "[limits]\nprompt_chars = 10\n"))
    Comparison(runtime, ["test:chunks=1"], "x" * 10, system="y" * 10)
    with pytest.raises(ConfigError) as long_prompt:
        Comparison(runtime, ["test:chunks=1"], "x" * 11)
    assert str(long_prompt.value) == ("the prompt is 11 characters, over the limit of 10 — shorten it "
                                      "(or raise prompt_chars under [limits] in playground.toml)")
    with pytest.raises(ConfigError, match="^the system prompt is 11 characters, over the limit of 10"):
        Comparison(runtime, ["test:chunks=1"], "x", system="y" * 11)
    assert Settings.load(env={"PLAYGROUND_HOME": os.fspath(tmp_path / "none")}, cwd=tmp_path / "none") \
        .limits.prompt_chars == 200_000


@pytest.mark.parametrize(("text", "expected"), [
    ("[limits]\nprompt_chars = 0\n", "[limits] prompt_chars must be a positive number, not 0"),
    ("[limits]\nupload_mb = \"big\"\n", "[limits] upload_mb must be a positive number, not 'big'"),
    ("[limits]\nrows = 3\n", "[limits]: unknown setting(s) rows; use prompt_chars, upload_mb"),
    ("[serve]\ntest_model = \"yes\"\n", "[serve] test_model must be true or false, not 'yes'"),
])
def test_bad_limits_say_what_to_fix(tmp_path, text: str, expected: str) -> None:
    (tmp_path / "playground.toml").write_text(text)
    with pytest.raises(ConfigError) as bad:
        Settings.load(env={"PLAYGROUND_HOME": str(tmp_path)}, cwd=tmp_path)
    assert expected in str(bad.value)
