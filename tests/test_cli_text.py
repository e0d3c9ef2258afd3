"""Stored text printed by the ``playground`` command is printed as written: a prompt, title, answer
or model id holding rich markup (``[/b]``, ``[red]``) or emoji codes is text, in the live lanes,
the tables and ``sessions show`` alike — and never a MarkupError that breaks the command for good."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROMPT = "why [/b] is [red]loud[/red] :smile: [bold]"
MODEL = "test:chunks=2&text=[/i][blue]"  # the scripted model: its id and its answer hold markup


@pytest.fixture
def env(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    clean.update(PLAYGROUND_HOME=str(tmp_path / "home"), COLUMNS="200")
    return clean


def run(env, *args):
    return subprocess.run([sys.executable, "-m", "playground.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_markup_in_prompts_answers_and_model_ids_is_printed_as_text(env):
    live = run(env, "compare", "-m", "test:echo=1", "-m", MODEL, PROMPT)
    assert live.returncode == 0, live.stderr
    assert PROMPT in live.stdout  # the echoing lane, live
    assert "[/i][blue][/i][blue]" in live.stdout and MODEL in live.stdout  # the other lane, its header, figures
    session = live.stderr.split("session ")[-1].strip()

    for args in (["sessions", "list"], ["sessions", "search", "loud"]):
        res = run(env, *args)
        assert res.returncode == 0, res.stderr
        assert PROMPT in res.stdout and MODEL in res.stdout

    shown = run(env, "sessions", "show", session)
    assert shown.returncode == 0, shown.stderr
    assert f"{PROMPT}  {session}" in shown.stdout  # the title
    assert f"> {PROMPT}" in shown.stdout and f"{MODEL} [ok]" in shown.stdout
    assert shown.stdout.count(PROMPT) == 3  # title, prompt, the echoed answer

    listed = json.loads(run(env, "sessions", "list", "--json").stdout)
    assert listed[0]["title"] == PROMPT  # what was saved is what was printed
