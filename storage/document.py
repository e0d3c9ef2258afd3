"""The session document (`playground.session/1`) as types: the one definition of what a session,
a turn, an output, its metrics, error and retries, a vote and a judge are.

Everything else follows from these classes: the JSON Schema that import validates with (generated
by storage/document_schema.py, published as docs/session.schema.json by `python -m storage >
docs/session.schema.json`, and a test fails when that file is stale), the typed reading of a stored or exported document
(`Session.of(doc)`), and the rules readers used to re-derive from dicts (the last turn, a turn's
counted outputs without warm-ups, the runs of each lane, a lane's output in a turn).

The classes read what the schema accepts and write it back as the same JSON (`Session.to_json_dict`):
fields a document leaves out stay out, an integer stays an integer and a float a float, and keys
the types do not name (an output's or its metrics' later additions) are kept. Import still checks a
document with the JSON Schema first and then with the rules a schema cannot state (storage/schema.py):
these types are for reading documents that passed, not for refusing ones that did not.

It lives in storage/ because storage validates with it and never imports playground/; the core
imports it from here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

SCHEMA_ID = "playground.session/1"
# The most tokens a count may say: what the database's integer column holds.
MAX_COUNT = 2**31 - 1
# Deeper than any real session (an output's params sit at level 6), far below json's recursion limit.
MAX_DEPTH = 64

STATUSES = ("ok", "error", "cancelled", "interrupted", "running")
OUTCOMES = ("a", "b", "tie", "bothbad", "best")

DESCRIPTION = (
    "A Playground session: a system prompt and turns, each turn one prompt sent to every model of the session "
    "with one output per model. Besides this schema (storage/schema.py checks these): the document is plain "
    f"data — nested at most {MAX_DEPTH} levels, integers within signed 64 bits, every number finite, every "
    "string valid Unicode; every timestamp is a real date; in every output the times of `timeline` never "
    "decrease and its chunk lengths add up to the number of characters of `text`; every vote refers to what "
    "the session holds (its turn exists, each of its lanes is an output of that turn whose model is the "
    "vote's model at that position, its winner fits its outcome) and a turn has at most one human vote and "
    "one vote per judge model; no key named like a credential (api_key, authorization, headers, ...) "
    "appears anywhere. Generated from storage/document.py by `python -m storage`."
)

# -- the small types --------------------------------------------------------------------------

Ulid = Annotated[str, Field(pattern=r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")]
Timestamp = Annotated[str, Field(
    pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z$",
    description="ISO 8601 in UTC with a Z, at most microseconds")]
# Two patterns, not one: a single regex saying both backtracks quadratically on a long hostile id.
ModelId = Annotated[str, Field(pattern=r"\S"), WithJsonSchema({
    "type": "string", "allOf": [{"pattern": r"\S"}, {"pattern": "^[^\\u0000]*$"}],
    "description": "not blank, no NUL character (PostgreSQL text cannot hold one)"})]
_NUMBER = {"type": "number", "minimum": 0}
# A number as written: an integer stays an integer (a hand-made `41`), a float a float.
Amount = Annotated[Annotated[int, Field(ge=0)] | Annotated[float, Field(ge=0)], WithJsonSchema(
    {**_NUMBER, "description": "a duration (ms), rate or cost: never negative"})]
Ms = Annotated[Annotated[int, Field(ge=0)] | Annotated[float, Field(ge=0)], WithJsonSchema(_NUMBER)]


def _whole(minimum: int, maximum: int | None = None, description: str | None = None) -> Any:
    """An integer as JSON Schema counts one: `3`, or `3.0` kept as written (the schema accepts both)."""
    bounds = {"ge": minimum, "le": maximum}
    schema: dict[str, Any] = {"type": "integer", "minimum": minimum}
    if maximum is not None:
        schema["maximum"] = maximum
    if description:
        schema["description"] = description
    return Annotated[Annotated[int, Field(**bounds)] | Annotated[float, Field(**bounds)], WithJsonSchema(schema)]


Count = _whole(0, MAX_COUNT, "a token count: what the database's integer column holds")
Index = _whole(0)
Chunk = tuple[Ms, Annotated[int, Field(ge=0)]]


class _Open(BaseModel):
    """A part that keeps the keys it does not name (later additions ride along unchanged)."""

    model_config = ConfigDict(extra="allow", serialize_by_alias=True, validate_by_alias=True, defer_build=True)


class OutputError(_Open):
    type: str
    message: str


class Retry(_Open):
    """One failed attempt of a retried lane."""

    attempt: _whole(1) | SkipJsonSchema[None] = None  # type: ignore[valid-type]
    start_ms: Ms | SkipJsonSchema[None] = Field(None, description="sent, ms after the first attempt was")
    duration_ms: Ms | SkipJsonSchema[None] = Field(None, description="from sent to failed")
    error_type: str | None = None
    error: str | SkipJsonSchema[None] = None
    wait_ms: Ms | SkipJsonSchema[None] = Field(None, description="back-off before the next attempt")


class Metrics(_Open):
    """What the engine measured (docs/architecture.md, Timing); every figure may be unknown (null)."""

    ttft_ms: Amount | None = None
    total_ms: Amount | None = None
    queue_ms: Amount | None = None
    load_ms: Amount | None = None
    retry_ms: Amount | None = Field(None, description=(
        "from the first attempt's request sent to the answering one's (t0): failed attempts and the waits "
        "between them, part of total_ms, never of TTFT"))
    input_tokens: Count | None = None
    output_tokens: Count | None = None
    tokens_per_s: Amount | None = None
    cost_usd: Amount | None = None
    estimated: list[str] | SkipJsonSchema[None] = None
    contention: dict[str, Any] | None = None


_TOKEN_ROW = {
    "type": "array", "prefixItems": [
        {"type": "string", "description": "the token's text"},
        {"type": "number", "description": "its natural-log probability"},
        {"type": "array", "description": "the most likely alternatives at that position, best first",
         "items": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}],
                   "minItems": 2, "maxItems": 2}}],
    "minItems": 3, "maxItems": 3}
Tokens = Annotated[list[Any], WithJsonSchema({
    "type": "array", "items": _TOKEN_ROW,
    "description": ("per token, in order: [text, logprob, [[alternative, logprob], ...]] (logprobs in nats, "
                    "4 decimals); timestamps stay in `timeline`")})]


class Logprobs(_Open):
    """How an output's token probabilities were asked for and measured."""

    top_k: _whole(0, 20, "alternatives asked for per token")  # type: ignore[valid-type]
    kind: Literal["raw", "sampled", "provider"] | None = Field(description=(
        "raw: the model's distribution before temperature/top-p/penalties; sampled: after the sampler's "
        "transforms; provider: a hosted API's figures; null: the engine offered none"))
    note: str | SkipJsonSchema[None] = None


