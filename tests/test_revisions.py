"""Model revisions (issue 13 §3) and base models without a chat template, offline, no hub.

A tiny GPT-NeoX (Pythia's architecture: hidden 32, 2 layers, a 48-word vocabulary, random weights)
is saved twice from two seeds and laid out as huggingface_hub lays out its cache — blobs, two
snapshots, ``refs/main`` and ``refs/step1`` (and ``refs/pr/1``) — under a temporary HF_HOME with
HF_HUB_OFFLINE=1, so ``hf:owner/tiny@step1`` and ``hf:owner/tiny@main`` are two lanes, two workers,
two answers, each recording the commit its revision meant. The embedded SmolLM2 GGUF is laid out
the same way for ``gguf:OWNER/REPO/FILE.gguf@REVISION``. Generations stay at most 8 tokens.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from backends.base import Message, Params, Request
from backends.errors import ConfigError, ModelLoadError
from backends.local import embedded_gguf
from playground.api import compare
from playground.engine import figures
from playground.engine.discovery import hub_models
from playground.engine.runtime import Runtime
from playground.engine.tokens import NO_TEMPLATE_NOTE
from playground.settings import Settings

pytest.importorskip("transformers")

REPO = "owner/tiny"
GGUF_REPO = "owner/smol-gguf"
COMMITS = {rev: hashlib.sha1(rev.encode()).hexdigest() for rev in ("main", "step1", "v1")}
WORDS = ("the a cat dog sat ran on in under mat sun warm cold and because it was is were big small red "
         "blue house tree sky once upon time there lived who liked to eat bread fish green old new "
         "slow fast day night").split()
SHORT = {"temperature": 0.0, "seed": 1, "max_tokens": 8}
PROMPT = "the cat sat on the mat"


def _tiny_model(seed: int, folder: Path) -> None:
    """A GPT-NeoX with random weights (this seed) and a word-level tokenizer without a chat template."""
    import torch
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"<|endoftext|>": 0, "[UNK]": 1, **{w: i + 2 for i, w in enumerate(WORDS)}}
    words = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=words, eos_token="<|endoftext|>", bos_token="<|endoftext|>", unk_token="[UNK]")
    config = transformers.GPTNeoXConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=64, bos_token_id=0, eos_token_id=0,
        initializer_range=0.5)  # large: two seeds answer differently, not both "the the the"
    torch.manual_seed(seed)
    transformers.GPTNeoXForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def _lay_out(cache: Path, repo: str, revisions: dict[str, tuple[str, dict[str, Path]]]) -> None:
    """huggingface_hub's cache: blobs by content hash, snapshots/<commit>/<file> linking to them,
    refs/<revision> holding the commit."""
    folder = cache / ("models--" + repo.replace("/", "--"))
    (folder / "blobs").mkdir(parents=True, exist_ok=True)
    for revision, (commit, files) in revisions.items():
        for name, source in files.items():
            blob = folder / "blobs" / hashlib.sha256(f"{commit}/{name}".encode()).hexdigest()
            if not blob.exists():
                blob.symlink_to(source.resolve())
            link = folder / "snapshots" / commit / name
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.symlink_to(os.path.relpath(blob, link.parent))
        ref = folder / "refs" / revision
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_text(commit)


@pytest.fixture(scope="session")
def hf_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HF_HOME holding owner/tiny at main and step1 (and refs/pr/1 = step1), owner/smol-gguf at v1."""
    root = tmp_path_factory.mktemp("tiny-hub")
    saved = {}
    for revision, seed in (("main", 1), ("step1", 2)):
        _tiny_model(seed, root / "saved" / revision)
        saved[revision] = (COMMITS[revision], {p.name: p for p in (root / "saved" / revision).iterdir()})
    hub = root / "hf" / "hub"
    _lay_out(hub, REPO, {**saved, "refs/pr/1": saved["step1"]})
    _lay_out(hub, GGUF_REPO, {"v1": (COMMITS["v1"], {"smol.gguf": embedded_gguf()})})
    return root / "hf"


