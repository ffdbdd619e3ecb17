"""Refuse resource inputs that pulumi-azure-native's schema refuses, as the provider would.

The rules are read from the installed `pulumi_azure_native` package itself, not written by hand:
each resource's `<Type>Args` input class gives the property names the schema knows (as the engine
sees them, camelCase), which are required (no default in `__init__`), and each property's type:
nested input classes, lists, maps, scalars and the schema's enums (`_enums.py`). A value outside
an enum is refused even where Azure models it as an extensible string, so that a typo such as
`AllowOnlyAprovedOutbound` fails the plan instead of `pulumi up`.
"""

from __future__ import annotations

import collections.abc
import enum
import importlib
import inspect
import re
import types
import typing
from functools import cache
from typing import Any, cast

from pulumi import _types as pulumi_types
from pulumi.output import Output

PACKAGE = "pulumi_azure_native"
#: How the generated input classes document a discriminator: `:param ... type: ...\n Expected value is 'FQDN'.`
DISCRIMINATOR = re.compile(r":param [^\n]*? (\w+): [^\n]*\n\s+Expected value is '([^']+)'")


class SchemaError(ValueError):
    """An input the provider's schema refuses."""


@cache
def args_class(type_token: str) -> type | None:
    """`azure-native:<module>:<Type>` -> the resource's input class (None: not azure-native)."""
    package, module, name = type_token.split(":")
    if package != "azure-native":
        return None
    resource = getattr(importlib.import_module(f"{PACKAGE}.{module.replace('/', '.')}"), name, None)
    if resource is None:
        raise SchemaError(f"{type_token} is not a resource of {PACKAGE}")
    # The resource's own module; where a sub-resource input type took `<Type>Args`, it is `<Type>InitArgs`.
    own = importlib.import_module(resource.__module__)
    found: type = getattr(own, f"{name}InitArgs", None) or getattr(own, f"{name}Args")
    return found


@cache
def _properties(cls: type) -> tuple[dict[str, Any], frozenset[str]]:
    """(camelCase name -> type, required camelCase names) of an input class."""
    types_ = pulumi_types.input_type_types(cls)
    python_to_pulumi = pulumi_types.input_type_py_to_pulumi_names(cls)
    required = frozenset(
        python_to_pulumi[p.name]
        for p in inspect.signature(cls).parameters.values()
        if p.default is inspect.Parameter.empty and p.name in python_to_pulumi
    )
    return types_, required


@cache
def _discriminator(cls: type) -> tuple[str, str] | None:
    """(camelCase property, the constant it must have) of one shape of a discriminated union."""
    doc = inspect.getdoc(cls.__init__)  # type: ignore[misc]  # the class's own __init__ documents the discriminator
    found = DISCRIMINATOR.search(doc or "")
    if not found:
        return None
    return pulumi_types.input_type_py_to_pulumi_names(cls).get(found.group(1), found.group(1)), found.group(2)


def _meant(options: list[Any], value: Any) -> list[Any]:
    """Of a union's input classes, the one whose discriminator the value carries (else all)."""
    if not isinstance(value, dict):
        return options
    chosen = [
        o
        for o in options
        if inspect.isclass(o)
        and pulumi_types.is_input_type(o)
        and (d := _discriminator(cast(type, o)))
        and value.get(d[0]) == d[1]
    ]
    return chosen or options


def check_resource(type_token: str, inputs: dict[str, Any]) -> None:
    """Raise SchemaError naming the resource type and property path of the first refused input."""
    cls = args_class(type_token)
    if cls is None:
        return
    problems = _check_object(cls, inputs, "")
    if problems:
        raise SchemaError(f"{type_token}: {problems[0]}")


def _check_object(cls: type, value: Any, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path or '(inputs)'}: expected an object ({cls.__name__}), got {value!r}"]
    known, required = _properties(cls)
    problems = [f"{_join(path, key)}: unknown property (not in {cls.__name__})" for key in value if key not in known]
    problems += [f"{_join(path, key)}: required by {cls.__name__}" for key in sorted(required) if value.get(key) is None]
    for key, inner in value.items():
        if key in known and inner is not None:
            problems += _check(known[key], inner, _join(path, key))
    return problems


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _alternatives(annotation: Any) -> list[Any]:
    """The concrete types a (possibly `Input[...]`-wrapped, Optional) annotation allows."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            out += _alternatives(arg)
        return out
    origin = typing.get_origin(annotation) or annotation
    if origin in (collections.abc.Awaitable, Output, type(None)) or (
        inspect.isclass(origin) and issubclass(origin, (Output, collections.abc.Awaitable))
    ):
        return []
    return [annotation]


def _check(annotation: Any, value: Any, path: str) -> list[str]:
    options = _alternatives(annotation)
    if not options or Any in options:
        return []
    enums = [o for o in options if inspect.isclass(o) and issubclass(o, enum.Enum)]
    if enums and isinstance(value, str):
        allowed = sorted({str(member.value) for e in enums for member in e})
        return [] if value in allowed else [f"{path}: {value!r} is not one of {allowed} ({enums[0].__name__})"]
    failures: list[list[str]] = []
    for option in _meant(options, value):
        problems = _check_one(option, value, path)
        if not problems:
            return []
        failures.append(problems)
    return min(failures, key=len)[:1]


def _check_one(option: Any, value: Any, path: str) -> list[str]:
    origin = typing.get_origin(option)
    if origin in (collections.abc.Sequence, list):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {value!r}"]
        (item,) = typing.get_args(option) or (Any,)
        return [p for i, v in enumerate(value) for p in _check(item, v, f"{path}[{i}]")]
    if origin in (collections.abc.Mapping, dict):
        if not isinstance(value, dict):
            return [f"{path}: expected a map, got {value!r}"]
        _, item = typing.get_args(option) or (str, Any)
        return [p for k, v in value.items() for p in _check(item, v, f"{path}.{k}")]
    if inspect.isclass(option) and pulumi_types.is_input_type(option):
        return _check_object(option, value, path)
    if option is bool:
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {value!r}"]
    if option in (int, float):
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        whole = option is float or (number and float(value).is_integer())  # integers arrive as floats
        return [] if number and whole else [f"{path}: expected {option.__name__}, got {value!r}"]
    if option is str:
        return [] if isinstance(value, str) else [f"{path}: expected a string, got {value!r}"]
    return []  # a type the schema leaves open (Any, JSON objects)
