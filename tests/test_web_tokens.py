"""The shaded answer's HTML (playground/web/tokens_view.py) and the probabilities controls
(prob_controls.py) without a browser: hostile tokens are text, a growing answer's HTML only grows
(Gradio sends it as appends), text before the first scored token and a replay's partial text are
placed right, a blind lane's line names nothing, a bad top-K is one line; and the scripted ``test:``
model streams probabilities when asked (and only then), through the real engine."""

from __future__ import annotations

import math
from html.parser import HTMLParser

import gradio as gr
import pytest

from backends.base import Params, TokenProb
from playground.api import compare
from playground.engine.lane import LaneState
from playground.engine.runtime import Runtime
from playground.engine.tokens import NO_TEMPLATE_NOTE
from playground.settings import Settings
from playground.web import lane_view, prob_controls, tokens_view
from playground.web.replay import ReplayLane
from storage.document import Output

HOSTILE = '<img src=x onerror="window.__pwned=1">'


def lane(tokens: list[TokenProb], text: str | None = None, k: int = 3) -> LaneState:
    state = LaneState(model="openai:secret-model-name", params=Params(logprobs=k))
    state.tokens = list(tokens)
    state.chunks = [text if text is not None else "".join(t.text for t in tokens)]
    return state


def token(text: str, p: float, *alts: tuple[str, float]) -> TokenProb:
    return TokenProb(text, math.log(p), tuple((a, math.log(q)) for a, q in alts))


def test_a_hostile_token_and_its_alternatives_are_text() -> None:
    state = lane([token(HOSTILE, 0.2, (HOSTILE + "'", 0.5), (HOSTILE, 0.2))])
    html = tokens_view.shaded(state.text, tokens_view.probs_of(state))

    class Tags(HTMLParser):  # what a browser's parser makes of it: the elements and their attributes
        def __init__(self) -> None:
            super().__init__()
            self.tags: set[str] = set()
            self.attrs: set[str] = set()
            self.tips: list[str] = []
            self.text: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.add(tag)
            self.attrs |= {name for name, _ in attrs}
            self.tips += [value or "" for name, value in attrs if name == "data-tip"]

        def handle_data(self, data: str) -> None:
            self.text.append(data)

    parsed = Tags()
    parsed.feed(html)
    assert parsed.tags == {"div", "span"} and parsed.attrs == {"class", "tabindex", "data-tip"}
    assert HOSTILE in "".join(parsed.text)  # shown as the characters it is
    assert parsed.tips[0].count(HOSTILE) == 3 and "top 2 alternatives" in parsed.tips[0] and "▸" in parsed.tips[0]
    assert HOSTILE + "'" in parsed.tips[0]  # a quote of the attribute's own kind, escaped


def test_a_growing_answer_only_appends() -> None:
    state = lane([])
    sent = []
    for i in range(40):
        state.chunks.append(f"w{i} ")  # the text arrives first ...
        sent.append(tokens_view.shaded(state.text, tokens_view.probs_of(state) or tokens_view.Probs([], False)))
        state.tokens.append(token(f"w{i} ", 0.9 - i / 50, ("x", 0.05)))  # ... then its probabilities
        sent.append(tokens_view.shaded(state.text, tokens_view.probs_of(state)))
    shown = [s for s in sent if 'class="tk ' in s]
    assert all(later.startswith(earlier) for earlier, later in zip(shown, shown[1:], strict=False))
    assert shown[-1].count('class="tk ') == 40
    each = [len(b) - len(a) for a, b in zip(shown, shown[1:], strict=False) if len(b) > len(a)]
    assert max(each) < 400  # one token's span at a time, however long the answer


def test_unscored_text_and_a_finished_lanes_rest_are_shown_unshaded() -> None:
    state = lane([token(" cat", 0.3), token(" sat", 0.6)], text="The cat sat.")
    probs = tokens_view.probs_of(state)
    assert probs is not None and not probs.final
    live = tokens_view.shaded(state.text, probs)
    assert '<span class="tk-none">The</span>' in live and live.endswith(" sat</span>")  # "." waits for its token
    state.ended = "ok"
    done = tokens_view.shaded(state.text, tokens_view.probs_of(state))
    assert done.endswith('<span class="tk-none">.</span>')


