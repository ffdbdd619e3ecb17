"""Model data collection, as Azure ML's data collector (MDC) does it for a deployment with `dataCollector`.

Sources: "Collect production data from models deployed for real-time inferencing"
(learn.microsoft.com/azure/machine-learning/how-to-collect-production-data) and azureml-ai-monitoring 1.0.0,
the package scoring scripts log with (`azureml.ai.monitoring.Collector`).

- A deployment container gets a collector listening on 127.0.0.1; `Collector` posts each logged DataFrame to
  `http://$AZUREML_MDC_HOST:$AZUREML_MDC_PORT/modeldata/log`, enabled per collection by the JSON file named by
  `AZUREML_MDC_CONFIG_PATH` (`{"runMode": "cloud", "collections": {name: {"enabled", "sampleRatePercentage"}}}`,
  what azureml.ai.monitoring.config.loadConfig reads). The event's attributes come as `ce-*` headers:
  `trace-id` (the row's id), `ce-time` (epoch seconds), `ce-type` (`azureml.inference.<collection>`),
  `ce-collect-data-type`, `ce-agent`, `ce-x-request-id` (the correlation id), `ce-model-version`.
- Collections `request` and `response` are reserved for payload logging, done outside the scoring script
  (REST spec, DataCollector.collections); here the scoring router does it.
- Rows are CloudEvents-like JSON objects, one a line, appended under the collection's folder (by default
  `azureml://datastores/workspaceblobstore/paths/modelDataCollector/<endpoint>/<deployment>/<collection>`)
  in `<yyyy>/<MM>/<dd>/<HH>/<instance id>.jsonl` (the folders follow `rollingRate`).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

#: Collections the collector itself logs (HTTP payloads); every other name is the scoring script's.
PAYLOAD = ("request", "response")
#: rollingRate -> the time folders under a collection (REST spec DataCollector.rollingRate; default Hour).
ROLLING = {"minute": "%Y/%m/%d/%H/%M", "hour": "%Y/%m/%d/%H", "day": "%Y/%m/%d", "month": "%Y/%m", "year": "%Y"}
MAX_BODY = 4 * 1024 * 1024  # larger payloads Azure stores as raw files, not rows: refused here
_TIME = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Collection:
    """One enabled collection and the local folder behind its datastore path."""

    name: str
    folder: Path
    sampling_rate: float = 1.0


@dataclass(frozen=True)
class CollectionSpec:
    """A deployment's enabled collections, as its `dataCollector` declares them."""

    source: str  # the deployment's ARM id: each row's `source`
    collections: tuple[Collection, ...]
    rolling_rate: str = "Hour"

    def get(self, name: str) -> Collection | None:
        return next((c for c in self.collections if c.name == name.lower()), None)

    @property
    def custom(self) -> bool:
        """Whether a scoring script logs anything (azureml-ai-monitoring is on only then)."""
        return any(c.name not in PAYLOAD for c in self.collections)

    def mdc_config(self) -> dict[str, Any]:
        """The file AZUREML_MDC_CONFIG_PATH names, in the keys azureml-ai-monitoring reads."""
        collections = {c.name: {"enabled": True, "sampleRatePercentage": round(c.sampling_rate * 100)} for c in self.collections}
        return {"runMode": "cloud", "collections": collections}


def event(
    source: str,
    collection: str,
    body: bytes,
    content_type: str,
    correlation_id: str,
    *,
    row_id: str | None = None,
    at: float | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One row of collected data, in the schema Azure writes (the docs' "Store collected data" section)."""
    data: Any
    try:
        data = json.loads(body) if content_type.split(";")[0].strip() == "application/json" else body.decode()
    except (UnicodeDecodeError, json.JSONDecodeError):
        data, content_type = body.decode(errors="replace"), "text/plain"
    row = {
        "specversion": "1.0",
        "id": row_id or str(uuid.uuid4()),
        "source": source,
        "type": f"azureml.inference.{collection}",
        "datacontenttype": content_type.split(";")[0].strip(),
        "time": time.strftime(_TIME, time.gmtime(time.time() if at is None else at)),
        "data": data,
        **(extra or {}),
        "contentrange": f"bytes 0-{max(len(body) - 1, 0)}/{len(body)}",
    }
    if correlation_id:
        row.update(correlationid=correlation_id, xrequestid=correlation_id)
    return row


class Sink:
    """Appends one deployment's rows to its collections' rolled files; one instance id per serving process."""

    def __init__(self, spec: CollectionSpec) -> None:
        self.spec = spec
        self.instance = str(uuid.uuid4())
        self._lock = threading.Lock()

    def write(self, name: str, row: dict[str, Any]) -> Path | None:
        collection = self.spec.get(name)
        if collection is None:
            return None
        at = time.strptime(row["time"], _TIME)
        rolled = time.strftime(ROLLING.get(self.spec.rolling_rate.lower(), ROLLING["hour"]), at)
        path = collection.folder / rolled / f"{self.instance}.jsonl"
        line = (json.dumps(row, separators=(",", ":")) + "\n").encode()
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("ab") as out:
                out.write(line)
        return path


class Receiver:
    """The collector a scoring script's `Collector` posts to: an HTTP server on 127.0.0.1, one per
    deployment (in Azure it runs beside each deployment's container, at 127.0.0.1:50011)."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(sink))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="mdc", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(sink: Sink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            if self.path.split("?")[0] != "/modeldata/log":
                return self._answer(404, "not found")
            if length > MAX_BODY:
                return self._answer(413, "payload too large")
            body = self.rfile.read(length)
            kind = self.headers.get("ce-type", "")
            name = kind.removeprefix("azureml.inference.")
            if not kind.startswith("azureml.inference.") or name in PAYLOAD or sink.spec.get(name) is None:
                return self._answer(400, f"collection {name!r} is not enabled on this deployment")
            extra = {
                key: self.headers[header]
                for key, header in (
                    ("modelversion", "ce-model-version"),
                    ("collectdatatype", "ce-collect-data-type"),
                    ("agent", "ce-agent"),
                )
                if self.headers.get(header)
            }
            try:
                at = float(self.headers.get("ce-time") or time.time())
            except ValueError:
                at = time.time()
            row = event(
                sink.spec.source,
                name,
                body,
                self.headers.get("Content-Type") or "application/json",
                self.headers.get("ce-x-request-id") or "",
                row_id=self.headers.get("trace-id"),
                at=at,
                extra=extra,
            )
            sink.write(name, row)
            self._answer(200, "accepted")

        def _answer(self, status: int, text: str) -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
            pass

    return Handler
