"""``playground compare --logprobs K --mode chat|complete|score`` as a user runs it (issue 13): a real
process, the real SmolLM2 in llama.cpp and transformers, colours forced on (``FORCE_COLOR``, as a
colour terminal gets them) or off (a pipe, ``NO_COLOR``). The live lanes colour each token by its
probability on one scale with a legend; ``--json`` carries the tokens; score mode prints each
lane's likelihood figures; a model's control characters never reach the terminal raw."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys

import pytest
from rich.color import ColorSystem
from rich.style import Style

from playground.cli.tokens import SCALE, colour_of

SHORT = ["--temperature", "0", "--seed", "1", "--max-tokens", "8"]
CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")


@pytest.fixture
def env(tmp_path):
    clean = {k: v for k, v in os.environ.items()
             if not k.endswith("_API_KEY") and k not in ("NO_COLOR", "FORCE_COLOR", "COLORTERM")}
    clean.update(PLAYGROUND_HOME=str(tmp_path / "home"), COLUMNS="200", LINES="60", TERM="xterm-256color")
    return clean


def run(env, *args, timeout=600, **extra):
    return subprocess.run([sys.executable, "-m", "playground.cli", *args], env={**env, **extra},
                          capture_output=True, text=True, timeout=timeout)


def _sgr_fg(colour: str) -> str:
    """The SGR foreground parameters rich writes for a scale colour on a 256-colour terminal."""
    return ";".join(Style(color=colour).color.downgrade(ColorSystem.EIGHT_BIT).get_ansi_codes(True))


def styled_chars(screen: str) -> tuple[str, list[str | None]]:
    """The characters a terminal shows and the foreground SGR of each (None: the default colour).
    Cursor moves are dropped (the live view's redraws), so later frames follow earlier ones."""
    chars: list[str] = []
    fgs: list[str | None] = []
    fg: str | None = None
    at = 0
    for m in CSI.finditer(screen):
        for ch in screen[at:m.start()]:
            chars.append(ch)
            fgs.append(fg)
        at = m.end()
        if m.group(2) != "m":
            continue
        params = m.group(1).split(";") if m.group(1) else ["0"]
        i = 0
        while i < len(params):
            p = params[i]
            if p in ("0", ""):
                fg = None
            elif p == "38":  # 38;5;N or 38;2;R;G;B
                width = 3 if params[i + 1] == "5" else 5
                fg = ";".join(params[i:i + width])
                i += width - 1
            elif p == "39":
                fg = None
            elif re.fullmatch(r"3[0-7]|9[0-7]", p):
                fg = p
            i += 1
    for ch in screen[at:]:
        chars.append(ch)
        fgs.append(fg)
    return "".join(chars), fgs


def _check_shaded(screen: str, out: dict, after: int) -> int:
    """The lane's answer is on screen after ``after`` (lanes side by side: the left lane's answer
    comes first on the line), every token in its probability's colour; returns where it is."""
    text, rows = out["text"], out["tokens"]
    assert "".join(r[0] for r in rows) == text  # the tokens are the answer, piece by piece
    plain, fgs = styled_chars(screen)
    at = plain.find(text.strip(), after)
    assert at >= 0, (text, plain[-3000:])
    found = at
    at -= len(text) - len(text.lstrip())
    for token, logprob, _ in rows:
        # the record rounds to 4 decimals: a token that close to a bin's edge may show either colour
        shades = {_sgr_fg(colour_of(logprob + d)) for d in (-1e-4, 0, 1e-4)}
        for i, ch in enumerate(token):
            if not ch.isspace():  # rich may write spaces unstyled
                assert fgs[at + i] in shades, (token, logprob, fgs[at + i])
        at += len(token)
    return found


def test_done_when_both_engines_answers_are_coloured_by_probability_and_json_carries_tokens(env):
    res = run(env, "compare", "--json", "--no-save", "--logprobs", "5", "-m", "gguf:smollm2", "-m", "hf:smollm2",
              *SHORT, "Name a fruit.", FORCE_COLOR="1")
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads(res.stdout)  # the document alone on stdout; the live view on stderr
    outputs = doc["turns"][0]["outputs"]
    assert [o["model"] for o in outputs] == ["gguf:smollm2", "hf:smollm2"]
    plain, _ = styled_chars(res.stderr)
    after = plain.rfind("gguf:smollm2 (llama.cpp)")  # the last frame of the live view
    for out in outputs:
        assert out["status"] == "ok" and out["params"]["logprobs"] == 5
        assert out["logprobs"] == {"top_k": 5, "kind": "raw"}
        assert len(out["tokens"]) >= 2 and all(len(top) == 5 for _, _, top in out["tokens"])
        assert out["metrics"]["logprob_tokens"] == len(out["tokens"])
        after = _check_shaded(res.stderr, out, after) + 1
    assert "token probability: <10%  10–30%  30–60%  60–90%  ≥90%" in plain  # the legend
    assert plain.count("mean logprob −") >= 2 and "perplexity" in plain  # each lane's figures line
    # the scale's five colours stay five apart on 256-colour and on 16-colour terminals
    for system in (ColorSystem.EIGHT_BIT, ColorSystem.STANDARD):
        codes = {";".join(Style(color=c).color.downgrade(system).get_ansi_codes(True)) for _, c, _ in SCALE}
        assert len(codes) == len(SCALE)


def test_without_a_colour_terminal_no_colour_and_no_legend_but_the_figures_and_notes(env):
    for extra in ({}, {"FORCE_COLOR": "1", "NO_COLOR": "1"}):  # a pipe; a terminal under NO_COLOR
        res = run(env, "compare", "--no-save", "--logprobs", "3", "-m", "gguf:smollm2", "-m", "test:chunks=3&probs=0",
                  *SHORT, "Name a fruit.", **extra)
        assert res.returncode == 0, res.stderr[-2000:]
        assert not any(styled_chars(res.stdout)[1])  # no colour at all (bold and dim are fine)
        assert "token probability" not in res.stdout
        assert "mean logprob −" in res.stdout  # the gguf lane's figures line
        assert "probabilities not offered by test:chunks=3&probs=0" in res.stdout  # the scripted lane's note
        assert "likelihood (natural log)" in res.stdout


def test_score_mode_prints_each_lanes_likelihood_and_control_characters_stay_harmless(env):
    text = "The cat sat \x1b]0;pwned\x07on the \x1b[2Jmat.\x9b1m"
    res = run(env, "compare", "--mode", "score", "--logprobs", "2", "--no-save", "-m", "gguf:smollm2",
              "-m", "hf:smollm2", text, FORCE_COLOR="1")
    assert res.returncode == 0, res.stderr[-2000:]
    screen = res.stdout
    for raw in ("\x1b]", "\x07", "\x1b[2J", "\x9b"):  # nothing of the model's text acts on the terminal
        assert raw not in screen
    plain, _ = styled_chars(screen)
    assert "␛]0;pwned␇on the ␛[2Jmat.\ufffd1m" in plain.replace("\n", "")  # shown, visibly
    assert "likelihood (natural log)" in plain and "not comparable across tokenizers" in plain
    rows = [line for line in plain.splitlines() if "smollm2" in line and "raw" in line]
    assert len(rows) == 2, plain[-3000:]
    for line in rows:  # lane, tokens, log-likelihood, mean, perplexity, bits/char, bits/byte, kind
        cells = [c.strip() for c in re.split(r"[│┃]", line) if c.strip()]
        tokens, total, mean, ppl = int(cells[1]), float(cells[2].replace("−", "-")), \
            float(cells[3].replace("−", "-")), float(cells[4])
        assert tokens > 5 and total < 0 and mean == pytest.approx(total / tokens, abs=2e-3)
        assert ppl == pytest.approx(math.exp(-mean), rel=1e-2)


@pytest.mark.parametrize(("args", "message"), [
    (["--logprobs", "21"], "argument --logprobs: give a whole number from 0 to 20 (the alternatives kept "
                           "per token), not '21'"),
    (["--logprobs", "-1"], "not '-1'"),
    (["--logprobs", "five"], "not 'five'"),
    (["--mode", "poem"], "argument --mode: invalid choice: 'poem' (choose from 'chat', 'complete', 'score')"),
])
def test_bad_logprobs_or_mode_is_one_line_and_exit_2(env, args, message):
    res = run(env, "compare", "-m", "test:chunks=2", *args, "hi")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("playground: ")
