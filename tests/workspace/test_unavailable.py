"""Azure's "not now", as azure-core raises it past its retries, is `Unavailable` at the workspace edge;
a refusal stays a refusal."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ServiceRequestError, ServiceResponseError

from amlops.workspace.interface import Unavailable
from amlops.workspace.sdk import unavailable_as_such


def raising(exc: BaseException):
    @unavailable_as_such
    def call() -> None:
        raise exc

    return call


def http(status: int, message: str) -> HttpResponseError:
    error = HttpResponseError(message=message)
    error.status_code = status
    return error


@pytest.mark.parametrize(
    "exc, says",
    [
        (http(429, "Too Many Requests"), "Azure ML answered 429: Too Many Requests"),
        (http(503, "Service Unavailable"), "Azure ML answered 503: Service Unavailable"),
        (ServiceRequestError("Connection refused"), "lost the connection to Azure ML: Connection refused"),
        (ServiceResponseError("Connection reset by peer"), "lost the connection to Azure ML: Connection reset by peer"),
        (requests.ConnectionError("reset"), "lost the connection to Azure ML: reset"),
    ],
    ids=["429", "503", "refused", "reset", "requests"],
)
def test_not_now_is_unavailable(exc: BaseException, says: str) -> None:
    with pytest.raises(Unavailable, match=says):
        raising(exc)()


@pytest.mark.parametrize("exc", [http(400, "BadArgument"), ResourceExistsError("exists"), ValueError("no")])
def test_a_refusal_stays_what_it_is(exc: BaseException) -> None:
    with pytest.raises(type(exc)):
        raising(exc)()
