"""The one check of a prompt at the edge — the page, the Python API and the CLI all come here —
and the error it raises (a message that names no model)."""

from __future__ import annotations

from backends.errors import ConfigError


class PromptError(ConfigError):
    """The prompt itself is unusable (empty, too long): a message that names no model."""


class CheckedPrompt(str):
    """A prompt that passed ``check_prompt`` (the CLI checks it as it reads it, before anything
    else): ``Comparison`` takes it as it is instead of checking it again."""


EMPTY_HINT = "type a question in the prompt box, then run"  # the page's words (and the API's)


def check_prompt(prompt: str, limit: int, what: str = "prompt", *, empty_hint: str = EMPTY_HINT) -> CheckedPrompt:
    """The one check of a prompt (or system prompt) at the edge: page, API and CLI all come here.
    ``empty_hint`` says what to do about an empty one in the caller's words (the CLI's: "pass -")."""
    if isinstance(prompt, CheckedPrompt):
        return prompt
    if not isinstance(prompt, str):
        raise PromptError(f"the {what} must be text")
    if what == "prompt" and not prompt.strip():
        raise PromptError(f"empty prompt: {empty_hint}")
    if len(prompt) > limit:
        raise PromptError(f"the {what} is {len(prompt):,} characters, over the limit of {limit:,} — "
                          "shorten it (or raise prompt_chars under [limits] in playground.toml)")
    return CheckedPrompt(prompt)
