"""Turn pydantic's JSON Schema into a Kubernetes *structural* OpenAPI v3 schema.

Kubernetes accepts a subset of JSON Schema: no ``$ref``, no ``title``, no
``null`` types, ``anyOf`` only for value validations, and the special
int-or-string form. This module inlines references, drops what the API server
rejects, and turns ``default_factory`` values into schema defaults so that
the API server fills in the same defaults the operator's models use.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, NoDefault
from pydantic_core import core_schema

Schema = dict[str, Any]

_DROPPED_KEYS = frozenset({"title", "$defs", "additionalProperties"})


class _WithFactoryDefaults(GenerateJsonSchema):
    """Also report defaults that come from a ``default_factory`` without arguments."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            return factory()  # type: ignore[call-arg]
        return schema.get("default", NoDefault)


def structural_schema(model: type[BaseModel]) -> Schema:
    """The structural schema of ``model`` (camelCase names, defaults included)."""
    raw = model.model_json_schema(by_alias=True, schema_generator=_WithFactoryDefaults)
    return _convert(raw, raw.get("$defs", {}))


def _convert(node: Schema, defs: dict[str, Schema]) -> Schema:
    node = _resolve(node, defs)
    out: Schema = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS:
            continue
        if key == "properties":
            out[key] = {name: _convert(sub, defs) for name, sub in value.items()}
        elif key == "items":
            out[key] = _convert(value, defs)
        elif key == "default":
            out[key] = _strip_none(value)
        elif key == "const":
            out["enum"] = [value]
        else:
            out[key] = value
    additional = node.get("additionalProperties")
    if isinstance(additional, dict) and "properties" not in node:
        out["additionalProperties"] = _convert(additional, defs)
    if out.get("default") is None:
        out.pop("default", None)
    return out


def _resolve(node: Schema, defs: dict[str, Schema]) -> Schema:
    """Inline ``$ref``/``allOf`` and reduce ``anyOf`` with ``null`` or int-or-string."""
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return _resolve(_merge(target, siblings), defs)
    if "allOf" in node and len(node["allOf"]) == 1:
        siblings = {k: v for k, v in node.items() if k != "allOf"}
        return _resolve(_merge(node["allOf"][0], siblings), defs)
    if "anyOf" in node:
        return _reduce_any_of(node, defs)
    return node


def _reduce_any_of(node: Schema, defs: dict[str, Schema]) -> Schema:
    branches = [b for b in node["anyOf"] if b.get("type") != "null"]
    siblings = {k: v for k, v in node.items() if k != "anyOf"}
    if len(branches) == 1:
        return _resolve(_merge(branches[0], siblings), defs)
    types = sorted(b.get("type", "") for b in branches)
    if types == ["integer", "string"]:
        # The only anyOf with types Kubernetes accepts; string validations move up a level.
        string = next(b for b in branches if b.get("type") == "string")
        checks = {k: v for k, v in string.items() if k != "type"}
        return {
            **siblings,
            **checks,
            "x-kubernetes-int-or-string": True,
            "anyOf": [{"type": "integer"}, {"type": "string"}],
        }
    raise ValueError(f"cannot express anyOf {node['anyOf']!r} as a structural schema")


def _merge(base: Schema, extra: Schema) -> Schema:
    merged = {**base, **extra}
    rules = base.get("x-kubernetes-validations", []) + extra.get("x-kubernetes-validations", [])
    if rules:
        merged["x-kubernetes-validations"] = rules
    return merged


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value
