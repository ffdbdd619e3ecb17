"""Keeps `mlservices-2025-12-01.json` current: `python -m amlops.local.arm.vendor [DEFINITION ...]` rewrites
it with the definitions it lists under "roots" (plus any named), and everything they reference.

The definitions are read through azure-ai-ml's generated model of that api-version
(azure/ai/ml/_restclient/arm_ml_service), which carries the swagger's types, enums, read-only flags and
discriminators under the swagger's client names; the file's notes say what was checked against the
swagger text. Routes that take a new kind of body (jobs, components) add its definition here.
"""

from __future__ import annotations

import datetime
import enum
import json
import sys
import typing
from importlib.resources import files
from pathlib import Path
from typing import Any

from amlops.local.arm.spec import SPEC_FILE

#: Members of the SDK's model that the 2025-12-01 swagger does not have.
LEFT_OUT = {"ModelVersionProperties": ("datasets",)}


def build(roots: list[str]) -> dict[str, Any]:
    """Swagger-style definitions of `roots` and all they reference, sorted by name."""
    from azure.ai.ml._restclient.arm_ml_service import models

    reader = _Reader()
    for root in roots:
        reader.add(getattr(models, root))
    return dict(sorted(reader.found.items()))


_SIMPLE = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    datetime.datetime: {"type": "string", "format": "date-time"},
    datetime.timedelta: {"type": "string", "format": "duration"},
}


class _Reader:
    """Walks the generated model classes, one definition per class."""

    def __init__(self) -> None:
        from azure.ai.ml._restclient.arm_ml_service import models
        from azure.ai.ml._restclient.arm_ml_service._utils.model_base import Model
        from azure.ai.ml._restclient.arm_ml_service.models import _models

        self.model_base = Model
        self.namespace = {**vars(_models), "_models": models}
        self.found: dict[str, Any] = {}

    def schema(self, tp: Any) -> dict[str, Any]:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is typing.Union:
            args = tuple(a for a in args if a is not type(None))
            enums = [a for a in args if isinstance(a, type) and issubclass(a, enum.Enum)]
            if enums:
                return {"type": "string", "enum": sorted({m.value for e in enums for m in e})}
            return self.schema(args[0]) if len(args) == 1 else {}
        if origin is typing.Literal:
            return {"type": "string", "enum": [a.value if isinstance(a, enum.Enum) else a for a in args]}
        if origin is list:
            return {"type": "array", "items": self.schema(args[0])}
        if origin is dict:
            return {"type": "object", "additionalProperties": self.schema(args[1])}
        if tp in _SIMPLE:
            return dict(_SIMPLE[tp])
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {"type": "string", "enum": sorted(m.value for m in tp)}
        if isinstance(tp, type) and issubclass(tp, self.model_base):
            self.add(tp)
            return {"$ref": tp.__name__}
        return {}

    def add(self, cls: type) -> None:
        name = cls.__name__
        if name in self.found:
            return
        self.found[name] = None
        hints = typing.get_type_hints(cls, globalns=self.namespace)
        props: dict[str, Any] = {}
        discriminator = None
        for attr, field in _fields(cls).items():
            rest_name = field._rest_name_input or attr
            if rest_name in LEFT_OUT.get(name, ()):
                continue
            member: dict[str, Any] = {"type": "string"} if field._is_discriminator else self.schema(hints.get(attr, Any))
            if field._is_discriminator:
                discriminator = rest_name
            if field._visibility == ["read"]:
                member["readOnly"] = True
            props[rest_name] = member
        doc: dict[str, Any] = {"type": "object", "properties": dict(sorted(props.items()))}
        mapping = vars(cls).get("__mapping__")
        if discriminator and mapping:
            doc["discriminator"] = discriminator
            doc["mapping"] = {k: v.__name__ for k, v in sorted(mapping.items())}
            for sub in mapping.values():
                self.add(sub)
        for base in cls.__bases__:
            values = [k for k, v in (getattr(base, "__mapping__", None) or {}).items() if v is cls]
            if values:
                doc["x-ms-discriminator-value"] = values[0]
        self.found[name] = doc


def _fields(cls: type) -> dict[str, Any]:
    from azure.ai.ml._restclient.arm_ml_service._utils.model_base import _RestField

    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        out.update({attr: v for attr, v in vars(klass).items() if isinstance(v, _RestField)})
    return out


def main(argv: list[str]) -> None:
    path = Path(str(files("amlops.local.arm").joinpath(SPEC_FILE)))
    doc = json.loads(path.read_text())
    doc["roots"] = sorted(set(doc["roots"]) | set(argv))
    doc["definitions"] = build(doc["roots"])
    path.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
