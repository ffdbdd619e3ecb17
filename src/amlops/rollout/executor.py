"""The executor: one endpoint's rollout, as Argo Rollouts' loop: observe, compare, take one step, record.

Every write to the endpoint carries the whole record (traffic, mirror, rollout step, measurements,
lock) in one PUT, so whatever the moment an apply is killed, the workspace says where it was: the
next apply re-reads it, re-plans, and continues from the recorded step. Traffic only ever moves onto
deployments just seen `Succeeded`, and a deployment is deleted only once it takes no traffic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field

import requests
from azure.ai.ml import MLClient
from azure.ai.ml.entities import ManagedOnlineDeployment
from azure.core.exceptions import ResourceNotFoundError

from amlops.manifests.repository import Repository
from amlops.release.bundle import DeploymentRelease, Release
from amlops.rollout import assets, record
from amlops.rollout.lineage import Lineage
from amlops.rollout.live import TERMINAL, LiveEndpoint
from amlops.rollout.load import SyntheticLoad
from amlops.rollout.lock import EndpointBusy, is_stale, new_holder
from amlops.rollout.metrics import MetricsSource
from amlops.rollout.plan import Change, EndpointPlan, plan_endpoint
from amlops.rollout.record import Lock, Measurement, Previous, RolloutRecord, Status, StepMeasurement
from amlops.rollout.strategy import Action, Decision, StepTraffic, decide, step_traffic
from amlops.workspace.observe import observe_endpoint, state

Events = Callable[[str, str], None]  # (endpoint, message)


@dataclass(frozen=True)
class Settings:
    gate_timeout: float = 600  # a gate short of min_requests this long fails as inconclusive
    poll_seconds: float = 2  # between measurements, and between reads of a provisioning deployment
    lock_ttl: int = 600  # a lock not renewed for this long expires
    lock_wait: float = 0  # how long to wait for another apply's lock before refusing
    lock_settle: float = 0.5  # between writing the lock and re-reading it
    synthetic_load: bool = False  # platform: local: send the sample request during each step
    gates: bool = True  # False for a rollback: the previous release already proved itself


@dataclass(frozen=True)
class Context:
    client: MLClient
    repo: Repository
    release: Release
    lineage: Lineage
    metrics: MetricsSource
    settings: Settings = Settings()
    events: Events = lambda endpoint, message: None


class RolloutFailed(Exception):
    """A rollout that was undone: traffic is back where it was and the new deployments are gone."""

    def __init__(self, endpoint: str, reason: str, measured: list[StepMeasurement]) -> None:
        super().__init__(f"{endpoint}: {reason}")
        self.endpoint, self.reason, self.measured = endpoint, reason, measured


@dataclass
class Outcome:
    endpoint: str
    release: str
    measured: list[StepMeasurement] = field(default_factory=list)
    scoring_uri: str | None = None


class EndpointRollout:
    """Moves one endpoint from its live release to the desired one, holding its lock throughout."""

    def __init__(self, ctx: Context, name: str, status: Status = Status.rolled_out, reason: str = "") -> None:
        self.ctx, self.name = ctx, name
        self.status, self.reason = status, reason  # how the final record reads: rolled out, or rolled back by whom
        self.holder = new_holder()
        self.tags: dict[str, str] = {}
        self.traffic: dict[str, int] = {}
        self.mirror: dict[str, int] = {}
        self.locked = False
        self.renewed = 0.0

    def run(self) -> Outcome:
        live = self._lock()
        try:
            return self._converge(plan_endpoint(self.ctx.release, self.name, live), live)
        finally:
            if self.locked:
                self._put(lock=False)

    # -- the loop ---------------------------------------------------------------------------------

    def _converge(self, plan: EndpointPlan, live: LiveEndpoint) -> Outcome:
        desired = self.ctx.release.endpoints[self.name]
        base = plan.resume.base if plan.resume else dict(plan.traffic[0])
        base_mirror = {n: s for n, s in plan.mirror[0].items() if n not in plan.new}
        measured = record.decode_measured(live.tags.get(record.MEASURED)) if plan.resume else []
        by_azure = {d.azure_name: d for d in desired.deployments.values()}
        for name in plan.new:
            self._provision(name, by_azure, base, measured, recreate=name in live.deployments)
        for name in sorted(n for n, share in plan.traffic[1].items() if share and not base.get(n)):
            try:  # every deployment about to take traffic it has not had, even one an earlier apply made
                self._smoke_test(name)
            except SmokeTestFailed as exc:
                self._fail_new(name, base, measured, str(exc))
        for change in plan.deployments:
            if change.change is Change.scale:
                self._say(f"scaling {change.name}: {change.detail}")
                self._create(assets.deployment(self.ctx.repo, self.ctx.release, by_azure[change.name], self.ctx.lineage))
        steps = step_traffic(desired.strategy, base, plan.traffic[1]) if plan.rollout else []
        if steps and not any(s.judged for s in steps) and not plan.resume:
            steps = []  # nothing to gate (a new endpoint): promotion sets the traffic in its one write
        if steps:
            first = min(plan.resume.step, len(steps) - 1) if plan.resume else 0
            if plan.resume:
                self._say(f"resuming the rollout at step {first + 1} of {len(steps)}")
            for index in range(first, len(steps)):
                self._step(plan, base, base_mirror, steps, index, measured)
        retired = sorted(set(self._deployments()) - set(by_azure))
        if any(self.traffic.get(n) or self.mirror.get(n) for n in retired):
            self._require_succeeded(set(plan.traffic[1]) | set(plan.mirror[1]))
            self._put(traffic=plan.traffic[1], mirror=plan.mirror[1])  # off the retired ones before they go
        for name in retired:
            self._say(f"deleting retired deployment {name}")
            self.ctx.client.online_deployments.begin_delete(name=name, endpoint_name=self.name).result()
        self._finish(plan, live, measured)
        return Outcome(self.name, plan.release_id, measured, live.scoring_uri)

    def _step(
        self,
        plan: EndpointPlan,
        base: dict[str, int],
        base_mirror: dict[str, int],
        steps: list[StepTraffic],
        index: int,
        measured: list[StepMeasurement],
    ) -> None:
        step = steps[index]
        self._require_succeeded(set(step.traffic) | set(step.mirror))
        since = int(time.time())
        rollout = RolloutRecord(plan.release_id, plan.live_release, base, index, since)
        self._put(
            traffic=step.traffic,
            mirror=step.mirror,
            **{record.ROLLOUT: rollout.encode(), record.MEASURED: record.encode_measured(measured)},
        )
        self._say(f"step {index + 1}/{len(steps)}: {step.describe()}")
        if not step.judged or not self.ctx.settings.gates:
            return
        decision, measurement = self._gate(step, since, last=index == len(steps) - 1)
        measured.append(StepMeasurement(index, measurement, decision.action is not Action.abort))
        if decision.action is Action.abort:
            self._undo(
                plan,
                base,
                base_mirror,
                measured,
                f"gate failed at step {index + 1} ({step.describe()}): {decision.judgement.reason}",
            )
        self._say(f"gate passed: {decision.judgement.reason}")

    def _gate(self, step: StepTraffic, since: float, last: bool) -> tuple[Decision, Measurement]:
        settings, strategy = self.ctx.settings, self.ctx.release.endpoints[self.name].strategy
        if settings.synthetic_load:
            self._say("sending the sample request as synthetic load (platform: local has no production traffic)")
        with self._synthetic_load() if settings.synthetic_load else nullcontext():
            while True:
                time.sleep(settings.poll_seconds)
                measurement = self.ctx.metrics.measure(self.name, step.judged, since)
                decision = decide(strategy.gate, step.step, last, time.time() - since, measurement, settings.gate_timeout)
                if decision.action is not Action.wait:
                    return decision, measurement
                self._renew()

    def _provision(
        self,
        name: str,
        by_azure: dict[str, DeploymentRelease],
        base: dict[str, int],
        measured: list[StepMeasurement],
        recreate: bool,
    ) -> None:
        """Create a new deployment, or wait for one being created, or recreate one that failed."""
        client = self.ctx.client
        if recreate:
            current = state(client.online_deployments.get(name=name, endpoint_name=self.name).provisioning_state)
            if current not in TERMINAL:
                self._say(f"waiting for deployment {name} ({current})")
                current = self._await(name)
            if current != "Succeeded":
                self._say(f"deleting deployment {name} ({current}) to create it again")
                client.online_deployments.begin_delete(name=name, endpoint_name=self.name).result()
                recreate = False
        if not recreate:
            self._say(f"creating deployment {name} (model {by_azure[name].model.reference})")
            try:
                self._create(assets.deployment(self.ctx.repo, self.ctx.release, by_azure[name], self.ctx.lineage))
            except Exception as exc:  # the SDK raises several kinds for a failed provisioning
                self._fail_new(name, base, measured, f"deployment {name} failed: {_first_line(exc)}{self._logs(name)}")

    def _finish(self, plan: EndpointPlan, live: LiveEndpoint, measured: list[StepMeasurement]) -> None:
        tags = {
            record.ENDPOINT_RELEASE: plan.release_id,
            record.RELEASE: self.ctx.lineage.release,
            record.COMMIT: self.ctx.lineage.commit or "",
        }
        if plan.rollout:
            base = plan.resume.base if plan.resume else plan.traffic[0]
            final = RolloutRecord(plan.release_id, plan.live_release, base, -1, int(time.time()), self.status)
            tags |= {
                record.ROLLOUT: final.encode(),
                record.MEASURED: record.encode_measured(measured),
                record.REASON: record.fit(self.reason),
            }
        if plan.live_release != plan.release_id:
            tags[record.SINCE] = str(int(time.time()))
            if plan.live_release:
                tags[record.PREVIOUS] = Previous(plan.live_release, live.tags.get(record.COMMIT) or None).encode()
        self._require_succeeded(set(plan.traffic[1]) | set(plan.mirror[1]))
        self._put(traffic=plan.traffic[1], mirror=plan.mirror[1], lock=False, **tags)
        self._say(f"{self.status.value.replace('_', ' ')}: release {plan.release_id} serves {_split(plan.traffic[1])}")

    def _undo(
        self, plan: EndpointPlan, base: dict[str, int], mirror: dict[str, int], measured: list[StepMeasurement], reason: str
    ) -> None:
        """Traffic back to where it was, the new deployments deleted, the reason recorded; raises."""
        self._say(f"aborting: {reason}")
        self._require_succeeded(set(base))
        aborted = RolloutRecord(plan.release_id, plan.live_release, base, -1, int(time.time()), Status.aborted)
        self._put(
            traffic=base,
            mirror=mirror,
            **{
                record.ROLLOUT: aborted.encode(),
                record.MEASURED: record.encode_measured(measured),
                record.REASON: record.fit(reason),
            },
        )
        for name in plan.new:
            if name in self._deployments():
                self._say(f"deleting deployment {name}")
                self.ctx.client.online_deployments.begin_delete(name=name, endpoint_name=self.name).result()
        raise RolloutFailed(self.name, reason, measured)

    def _fail_new(self, name: str, base: dict[str, int], measured: list[StepMeasurement], reason: str) -> None:
        """A new deployment that never took traffic failed: remove it and record why; raises."""
        self._say(reason)
        if name in self._deployments():
            self.ctx.client.online_deployments.begin_delete(name=name, endpoint_name=self.name).result()
        aborted = RolloutRecord(
            self.ctx.release.endpoint(self.name).id,
            self.tags.get(record.ENDPOINT_RELEASE),
            base,
            -1,
            int(time.time()),
            Status.aborted,
        )
        self._put(**{record.ROLLOUT: aborted.encode(), record.REASON: record.fit(reason)})
        raise RolloutFailed(self.name, reason, measured)

    # -- the edge ---------------------------------------------------------------------------------

    def _lock(self) -> LiveEndpoint:
        """Take the endpoint's lock, creating the endpoint if it is new; returns a fresh read."""
        settings = self.ctx.settings
        deadline = time.time() + settings.lock_wait
        while True:
            live = observe_endpoint(self.ctx.client, self.name)
            if live is not None:
                held = Lock.decode(live.tags.get(record.LOCK))
                if held and held.holder != self.holder and not is_stale(held, time.time()):
                    if time.time() >= deadline:
                        raise EndpointBusy(
                            f"endpoint {self.name} is being rolled out by {held.holder} (lock until "
                            f"{time.strftime('%H:%M:%S', time.localtime(held.expires))}); wait, or retry with --lock-wait"
                        )
                    time.sleep(settings.poll_seconds)
                    continue
                self.tags, self.traffic, self.mirror = dict(live.tags), dict(live.traffic), dict(live.mirror_traffic)
            else:
                self._say("creating the endpoint")
                self.tags = {record.ENVIRONMENT: self.ctx.release.environment}
            self.locked = True
            self._put()
            time.sleep(settings.lock_settle)
            again = observe_endpoint(self.ctx.client, self.name)
            mine = again is not None and (Lock.decode(again.tags.get(record.LOCK)) or Lock("", 0)).holder == self.holder
            if mine:
                assert again is not None
                return again
            self.locked = False

    def _renew(self) -> None:
        if time.time() - self.renewed > self.ctx.settings.lock_ttl / 3:
            self._put()

    def _put(
        self, traffic: dict[str, int] | None = None, mirror: dict[str, int] | None = None, lock: bool = True, **tags: str
    ) -> None:
        """One write of the endpoint: traffic, mirror and every tag (the record and the lock) together.

        A tag given an empty value is removed.
        """
        self.traffic = dict(self.traffic if traffic is None else traffic)
        self.mirror = dict(self.mirror if mirror is None else mirror)
        self.tags.update(tags)
        self.tags = {k: v for k, v in self.tags.items() if v}
        self.tags[record.ENVIRONMENT] = self.ctx.release.environment
        if lock:
            self.tags[record.LOCK] = Lock(self.holder, int(time.time()) + self.ctx.settings.lock_ttl).encode()
            self.renewed = time.time()
        else:
            self.tags.pop(record.LOCK, None)
            self.locked = False
        entity = assets.endpoint(self.ctx.repo, self.name, self.tags, self.traffic, self.mirror)
        self.ctx.client.online_endpoints.begin_create_or_update(entity).result()

    def _create(self, spec: ManagedOnlineDeployment) -> None:
        self.ctx.client.online_deployments.begin_create_or_update(spec).result()
        ended = state(self.ctx.client.online_deployments.get(name=spec.name, endpoint_name=self.name).provisioning_state)
        if ended != "Succeeded":
            raise RuntimeError(f"provisioning ended {ended}")

    def _await(self, name: str) -> str:
        while True:
            try:
                current = state(self.ctx.client.online_deployments.get(name=name, endpoint_name=self.name).provisioning_state)
            except ResourceNotFoundError:
                return "Deleted"
            if current in TERMINAL:
                return current
            time.sleep(self.ctx.settings.poll_seconds)

    def _deployments(self) -> dict[str, str]:
        return {d.name: state(d.provisioning_state) for d in self.ctx.client.online_deployments.list(self.name)}

    def _require_succeeded(self, names: set[str]) -> None:
        states = self._deployments()
        bad = {n: states.get(n, "missing") for n in names if states.get(n) != "Succeeded"}
        if bad:
            raise RuntimeError(f"{self.name}: traffic would point at deployments not Succeeded: {bad}")

    def _logs(self, name: str) -> str:
        try:
            logs = self.ctx.client.online_deployments.get_logs(name=name, endpoint_name=self.name, lines=20)
        except Exception:  # logs are a courtesy in an error message, never a second failure
            return ""
        return f"\n--- last log lines of {name} ---\n{logs.strip()}" if logs and logs.strip() else ""

    def _credentials(self) -> tuple[str, str]:
        """(scoring URI, key or token) for requests to the endpoint."""
        endpoint = self.ctx.client.online_endpoints.get(self.name)
        keys = self.ctx.client.online_endpoints.get_keys(self.name)
        key = getattr(keys, "primary_key", None) or getattr(keys, "access_token", None) or ""
        return str(endpoint.scoring_uri), key

    def _sample(self) -> bytes:
        sample = self.ctx.release.endpoints[self.name].sample_request
        return (self.ctx.repo.root / sample).read_bytes() if sample else b"{}"

    def _smoke_test(self, deployment: str) -> None:
        """The sample request, sent to `deployment` alone through the `azureml-model-deployment` header."""
        uri, key = self._credentials()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "azureml-model-deployment": deployment}
        try:
            response = requests.post(uri, data=self._sample(), headers=headers, timeout=60)
        except requests.RequestException as exc:
            raise SmokeTestFailed(f"smoke test of {deployment} failed: {exc}") from exc
        if response.status_code >= 400:
            raise SmokeTestFailed(f"smoke test of {deployment} failed: HTTP {response.status_code}: {response.text[:300]}")
        self._say(f"smoke test of {deployment} passed: {response.text.strip()[:120]}")

    def _synthetic_load(self) -> SyntheticLoad:
        uri, key = self._credentials()
        return SyntheticLoad(uri, key, self._sample())

    def _say(self, message: str) -> None:
        self.ctx.events(self.name, message)


class SmokeTestFailed(Exception):
    pass


def _split(split: dict[str, int]) -> str:
    return ", ".join(f"{n} {s} %" for n, s in sorted(split.items())) or "no traffic"


def _first_line(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return text.strip().splitlines()[0]
