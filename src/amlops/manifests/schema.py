"""Turning pydantic's validation errors into positioned problems."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from amlops.manifests.errors import Problem
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
            problems.append(document.problem(field, _message(error)))
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