@pytest.fixture(scope="module")
def offline_env(hf_home: Path) -> Iterator[None]:
    """This process's environment offline too (the workers inherit it): no test can reach the hub."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("HF_HOME", str(hf_home))
        patch.delenv("HF_HUB_CACHE", raising=False)
        yield


@pytest.fixture(scope="module")
async def runtime(offline_env: None, hf_home: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    home = tmp_path_factory.mktemp("rev-home")
    rt = Runtime(Settings.load(env={"PLAYGROUND_HOME": str(home), "HF_HUB_OFFLINE": "1",
                                    "HF_HOME": str(hf_home)}, cwd=home))
    yield rt
    pids = [m["pid"] for m in rt.loaded_models()]
    await rt.aclose()
    for pid in pids:  # every worker this file started has ended
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def _outs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["turns"][-1]["outputs"]


def _reference(hf_home: Path, revision: str, prompt: str) -> str:
    """The greedy answer of a revision's snapshot, loaded here directly from its folder."""
    import transformers

    folder = hf_home / "hub" / "models--owner--tiny" / "snapshots" / COMMITS[revision]
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder).eval()
    ids = tokenizer(prompt, return_tensors="pt")
    out = model.generate(**ids, max_new_tokens=SHORT["max_tokens"], do_sample=False)
    return tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)


async def test_two_revisions_are_two_lanes_with_their_own_commits(runtime: Runtime, hf_home: Path) -> None:
    models = [f"hf:{REPO}@step1", f"hf:{REPO}@main"]
    doc = await compare(PROMPT, models, runtime=runtime, **SHORT)
    step1, main = _outs(doc)
    for out, model, revision in ((step1, models[0], "step1"), (main, models[1], "main")):
        assert out["status"] == "ok", out["error"]
        assert out["model"] == model  # the id keeps its @revision: labelled apart everywhere
        assert out["revision"] == COMMITS[revision]  # what the revision meant when it ran
        assert out["text"] == _reference(hf_home, revision, PROMPT)  # that snapshot's weights
    assert step1["text"] != main["text"]
    workers = {m["model"]: m["pid"] for m in runtime.loaded_models() if m["provider"] == "hf"}
    assert set(workers) >= {f"{REPO}@step1", f"{REPO}@main"}  # one worker per revision
    assert workers[f"{REPO}@step1"] != workers[f"{REPO}@main"]


async def test_no_revision_is_main(runtime: Runtime) -> None:
    doc = await compare(PROMPT, [f"hf:{REPO}", f"hf:{REPO}@main"], runtime=runtime, **SHORT)
    plain, main = _outs(doc)
    assert plain["status"] == "ok" and plain["model"] == f"hf:{REPO}"
    assert plain["revision"] == main["revision"] == COMMITS["main"]
    assert plain["text"] == main["text"]


async def test_a_base_model_chats_as_plain_text_and_says_so(runtime: Runtime) -> None:
    doc = await compare(PROMPT, [f"hf:{REPO}@step1"], runtime=runtime, **SHORT)
    (out,) = _outs(doc)
    assert out["status"] == "ok"
    assert out["metrics"]["input_tokens"] == len(PROMPT.split())  # the prompt's words alone: no roles
    assert out["template"] is False and out["notes"] == [NO_TEMPLATE_NOTE]
    assert figures.output_notes(out)[-1] == NO_TEMPLATE_NOTE  # what the page and the terminal show


async def test_complete_mode_at_both_revisions(runtime: Runtime, hf_home: Path) -> None:
    doc = await compare(PROMPT, [f"hf:{REPO}@step1", f"hf:{REPO}@main"], runtime=runtime, mode="complete",
                        **SHORT)
    for out, revision in zip(_outs(doc), ("step1", "main"), strict=True):
        assert out["status"] == "ok" and out["mode"] == "complete"
        assert out["revision"] == COMMITS[revision]
        assert out["text"] == _reference(hf_home, revision, PROMPT)
        assert "notes" not in out  # complete mode never uses a template: nothing to say


async def test_score_mode_gives_each_revision_its_own_likelihood(runtime: Runtime) -> None:
    text = "once upon a time there lived a big red dog"
    doc = await compare(text, [f"hf:{REPO}@step1", f"hf:{REPO}@main"], runtime=runtime, mode="score",
                        logprobs=2, temperature=0.0)
    totals = []
    for out, revision in zip(_outs(doc), ("step1", "main"), strict=True):
        assert out["status"] == "ok" and out["mode"] == "score"
        assert out["revision"] == COMMITS[revision]
        tokens = out["tokens"]
        assert [t[0].strip() for t in tokens] == text.split()[1:]  # every word after the first, scored
        assert all(len(t[2]) == 2 and t[1] <= 0 for t in tokens)
        totals.append(sum(t[1] for t in tokens))
    assert abs(totals[0] - totals[1]) > 0.1  # different weights, different surprise


