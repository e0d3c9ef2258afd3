"""Complete and score modes (issue 13) on the real SmolLM2 in llama.cpp and transformers: a raw
document continued without the chat template, "continue" across turns from a chosen lane, scoring
a given text with its likelihood figures, both engines agreeing, and hosted lanes refusing in one line."""

from __future__ import annotations

import math

import pytest

from playground.api import compare
from playground.session.history import lane_document
from storage.document import Session

LOCAL = ["gguf:smollm2", "hf:smollm2"]
SHORT = {"temperature": 0.0, "seed": 1, "max_tokens": 6}
SENTENCE = "The cat sat on the mat because it was warm and the sun was shining."
# Measured on SENTENCE (score mode, both engines, the same GGUF: llama.cpp multiplies its Q8_0
# weights with Q8-quantised activations, transformers dequantises the weights to fp32): per token
# |Δ logprob| up to 0.33 nats (gaps 0.01, 0.06, 0.04, 0.20, 0.09, 0.28, ... 0.33). Stated with room:
TOKEN_TOLERANCE = 0.5
MEAN_TOLERANCE = 0.15


def _outs(doc):
    return doc["turns"][-1]["outputs"]


async def test_complete_mode_continues_the_raw_document(local_runtime):
    doc = await compare("The capital of France is", LOCAL, runtime=local_runtime, mode="complete", **SHORT)
    for out in _outs(doc):
        assert out["status"] == "ok", out["error"]
        assert out["mode"] == "complete"
        assert out["text"].startswith(" Paris")  # a continuation, not a chat answer
        # no chat template: the prompt is the document's tokens alone (5 of them; chat mode wraps
        # the same words in the template's roles and markers, dozens of tokens)
        assert out["metrics"]["input_tokens"] == 5


async def test_chat_mode_is_unchanged(local_runtime):
    doc = await compare("The capital of France is", LOCAL, runtime=local_runtime, **SHORT)
    for out in _outs(doc):
        assert out["status"] == "ok" and "mode" not in out
        assert out["metrics"]["input_tokens"] > 20  # the template's system turn and roles


async def test_continue_keeps_the_chosen_lanes_continuation(local_runtime):
    import llama_cpp

    from backends.local import embedded_gguf

    first = await compare("Once upon a time", LOCAL, runtime=local_runtime, mode="complete", **SHORT)
    kept = _outs(first)[1]["text"]  # transformers' continuation
    second = await compare(" Then", LOCAL, runtime=local_runtime, mode="complete", session=first, keep=1, **SHORT)
    vocab = llama_cpp.Llama(model_path=str(embedded_gguf()), vocab_only=True, verbose=False)
    document = "Once upon a time" + kept + " Then"
    gguf = _outs(second)[0]
    assert gguf["status"] == "ok" and gguf["continues"] == 1
    assert gguf["metrics"]["input_tokens"] == len(vocab.tokenize(document.encode(), add_bos=False))
    # and the documents themselves, as the core builds them for each lane
    history = Session.of(second)
    for lane in (0, 1):
        model = _outs(second)[lane]["model"]
        (message,) = lane_document(Session.of(first), lane, model, " Then", keep=1)
        assert message.content == document
        # a third turn follows what the second recorded: lane 1 kept after turn 0, each lane's own after
        (third,) = lane_document(history, lane, model, " End.")
        assert third.content == document + _outs(second)[lane]["text"] + " End."


async def test_keep_must_name_a_lane_of_an_earlier_turn(local_runtime):
    from backends.errors import ConfigError

    with pytest.raises(ConfigError, match="keep=1: there is no lane 1 of an earlier turn"):
        await compare("Once", LOCAL, runtime=local_runtime, mode="complete", keep=1, **SHORT)


async def test_score_mode_figures_and_the_engines_agree(local_runtime):
    doc = await compare(SENTENCE, LOCAL, runtime=local_runtime, mode="score", logprobs=3, temperature=0.0)
    gguf, hf = _outs(doc)
    for out in (gguf, hf):
        assert out["status"] == "ok", out["error"]
        assert out["mode"] == "score" and out["text"] == SENTENCE  # the text, not an answer
        assert out["metrics"]["output_tokens"] == 0
        rows = out["tokens"]
        m = out["metrics"]
        total = math.fsum(lp for _, lp, _ in rows)
        assert m["logprob_sum"] == pytest.approx(total, abs=1e-3)
        assert m["logprob_tokens"] == len(rows) == m["input_tokens"] - 1  # the first token has no context
        assert m["perplexity"] == pytest.approx(math.exp(-total / len(rows)), rel=1e-3)
        scored = "".join(t for t, _, _ in rows)
        assert SENTENCE.endswith(scored)
        assert m["bits_per_char"] == pytest.approx(-total / math.log(2) / len(scored), rel=1e-3)
        assert m["bits_per_byte"] == pytest.approx(-total / math.log(2) / len(scored.encode()), rel=1e-3)
        for _, lp, top in rows:
            assert len(top) == 3 and lp <= top[0][1] + 1e-4  # nothing is likelier than the top-1
    assert [t for t, _, _ in gguf["tokens"]] == [t for t, _, _ in hf["tokens"]]  # same tokenizer
    gaps = [abs(a[1] - b[1]) for a, b in zip(gguf["tokens"], hf["tokens"], strict=True)]
    assert max(gaps) < TOKEN_TOLERANCE
    assert abs(gguf["metrics"]["logprob_mean"] - hf["metrics"]["logprob_mean"]) < MEAN_TOLERANCE


@pytest.mark.parametrize(("model", "message"), [
    ("anthropic:claude-3-5-haiku-latest", "complete mode not offered by anthropic"),
    ("gemini:gemini-2.0-flash", "complete mode not offered by gemini"),
])  # openai: and ollama: serve complete mode: tests/test_modes_wire.py
async def test_hosted_lanes_refuse_complete_mode_in_one_line(local_runtime, server, model, message):
    doc = await compare("The capital of France is", [model, "gguf:smollm2"], runtime=local_runtime,
                        mode="complete", **SHORT)
    refused, local = _outs(doc)
    assert refused["status"] == "error" and refused["error"]["message"].startswith(message)
    assert "\n" not in refused["error"]["message"]
    assert local["status"] == "ok" and local["text"].startswith(" Paris")  # the other lane runs
    assert not server.requests  # nothing was sent to the provider


async def test_hosted_lanes_refuse_score_mode(local_runtime, server):
    doc = await compare(SENTENCE, ["anthropic:claude-3-5-haiku-latest"], runtime=local_runtime, mode="score")
    (out,) = _outs(doc)
    assert out["status"] == "error" and out["error"]["message"].startswith("score mode not offered by anthropic")
