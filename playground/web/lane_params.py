"""Each lane's own parameters on the Compare tab: temperature, max tokens, seed, top_p, stop
sequences and a system prompt, read from the lane's "params" boxes when "same params for all" is
off, checked here (an error names the lane: "gguf:smollm2: temperature must be …") and kept in the
view state by model (``LaneView.params``), so they survive a re-render of the lanes, a run and New
session. A lane's values are recorded in its output's ``params`` (``system`` too) by the engine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr

from backends.base import Params
from playground.web.escape import toast

FIELDS = ("temperature", "max_tokens", "seed", "top_p", "stop", "system")  # the boxes' order
MAX_STOPS = 4  # OpenAI's limit; the others take at least as many


@dataclass(frozen=True)
class LaneSettings:
    """What one lane sends: its sampling parameters and its system prompt (None: the session's)."""

    params: Params
    system: str | None = None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, float) and math.isnan(value))


def _number(value: Any, kind: type, name: str, lane: str, low: float | None = None,
            high: float | None = None) -> Any:
    if _blank(value):
        return None
    where = f"{lane}: " if lane else ""
    span = (f" between {low:g} and {high:g}" if high is not None else f" of at least {low:g}") if low is not None else ""
    what = "a whole number" if kind is int else "a number"
    try:
        number = float(str(value).strip())
        if not math.isfinite(number) or (kind is int and number != int(number)):
            raise ValueError
    except (TypeError, ValueError):
        raise toast(f"{where}{name} must be {what}{span}, not {str(value)[:40]!r}") from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise toast(f"{where}{name} must be {what}{span}, not {value!r}")
    return int(number) if kind is int else number


def stops_of(value: Any, lane: str = "") -> tuple[str, ...]:
    """Stop sequences: one per line of the box (blank lines ignored), at most ``MAX_STOPS``."""
    lines = tuple(s for s in str(value or "").splitlines() if s.strip())
    if len(lines) > MAX_STOPS:
        where = f"{lane}: " if lane else ""
        raise toast(f"{where}at most {MAX_STOPS} stop sequences (one per line), not {len(lines)}")
    return lines


def params_of(temperature: Any, max_tokens: Any, seed: Any, top_p: Any = None, stop: Any = None,
              lane: str = "") -> Params:
    """Blank fields mean "the default" (the provider's, or playground.toml's). ``lane`` names the
    lane in an error."""
    return Params(temperature=_number(temperature, float, "temperature", lane, 0, 2),
                  top_p=_number(top_p, float, "top_p", lane, 0, 1),
                  max_tokens=_number(max_tokens, int, "max tokens", lane, 1),
                  seed=_number(seed, int, "seed", lane), stop=stops_of(stop, lane))


def settings_of(values: Sequence[Any], lane: str) -> LaneSettings:
    """One lane's boxes (in ``FIELDS`` order) as what it sends; a blank system prompt: the session's."""
    temperature, max_tokens, seed, top_p, stop, system = values
    own = None if _blank(system) else str(system)
    return LaneSettings(params_of(temperature, max_tokens, seed, top_p, stop, lane), own)


def lane_settings(same: bool, shared: Sequence[Any], per_lane: Sequence[Sequence[Any]],
                  models: Sequence[str]) -> list[LaneSettings]:
    """Every lane's settings: the shared temperature, max tokens and seed when "same for all" is on,
    else each lane's own boxes. A lane of a blind run is named by its position only."""
    if same:
        shared_params = params_of(*shared)
        return [LaneSettings(shared_params) for _ in per_lane]
    return [settings_of(own, models[i] if i < len(models) and models[i] else f"lane {i + 1}")
            for i, own in enumerate(per_lane)]


def chunks(values: Sequence[Any]) -> list[list[Any]]:
    """The per-lane boxes' values, flat as Gradio passes them, back into one list per lane."""
    n = len(FIELDS)
    return [list(values[k:k + n]) for k in range(0, len(values), n)]


def shown(remembered: dict[str, Any] | None, recorded: dict[str, Any] | None, defaults: Any) -> dict[str, Any]:
    """What a lane's boxes show: the values last typed for its model (kept across re-renders and New
    session), else those its last output ran with, else playground.toml's defaults."""
    if remembered:
        return dict(remembered)
    if recorded:
        return {"temperature": _text(recorded.get("temperature")), "max_tokens": recorded.get("max_tokens"),
                "seed": _text(recorded.get("seed")), "top_p": _text(recorded.get("top_p")),
                "stop": "\n".join(recorded.get("stop") or ()), "system": recorded.get("system") or ""}
    return {"temperature": _text(defaults.temperature), "max_tokens": defaults.max_tokens,
            "seed": _text(defaults.seed), "top_p": _text(getattr(defaults, "top_p", None)), "stop": "", "system": ""}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def boxes(values: dict[str, Any], lane: int) -> list[Any]:
    """A lane's parameter boxes inside its "params" accordion, in ``FIELDS`` order."""
    return [
        gr.Textbox(values["temperature"], label="temperature", placeholder="default", interactive=True,
                   elem_id=f"lane-temperature-{lane}"),
        gr.Number(values["max_tokens"], label="max tokens", precision=0, interactive=True,
                  elem_id=f"lane-max-tokens-{lane}"),
        gr.Textbox(values["seed"], label="seed", placeholder="none", interactive=True, elem_id=f"lane-seed-{lane}"),
        gr.Textbox(values["top_p"], label="top_p", placeholder="default", interactive=True,
                   elem_id=f"lane-top-p-{lane}"),
        gr.Textbox(values["stop"], label="stop sequences (one per line)", lines=2, placeholder="none",
                   interactive=True, elem_id=f"lane-stops-{lane}"),
        gr.Textbox(values["system"], label="system prompt (blank: the session's)", lines=2,
                   placeholder="the session's", interactive=True, elem_id=f"lane-system-{lane}"),
    ]


def remember(view_state: Any, model: str, lane_boxes: list[Any]) -> None:
    """Keep what is typed in a lane's boxes in the view state, under the lane's model. The state's
    hash leaves ``params`` out, so this never re-renders the lanes."""
    def keep(v: Any, *values: Any) -> Any:
        return v.but(params={**v.params, model: dict(zip(FIELDS, values, strict=True))})

    for box in lane_boxes:
        box.input(keep, [view_state, *lane_boxes], view_state, queue=False, api_visibility="private",
                  show_progress="hidden")
