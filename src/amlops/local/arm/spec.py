"""Request bodies checked against Microsoft.MachineLearningServices' published REST API specification
(api-version 2025-12-01, vendored trimmed in `mlservices-2025-12-01.json` with its source and licence).

Azure Resource Manager refuses a body it cannot deserialize into the operation's type with 400
`InvalidRequestContent` and the JSON path of the offending member ("Could not find member 'x' on object
of type 'T'. Path 'properties.x'"): unknown properties (the swagger's definitions say
`additionalProperties: false`), wrong types and values outside an enum. Read-only properties a client
sends back (a GET's document PUT again, the case of Azure/autorest#1559) are accepted and ignored: the
service keeps its own values, so `writable` drops them.
Nulls stand for "not set". Primitives convert into one another where the value parses, as the service's
JSON reader (Json.NET) converts them (202208 for a string is "202208", "3" for an integer is 3), and are
kept converted; objects and arrays never convert. Enums are strings matched case-insensitively and kept
in the spec's spelling (the service parses them into its enum types and writes those back).

Routes call `check(body, definition)`; `validate` gives the list of problems for other callers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from amlops.local.web import ArmError

SPEC_FILE = "mlservices-2025-12-01.json"
#: Microsoft.Insights autoscale settings (api-version 2022-10-01), vendored the same way: its definitions add
#: `required` members and `maxItems`, which the service's reader refuses a body without or beyond.
AUTOSCALE_SPEC_FILE = "insights-autoscale-2022-10-01.json"
_PRIMITIVES = ("string", "integer", "number", "boolean")


class _NoConversion(ValueError):
    pass


@dataclass(frozen=True)
class SpecError:
    path: str  # JSON path in the body, e.g. "properties.traffic.blue"
    message: str


@cache
def definitions() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for name in (SPEC_FILE, AUTOSCALE_SPEC_FILE):
        found = vendored(name)["definitions"]
        assert not merged.keys() & found.keys(), f"{name} redefines {sorted(merged.keys() & found.keys())}"
        merged.update(found)
    return merged


@cache
def vendored(name: str) -> dict[str, Any]:
    """One vendored specification file, whole (its source, commit, licence and definitions)."""
    return json.loads(files("amlops.local.arm").joinpath(name).read_text())


def validate(body: Any, definition: str) -> list[SpecError]:
    """Every problem of `body` as an instance of `definition` (a name in the vendored spec)."""
    errors: list[SpecError] = []
    _check(body, {"$ref": definition}, "", errors)
    return errors


def writable(body: Any, definition: str) -> Any:
    """`body` without the read-only properties the spec marks (what ARM ignores in a PUT)."""
    return _strip(body, {"$ref": definition})


def check(body: Any, definition: str) -> Any:
    """The writable part of a valid body; ArmError 400 InvalidRequestContent naming each bad path."""
    errors = validate(body, definition)
    if errors:
        raise ArmError(
            400,
            "InvalidRequestContent",
            f"The request content was invalid and could not be deserialized: '{errors[0].message}'",
            details=[{"code": "InvalidRequestContent", "target": e.path, "message": e.message} for e in errors],
        )
    return writable(body, definition)


def _resolve(schema: dict[str, Any], value: Any) -> tuple[str | None, dict[str, Any]]:
    """(definition name, schema) of a schema, following $ref and a discriminator's value."""
    name = schema.get("$ref")
    if name is None:
        return None, schema
    target = definitions()[name]
    key = target.get("discriminator")
    if key and isinstance(value, dict) and isinstance(value.get(key), str):
        mapped = {k.lower(): v for k, v in target["mapping"].items()}.get(value[key].lower())
        if mapped:
            return mapped, definitions()[mapped]
    return name, target


