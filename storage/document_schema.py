"""The JSON Schema of `playground.session/1`, generated from the types of storage/document.py.

`json_schema()` is what import validates with (storage/schema.py) and `schema_text()` what
`python -m storage` writes to docs/session.schema.json (a test fails when that file is stale). The
generated schema is reshaped to read as a hand-written one would: nullable types as
`{"type": [..., "null"]}`, no titles or Python defaults, and every part inlined except the ones the
store validates on their own (`PARTS`).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from storage.document import Session


class _Generator(GenerateJsonSchema):
    """JSON Schema as the published one reads: `{"type": ["integer", "null"]}` rather than an anyOf,
    no titles or defaults (the schema states constraints, not Python's defaults)."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        inner = self.generate_inner(schema["schema"])
        if isinstance(inner.get("type"), str) and "$ref" not in inner:
            # an enum lists null too: `"type": [..., "null"]` alone still refused None (enum wins)
            enum = {"enum": [*inner["enum"], None]} if "enum" in inner else {}
            return {**inner, "type": [inner["type"], "null"], **enum}
        return super().nullable_schema(schema)

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def json_schema() -> dict[str, Any]:
    """The JSON Schema of `playground.session/1`, generated from `Session` (docs/session.schema.json)."""
    generated = Session.model_json_schema(by_alias=True, schema_generator=_Generator)
    defs = generated.pop("$defs")
    for part in defs.values():
        part.pop("title", None)  # the name of a part is its key in $defs
    # Only the parts the store checks on their own stay references; the rest are written in place,
    # as a reference costs jsonschema a lookup on every output it checks (~0.4 ms an output).
    parts = {name: _inline(defs[name], defs) for name in PARTS}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://playground.invalid/schemas/playground.session/1",
            **_inline(generated, defs), "$defs": parts}


PARTS = ("Turn", "Output", "Vote")  # what storage/schema.py validates by itself (`part_schema`)


def _inline(value: Any, defs: dict[str, Any]) -> Any:
    """`value` with every `$ref` to a part not in `PARTS` replaced by that part's schema."""
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] not in PARTS:
            return _inline({**defs[ref[8:]], **{k: v for k, v in value.items() if k != "$ref"}}, defs)
        return {k: _inline(v, defs) for k, v in value.items()}
    if isinstance(value, list):
        return [_inline(v, defs) for v in value]
    return value


def schema_text() -> str:
    """The published file's text: the schema, indented, non-ASCII kept, a final newline."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