class Output(_Open):
    """One model's answer to one turn (one run of it, with `--repeat`)."""

    model_config = ConfigDict(defer_build=True,
                              json_schema_extra={"propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"}})

    model: ModelId = Field(description="provider:model, or a named model of playground.toml")
    label: Annotated[str, Field(pattern="^[^\\u0000]*$")] | None
    params: dict[str, Any]
    text: str
    status: Literal["ok", "error", "cancelled", "interrupted", "running"]
    error: OutputError | None
    finish_reason: str | None
    metrics: Metrics
    server_metrics: dict[str, Any]
    timeline: list[Chunk] = Field(description=(
        "[ms since t0, characters in the chunk] per streamed chunk; times never decrease (two chunks may "
        "share a time: they are rounded to 0.1 ms)"))
    reasoning: str | SkipJsonSchema[None] = None
    retries: list[Retry] | SkipJsonSchema[None] = Field(
        None, description="the failed attempts of a retried lane, in order")
    repeat: Index | SkipJsonSchema[None] = Field(None, description="run index of a repeated run")  # type: ignore[valid-type]
    warmup: bool | SkipJsonSchema[None] = None
    answered_by: Annotated[str, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = Field(
        None, description=("the model the answer names, when it is not the one asked for (a server that "
                           "ignores the model name, or a compatible server's only model)"))
    mode: Literal["chat", "complete", "score"] | SkipJsonSchema[None] = Field(
        None, description="how the prompt was sent (absent: chat)")
    logprobs: Logprobs | SkipJsonSchema[None] = None
    tokens: Tokens | SkipJsonSchema[None] = None
    revision: str | SkipJsonSchema[None] = Field(
        None, description="the commit a hub revision (model@REVISION) resolved to when it ran")
    template: bool | SkipJsonSchema[None] = Field(
        None, description="false: the model has no chat template, the prompt was sent as plain text")
    notes: list[Annotated[str, Field(min_length=1, max_length=500)]] | SkipJsonSchema[None] = Field(
        None, description=("what a reader should know about how this output was made, one line each, to show "
                           "beside it (\"no chat template: the prompt was sent as plain text\")"))
    continues: Index | SkipJsonSchema[None] = Field(  # type: ignore[valid-type]
        None, description="complete mode: the lane whose continuation of the previous turn this document kept")

    @property
    def counted(self) -> bool:
        """Whether the output counts: a warm-up run is shown but left out of figures and votes."""
        return not self.warmup

    @property
    def round(self) -> tuple[bool, int | None]:
        return round_of(self.warmup, self.repeat)


class Turn(BaseModel):
    """One prompt sent to every lane, with the outputs stored round by round (lane order inside)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    prompt: str
    created_at: Timestamp
    outputs: list[Output]

    @classmethod
    def of(cls, turn: dict[str, Any]) -> Turn:
        """The typed view of one turn of a valid document."""
        return cls.model_validate(turn)

    @property
    def counted(self) -> list[Output]:
        """This turn's outputs without the warm-ups: what figures, votes and judges look at."""
        return [o for o in self.outputs if o.counted]

    def lanes(self) -> list[list[Output]]:
        """The runs of each lane, lane by lane (warm-up first, then repeats in order)."""
        return [[self.outputs[i] for i in lane] for lane in lane_indexes([o.round for o in self.outputs])]

    def lane_output(self, lane: int) -> Output | None:
        """A lane's output in this turn: its first counted run (repeat runs and warm-ups aside)."""
        lanes = self.lanes()
        if not 0 <= lane < len(lanes):
            return None
        return next((o for o in lanes[lane] if o.counted), lanes[lane][0])


class Judge(_Open):
    rubric: str | SkipJsonSchema[None] = None
    reasoning: str | SkipJsonSchema[None] = None
    model: Annotated[str, Field(pattern=r"\S")]


class Vote(_Open):
    """An arena vote on a turn: which of its lanes did better, by a person or a judge model."""

    turn: Annotated[int, Field(ge=0)]
    lanes: list[Annotated[int, Field(ge=0)]] = Field(min_length=2, json_schema_extra={"uniqueItems": True})
    models: list[ModelId] = Field(min_length=2)
    outcome: Literal["a", "b", "tie", "bothbad", "best"]
    winner: Annotated[int, Field(ge=0)] | None
    blind: bool
    judge: Judge | None
    created_at: Timestamp


class Session(BaseModel):
    """A whole session: what an export writes and an import reads."""

    model_config = ConfigDict(extra="forbid", serialize_by_alias=True, validate_by_alias=True, defer_build=True,
                              title=SCHEMA_ID, json_schema_extra={"description": DESCRIPTION})

    schema_id: Literal["playground.session/1"] = Field(alias="schema")
    id: Ulid
    title: Annotated[str, Field(max_length=1000)]
    created_at: Timestamp
    system: str | None
    # In the order the export writes them: the optional fields, then the turns.
    rerun_of: Ulid | SkipJsonSchema[None] = Field(None, description="id of the session this one re-runs")
    tags: list[Annotated[str, Field(min_length=1, max_length=200)]] | SkipJsonSchema[None] = None
    votes: list[Vote] | SkipJsonSchema[None] = Field(
        None, description="arena votes on the turns (playground.arena.votes)")
    turns: list[Turn]

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Session:
        """The typed view of a document that passed validation (a stored or exported one)."""
        return cls.model_validate(doc)

    def to_json_dict(self) -> dict[str, Any]:
        """The document again as plain JSON data: the same keys, values and number kinds it was read from."""
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)

    @property
    def last_turn(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def models(self) -> list[str]:
        """Every model of the session, in the order they first appear over its turns (a model with
        two lanes in one turn, twice): the lanes a reopened session shows, a new turn's default."""
        keys: list[tuple[str, int]] = []
        for turn in self.turns:
            seen: dict[str, int] = {}
            for runs in turn.lanes():
                model = runs[0].model
                key = (model, seen.get(model, 0))
                seen[model] = key[1] + 1
                if key not in keys:
                    keys.append(key)
        return [m for m, _ in keys]


# -- the rules on plain outputs too ------------------------------------------------------------


def round_of(warmup: bool | None, repeat: int | None) -> tuple[bool, int | None]:
    """The round an output belongs to: the warm-up, or the repeat index (None: a single run)."""
    return bool(warmup), repeat


def lane_indexes(rounds: list[tuple[bool, int | None]]) -> list[list[int]]:
    """Group a turn's outputs (given by their rounds, in stored order) by lane: outputs are stored
    round by round, lane order inside, so a lane is the n-th output of every round."""
    by_round: dict[tuple[bool, int | None], list[int]] = {}
    for i, key in enumerate(rounds):
        by_round.setdefault(key, []).append(i)
    width = max((len(r) for r in by_round.values()), default=0)
    return [[r[n] for r in by_round.values() if n < len(r)] for n in range(width)]