def _check(value: Any, schema: dict[str, Any], path: str, errors: list[SpecError]) -> None:
    if value is None:
        return
    name, schema = _resolve(schema, value)
    kind = schema.get("type")
    try:
        value = _convert(value, kind)
    except _NoConversion:
        errors.append(SpecError(path, f"Error converting value {json.dumps(value)} to type '{name or kind}'. Path '{path}'."))
        return
    if "enum" in schema and (not isinstance(value, str) or value.lower() not in {e.lower() for e in schema["enum"]}):
        allowed = ", ".join(schema["enum"])
        errors.append(SpecError(path, f"Value '{value}' is not valid for '{path}' (allowed: {allowed}). Path '{path}'."))
        return
    if kind == "array":
        if len(value) > schema.get("maxItems", len(value)):
            errors.append(
                SpecError(path, f"'{path}' has {len(value)} items; at most {schema['maxItems']} are allowed. Path '{path}'.")
            )
        for i, item in enumerate(value):
            _check(item, schema["items"], f"{path}[{i}]", errors)
    elif kind == "object" and "properties" in schema:
        _check_members(value, schema, name or "object", path, errors)
    elif kind == "object" and "additionalProperties" in schema:
        for key, item in value.items():
            _check(item, schema["additionalProperties"], _join(path, key), errors)


def _check_members(value: dict[str, Any], schema: dict[str, Any], name: str, path: str, errors: list[SpecError]) -> None:
    key = schema.get("discriminator")
    if key and value.get(key) is not None and str(value[key]).lower() not in {k.lower() for k in schema["mapping"]}:
        allowed = ", ".join(schema["mapping"])
        errors.append(
            SpecError(
                _join(path, key),
                f"Value '{value[key]}' is not valid for '{key}' (allowed: {allowed}). Path '{_join(path, key)}'.",
            )
        )
        return
    members = {k.lower(): (k, s) for k, s in schema["properties"].items()}
    given = {k.lower() for k, v in value.items() if v is not None}
    for member in schema.get("required", ()):
        if member.lower() not in given:
            errors.append(SpecError(path, f"Required property '{member}' not found in JSON. Path '{path}'."))
    for member, item in value.items():
        known = members.get(member.lower())
        if known is None:
            where = _join(path, member)
            errors.append(SpecError(where, f"Could not find member '{member}' on object of type '{name}'. Path '{where}'."))
        else:
            _check(item, known[1], _join(path, member), errors)


def _convert(value: Any, kind: str | None) -> Any:
    """`value` as JSON type `kind` (None: any), converting primitives as Json.NET does; _NoConversion if not."""
    if kind is None:
        return value
    if kind in ("object", "array") or isinstance(value, dict | list):
        if isinstance(value, {"object": dict, "array": list}.get(kind, ())):
            return value
        raise _NoConversion
    try:
        if kind == "string":
            return str(value)  # booleans read True/False, as .NET writes them
        if kind == "boolean":
            return {"true": True, "false": False}[value.lower()] if isinstance(value, str) else bool(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        number = float(value)  # strings must parse; booleans are 1 and 0
        if kind == "integer":
            if not number.is_integer():
                raise _NoConversion
            return int(number)
        return number
    except (KeyError, ValueError, OverflowError) as exc:
        raise _NoConversion from exc


def _strip(value: Any, schema: dict[str, Any]) -> Any:
    if value is None:
        return None
    _, schema = _resolve(schema, value)
    if schema.get("type") in _PRIMITIVES:
        value = _convert(value, schema["type"])
        return {e.lower(): e for e in schema.get("enum", ())}.get(str(value).lower(), value)  # parsed, then written back
    if isinstance(value, list) and "items" in schema:
        return [_strip(item, schema["items"]) for item in value]
    if not isinstance(value, dict):
        return value
    if "properties" in schema:
        members = {k.lower(): s for k, s in schema["properties"].items()}
        return {
            k: _strip(v, members[k.lower()])
            for k, v in value.items()
            if k.lower() in members and not members[k.lower()].get("readOnly")
        }
    if "additionalProperties" in schema:
        return {k: _strip(v, schema["additionalProperties"]) for k, v in value.items()}
    return value


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member
