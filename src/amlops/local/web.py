"""The small request/response vocabulary shared by the routes (ARM, admin, scoring), independent of
the HTTP plumbing in server.py."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ArmError(400, "BadRequest", f"The request body is not valid JSON: {exc}") from exc


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, doc: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(doc).encode(), {"Content-Type": "application/json", **(headers or {})})


class ArmError(Exception):
    """An error answered the way ARM does: `{"error": {"code", "message", "details"?}}` with a 4xx/5xx status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        details: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.details = details

    def response(self) -> Response:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return Response.json(self.status, {"error": error}, self.headers)


def not_found(what: str, name: str) -> ArmError:
    return ArmError(404, "ResourceNotFound", f"The {what} '{name}' was not found.")


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    """One route: `template` uses `{name}` for path parameters; fixed segments match case-insensitively
    (ARM paths are case-insensitive). `mutating` says whether the call can change state."""

    method: str
    template: str
    handler: Handler
    mutating: bool
    pattern: re.Pattern[str]


def route(method: str, template: str, handler: Handler, mutating: bool | None = None) -> Route:
    regex = "".join(
        f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part)
        for part in re.split(r"(\{[a-z_]+\})", template)
        if part
    )
    return Route(
        method, template, handler, method != "GET" if mutating is None else mutating, re.compile(f"^{regex}/?$", re.IGNORECASE)
    )


def match(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for (method, path), or None; ArmError 405 when only the method is wrong."""
    path_matched = False
    for r in routes:
        m = r.pattern.match(path)
        if m:
            path_matched = True
            if r.method == method:
                return r, m.groupdict()
    if path_matched:
        raise ArmError(405, "MethodNotAllowed", f"The method {method} is not allowed on {path}.")
    return None