def test_a_replay_shades_the_tokens_of_the_text_shown_so_far() -> None:
    rows = [["A", -0.1, []], [" b", -1.0, []], [" c", -2.0, []]]
    out = Output.model_validate({"model": "m:x", "label": None, "params": {}, "text": "A b c", "status": "ok",
                                 "error": None, "finish_reason": "stop", "metrics": {}, "server_metrics": {},
                                 "timeline": [[1.0, 5]], "tokens": rows, "logprobs": {"top_k": 0, "kind": "raw"}})
    replaying = ReplayLane(out, ["A b"], "replaying")
    html = tokens_view.shaded(replaying.text, tokens_view.probs_of(replaying))
    assert html.count('class="tk ') == 2
    replaying.chunks.append(" c")
    replaying.status = "ok"
    assert tokens_view.shaded(replaying.text, tokens_view.probs_of(replaying)).count('class="tk ') == 3
    assert tokens_view.info_of(replaying) == {"logprobs": {"top_k": 0, "kind": "raw"}}


def test_the_figures_line_names_no_model_in_a_blind_lane() -> None:
    record = {"metrics": {"logprob_mean": -0.5, "perplexity": 1.65}, "status": "ok",
              "logprobs": {"top_k": 3, "kind": None, "note": "probabilities not offered by openai:secret-model-name"}}
    assert "secret-model-name" in tokens_view.figures_html(record)
    blind = tokens_view.figures_html(record, blind=True)
    assert "secret-model-name" not in blind and "mean logprob" in blind and "perplexity" in blind
    state = lane([token("x", 0.5, ("x", 0.5))])
    assert "secret" not in tokens_view.shaded(state.text, tokens_view.probs_of(state))
    base = {"metrics": {}, "template": False, "notes": [NO_TEMPLATE_NOTE]}  # a base model asked to chat
    assert "no chat template" in lane_view.stats_html(base, status="done")
    assert "no chat template" not in lane_view.stats_html(base, status="done", blind=True)


def test_a_long_shaded_answer_is_redrawn_less_often() -> None:
    drawn: list[float | None] = [None, None]  # two lanes share the page's budget
    size = tokens_view.PAGE_REDRAW_BYTES_PER_S // 4  # two lanes: 0.5 s between redraws of this size
    assert tokens_view.redraw_due(drawn, 0, size, now=10.0)
    assert not tokens_view.redraw_due(drawn, 0, size, now=10.3)
    assert tokens_view.redraw_due(drawn, 0, size, now=10.6)
    assert tokens_view.redraw_due(drawn, 1, size, now=10.6)  # each lane its own clock
    assert tokens_view.redraw_due(drawn, 0, 100, now=10.601)  # a short answer: every update


def test_colours_keep_text_readable() -> None:
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    text = luminance("#111827")
    for _, _, colour in tokens_view.BANDS:
        assert (luminance(colour) + 0.05) / (text + 0.05) >= 4.5, colour


@pytest.mark.parametrize("bad", [25, -1, 2.5, "many", float("nan")])
def test_a_bad_top_k_is_one_line(bad: object) -> None:
    with pytest.raises(gr.Error, match="top-K must be a whole number from 0 to 20"):
        prob_controls.apply([Params()], True, bad, "chat")


def test_the_controls_go_into_every_lanes_params() -> None:
    lanes = prob_controls.apply([Params(temperature=0.5), Params(max_tokens=3)], True, 7, "score")
    assert [(p.logprobs, p.mode) for p in lanes] == [(7, "score"), (7, "score")]
    assert lanes[0].temperature == 0.5 and lanes[1].max_tokens == 3
    assert prob_controls.apply([Params()], False, 7, "complete")[0].logprobs is None


async def test_the_scripted_model_streams_probabilities_only_when_asked(tmp_path) -> None:
    runtime = Runtime(Settings.load(env={"PLAYGROUND_HOME": str(tmp_path)}, cwd=tmp_path))
    try:
        doc = await compare("hi", ["test:chunks=4&text=t{i}-"], runtime=runtime, logprobs=2)
        out = doc["turns"][-1]["outputs"][0]
        assert [row[0] for row in out["tokens"]] == ["t0-", "t1-", "t2-", "t3-"]
        assert out["logprobs"] == {"top_k": 2, "kind": "raw"} and len(out["tokens"][0][2]) == 2
        assert sum(math.exp(lp) for _, lp in out["tokens"][3][2]) <= 1
        plain = await compare("hi", ["test:chunks=4"], runtime=runtime)
        assert "tokens" not in plain["turns"][-1]["outputs"][0]
    finally:
        await runtime.aclose()


def test_a_lane_still_running_with_probabilities_asked_can_be_saved() -> None:
    """Its record says ``kind: null`` until the engine says which (and for good when it offers none):
    the schema's enum must list null too, or every run with probabilities on failed to save."""
    from storage.schema import check_output

    running = {"model": "test:x", "label": None, "params": {"logprobs": 3}, "text": "", "status": "running",
               "error": None, "finish_reason": None, "metrics": {}, "server_metrics": {}, "timeline": [],
               "logprobs": {"top_k": 3, "kind": None}}
    check_output(running, "lane 0", ValueError)
