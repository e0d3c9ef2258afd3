"""A run resolves and checks each model id once (``Runtime.prepare``): the CLI checks those
targets, every round of the engine drives them, and the page reads them (is a lane local?),
counted by the runtime's own tallies (``Runtime.resolutions``, ``Runtime.checks``)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from backends.errors import ConfigError
from playground.api import compare
from playground.cli.compare import run_compare
from playground.cli.main import build_parser
from playground.engine.runtime import Runtime
from playground.session.recorder import open_store
from playground.session.rerun import Rerun
from playground.settings import Settings
from playground.web.coalesce import FLUSH_S, LOCAL_FLUSH_S
from playground.web.compare import comparison_job
from playground.web.context import Context

FAST, SLOW = "test:chunks=3", "test:chunks=3&delay_ms=2"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.load(env={"PLAYGROUND_HOME": str(tmp_path)}, cwd=tmp_path)


async def test_the_cli_resolves_and_checks_each_id_once_for_every_round(settings, capsys):
    runtime = Runtime(settings)
    args = build_parser().parse_args(["compare", "--json", "--no-save", "--repeat", "2", "--warmup",
                                      "-m", FAST, "-m", SLOW, "-m", FAST, "hi"])
    try:
        assert await run_compare(settings, args, runtime) == 0
    finally:
        await runtime.aclose()
    outputs = json.loads(capsys.readouterr().out)["turns"][0]["outputs"]
    assert len(outputs) == 9 and {o["status"] for o in outputs} == {"ok"}  # 3 rounds of 3 lanes
    assert runtime.resolutions == Counter({FAST: 1, SLOW: 1})
    assert runtime.checks == Counter({FAST: 1, SLOW: 1})


async def test_the_cli_refuses_an_unusable_id_having_resolved_it_once(settings, tmp_path):
    runtime = Runtime(settings)
    missing = f"gguf:{tmp_path / 'missing.gguf'}"
    args = build_parser().parse_args(["compare", "--no-save", "-m", FAST, "-m", missing, "hi"])
    try:
        with pytest.raises(ConfigError, match=f"^{missing}: file not found"):
            await run_compare(settings, args, runtime)
    finally:
        await runtime.aclose()
    assert runtime.resolutions == Counter({FAST: 1, missing: 1})
    assert runtime.checks == Counter({FAST: 1, missing: 1})


async def test_the_page_reads_the_runs_targets_instead_of_resolving_again(settings, tmp_path):
    runtime, store = Runtime(settings), open_store(settings)
    ctx = Context(settings, runtime, store)
    missing = f"gguf:{tmp_path / 'missing.gguf'}"  # local: the page redraws less often
    try:
        for models, flush_s in (([FAST, SLOW], FLUSH_S), ([FAST, missing, "nope:x"], LOCAL_FLUSH_S)):
            runtime.resolutions.clear()
            runtime.checks.clear()
            job = comparison_job(ctx, models, "hi", None, [None] * len(models), None, repeat=2,
                                 warmup=True)
            assert job.flush_s == flush_s
            async for _ in job.events:
                pass
            assert runtime.resolutions == Counter(set(models))
            assert runtime.checks == Counter(set(models) - {"nope:x"})  # it never resolved
        statuses = [o["status"] for o in job.document()["turns"][0]["outputs"]]
        assert statuses == ["ok", "error", "error"] * 3
    finally:
        await runtime.aclose()
        store.close()


async def test_a_rerun_resolves_its_ids_once_for_all_its_turns(settings):
    doc = await compare("one", [FAST, SLOW], runtime=Runtime(settings))
    doc = await compare("two", [], session=doc, runtime=Runtime(settings))
    runtime = Runtime(settings)
    rerun = Rerun(runtime, doc)
    try:
        async for _ in rerun.events():
            pass
    finally:
        await runtime.aclose()
    assert [len(t["outputs"]) for t in rerun.document["turns"]] == [2, 2] and rerun.ok
    assert runtime.resolutions == Counter({FAST: 1, SLOW: 1})
    assert runtime.checks == Counter({FAST: 1, SLOW: 1})


def test_a_resolved_id_is_checked_by_name(settings, tmp_path):
    missing = f"gguf:{tmp_path / 'missing.gguf'}"
    unknown, unusable, ok = Runtime(settings).prepare(["nope:x", missing, FAST])
    with pytest.raises(ConfigError, match="^unknown provider 'nope'"):
        unknown.check()
    with pytest.raises(ConfigError, match=f"^{missing}: file not found"):
        unusable.check()
    ok.check()
    assert unusable.local and not ok.local and not unknown.local


def test_a_refused_id_is_named_in_one_short_line_however_long_it_was_typed(settings):
    typed = "hf:owner/tiny@" + "a" * 10_000  # a revision over its 200 characters
    resolved = Runtime(settings).prepare([typed])[0]
    with pytest.raises(ConfigError) as caught:
        resolved.check()
    message = str(caught.value)
    assert "\n" not in message and len(message) < 500, message[:600]
    assert message.startswith("hf:owner/tiny@aaa") and "bad revision" in message
