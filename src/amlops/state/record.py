"""What amlops writes into the workspace's own tags, so that the workspace is the record.

A killed apply resumes from what these tags say, `status` reads them, and `rollback` finds the
previous release in them. Azure limits a tag value to 256 characters: records are compact JSON, and
measurements keep only numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum

MAX_TAG = 256

# Endpoint tags.
ENVIRONMENT = "amlops.environment"  # marks an endpoint as managed by amlops for this environment
RELEASE = "amlops.release"  # the environment's release that last rolled this asset out (lineage)
ENDPOINT_RELEASE = "amlops.endpoint_release"  # the endpoint's part of the release now live (set at promotion)
PREVIOUS = "amlops.previous"  # the endpoint release it replaced, `<id>@<commit>`, for rollback
SINCE = "amlops.since"  # since when the live release serves (epoch seconds)
COMMIT = "amlops.commit"  # the git commit the live release was applied from
ROLLOUT = "amlops.rollout"  # the current or last rollout: a RolloutRecord
MEASURED = "amlops.measured"  # that rollout's measurements, one per judged step
REASON = "amlops.reason"  # why that rollout aborted, or who rolled it back
EVALUATION = "amlops.evaluation"  # that rollout's offline evaluation: a state.evaluation.Evaluated
ENDPOINT_SETTINGS = "amlops.endpoint_settings"  # the hash of endpoint.yml's settings last written, as releases hash it
LOCK = "amlops.lock"  # the apply that holds the endpoint: a Lock

# Deployment and model tags (lineage).
DEPLOYMENT = "amlops.deployment"  # the deployment's name in the manifests, without the spec hash
IDENTITY = "amlops.identity"  # the digest of what it serves, as the release id hashes it
MANIFEST = "amlops.manifest"  # the file it was made from, relative to the repository
CONTENT_HASH = "amlops.content_hash"  # a model's sha256, to tell identical from conflicting content


class Status(str, Enum):
    running = "running"
    rolled_out = "rolled_out"  # every step passed: the new release serves
    aborted = "aborted"
    rolled_back = "rolled_back"


@dataclass(frozen=True)
class RolloutRecord:
    """One rollout of one endpoint: from which release to which, at which step since when."""

    to: str
    start: str | None  # the release it started from (None: a new endpoint)
    base: dict[str, int]  # the traffic split before the rollout, by Azure deployment name
    step: int  # the index of the step whose traffic is set; -1 before the first
    since: int  # when that step began (epoch seconds)
    status: Status = Status.running

    def encode(self) -> str:
        data = {"to": self.to, "from": self.start, "base": self.base, "step": self.step, "t": self.since, "st": self.status.value}
        return _fit(json.dumps(data, separators=(",", ":")))

    @classmethod
    def decode(cls, text: str | None) -> RolloutRecord | None:
        """The record, or None when the tag is absent or not one of ours."""
        try:
            data = json.loads(text or "")
            return cls(data["to"], data["from"], dict(data["base"]), int(data["step"]), int(data["t"]), Status(data["st"]))
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class Measurement:
    """Requests a deployment served over a window, with errors and the 95th-percentile latency."""

    requests: int
    errors: int
    p95_ms: float | None = None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class StepMeasurement:
    step: int
    measurement: Measurement
    passed: bool


def encode_measured(items: list[StepMeasurement]) -> str:
    """`[[step, requests, errors, p95_ms, passed], ...]`: the newest kept when the tag is full."""
    rows = [[i.step, i.measurement.requests, i.measurement.errors, _ms(i.measurement.p95_ms), int(i.passed)] for i in items]
    while rows and len(json.dumps(rows, separators=(",", ":"))) > MAX_TAG:
        rows.pop(0)
    return json.dumps(rows, separators=(",", ":"))


def decode_measured(text: str | None) -> list[StepMeasurement]:
    try:
        return [StepMeasurement(int(s), Measurement(int(r), int(e), p), bool(ok)) for s, r, e, p, ok in json.loads(text or "[]")]
    except (ValueError, TypeError):
        return []


@dataclass(frozen=True)
class Lock:
    """Who holds an endpoint for a rollout, until when. A holder is `host/pid/nonce`."""

    holder: str
    expires: int

    def encode(self) -> str:
        return _fit(f"{self.holder}|{self.expires}")

    @classmethod
    def decode(cls, text: str | None) -> Lock | None:
        holder, _, expires = (text or "").rpartition("|")
        return cls(holder, int(expires)) if holder and expires.isdigit() else None


@dataclass(frozen=True)
class Previous:
    """The release an endpoint served before its live one, and the commit it came from."""

    release: str
    commit: str | None = None

    def encode(self) -> str:
        return f"{self.release}@{self.commit or ''}"

    @classmethod
    def decode(cls, text: str | None) -> Previous | None:
        release, _, commit = (text or "").partition("@")
        return cls(release, commit or None) if release else None


def fit(text: str) -> str:
    """A free-text tag value cut to Azure's limit."""
    return text if len(text) <= MAX_TAG else text[: MAX_TAG - 1] + "…"


def _fit(text: str) -> str:
    if len(text) > MAX_TAG:
        raise ValueError(f"record of {len(text)} characters exceeds Azure's {MAX_TAG}-character tag limit: {text[:80]}…")
    return text


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def version_conflict(what: str, tags: dict[str, str], path: str, content_hash: str) -> str | None:
    """Why a registered version with these tags cannot stand for `path`'s content, or None when it is that content."""
    registered = tags.get(CONTENT_HASH)
    if registered == content_hash:
        return None
    found = f"content {registered[:12]}" if registered else "no amlops content hash (registered outside amlops)"
    return (
        f"{what} is registered with {found}, but {path} has content {content_hash[:12]}: "
        "a released version is immutable, give the new content a new version"
    )


@dataclass(frozen=True)
class Lineage:
    """Which commit and release put an asset into a workspace, written as tags on every asset."""

    environment: str
    release: str  # the environment's release id
    commit: str | None  # None outside a git repository; `<sha>+dirty` for an uncommitted work tree

    def tags(self, manifest: str) -> dict[str, str]:
        return {ENVIRONMENT: self.environment, RELEASE: self.release, COMMIT: self.commit or "", MANIFEST: fit(manifest)}