async def test_an_absent_revision_fails_with_one_line(runtime: Runtime) -> None:
    (resolved,) = runtime.prepare([f"hf:{REPO}@step3000"])
    with pytest.raises(ConfigError) as info:
        resolved.check()
    assert str(info.value) == (
        f"hf:{REPO}@step3000: revision step3000 of {REPO} is not in the local hub cache and HF_HUB_OFFLINE "
        f"is set — download it first: hf download {REPO} --revision step3000")
    (gguf,) = runtime.prepare([f"gguf:{GGUF_REPO}/smol.gguf@v9"])
    assert gguf.problem == (f"revision v9 of {GGUF_REPO}/smol.gguf is not in the local hub cache and "
                            f"HF_HUB_OFFLINE is set — download it first: hf download {GGUF_REPO} smol.gguf "
                            "--revision v9")
    # past the check (the cache emptied meanwhile): the worker says the same in one line
    target = runtime.resolve(f"hf:{REPO}@step3000")
    with pytest.raises(ModelLoadError) as load:
        async for _ in target.backend.stream(Request(target.model, (Message("user", "hi"),), Params(max_tokens=1))):
            pass
    message = str(load.value)
    assert "\n" not in message and "revision step3000" in message
    assert f"hf download {REPO} --revision step3000" in message
    await target.backend.unload(target.model)


async def test_a_gguf_file_at_a_revision_loads_from_the_cache(runtime: Runtime) -> None:
    model = f"gguf:{GGUF_REPO}/smol.gguf@v1"
    doc = await compare("Hi", [model], runtime=runtime, max_tokens=4, temperature=0.0, seed=1)
    (out,) = _outs(doc)
    assert out["status"] == "ok", out["error"]
    assert out["model"] == model and out["revision"] == COMMITS["v1"] and out["text"]
    await runtime.unload("gguf", f"{GGUF_REPO}/smol.gguf@v1")


def test_a_pull_request_ref_is_decoded(runtime: Runtime) -> None:
    target = runtime.resolve(f"hf:{REPO}@refs%2Fpr%2F1")
    assert target.model == f"{REPO}@refs%2Fpr%2F1"  # the id as typed
    key, args = target.backend.resolve(target.model)
    assert key == f"{REPO}@refs%2Fpr%2F1" and args["revision"] == "refs/pr/1"
    assert runtime.problem(target) is None  # refs/refs/pr/1 in the cache: found offline
    assert runtime.resolve(f"hf:{REPO}@refs/pr/1").backend.resolve(f"{REPO}@refs/pr/1")[1]["revision"] == "refs/pr/1"


@pytest.mark.parametrize("revision", [
    "", "../../etc", "a b", "%2e%2e", "x%00", "x%2F%2Fy", "/main", "main/", "a" * 10_000, "%252F", "ma\nin",
    "<script>", "main;rm", "refs/./main",
])
@pytest.mark.parametrize("prefix", [f"hf:{REPO}", f"gguf:{GGUF_REPO}/smol.gguf"])
def test_a_hostile_revision_is_refused_in_one_line(runtime: Runtime, prefix: str, revision: str) -> None:
    (resolved,) = runtime.prepare([f"{prefix}@{revision}"])
    with pytest.raises(ConfigError):
        resolved.check()  # the CLI's exit 2, the page's lane error: before anything is loaded
    problem = resolved.problem or ""
    assert "\n" not in problem and len(problem) < 300  # the hostile text quoted short and escaped
    assert problem.startswith("bad revision") and "branch, tag or commit" in problem


def test_the_picker_offers_each_cached_revision_once(runtime: Runtime) -> None:
    offered = {m.id: m.usable for m in hub_models(runtime)}
    assert offered == {f"hf:{REPO}": True, f"hf:{REPO}@refs/pr/1": True, f"hf:{REPO}@step1": True,
                       f"gguf:{GGUF_REPO}/smol.gguf@v1": True}
    for model_id in offered:  # what is offered can be typed back, and is found offline
        assert runtime.problem(runtime.resolve(model_id)) is None, model_id
