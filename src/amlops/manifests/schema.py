"""Turning pydantic's validation errors into positioned problems."""

from __future__ import annotations

import types
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from amlops.manifests.errors import Problem, did_you_mean
from amlops.manifests.yamlio import Document, plain

M = TypeVar("M", bound=BaseModel)


def validate(document: Document, model: type[M]) -> tuple[M | None, list[Problem]]:
    """Validate a parsed file against a pydantic model; every error becomes a positioned problem."""
    try:
        return model.model_validate(plain(document.data)), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = tuple(part for part in error["loc"] if not _is_union_tag(part))
            message = _message(error)
            if error["type"] == "extra_forbidden" and field:
                message += did_you_mean(str(field[-1]), _keys_at(model, error["loc"][:-1]))
            problems.append(document.problem(field, message))
        return None, sorted(set(problems))


def _is_union_tag(part: object) -> bool:
    """pydantic names union members in `loc` (e.g. 'EndpointChoice'); they are not fields."""
    return isinstance(part, str) and part[:1].isupper()


def _message(error: ErrorDetails) -> str:
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    return message


def _keys_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> set[str]:
    """The keys the schema allows where `loc` points (through lists, dicts and unions), for a did-you-mean."""
    found: list[Any] = [model]
    for part in loc:
        found = [child for t in found for member in _members(t) for child in _child(member, part)]
    return {name for t in found for member in _members(t) if _is_model(member) for name in member.model_fields}


def _members(annotation: Any) -> list[Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [m for arg in get_args(annotation) for m in _members(arg)]
    return [annotation]


def _child(annotation: Any, part: int | str) -> list[Any]:
    if _is_model(annotation):
        if part == annotation.__name__:
            return [annotation]  # pydantic names the union member it tried
        field = annotation.model_fields.get(str(part))
        return [field.annotation] if field is not None else []
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (list, tuple, set) and args:
        return [args[0]]
    if origin is dict and len(args) == 2:
        return [args[1]]
    return []


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
