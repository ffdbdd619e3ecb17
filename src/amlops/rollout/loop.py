"""The rollout loop: read the endpoint, ask `next_action`, take the action (at most one write), repeat.

Every write to the endpoint carries the whole record (traffic, mirror, rollout step, measurements,
lock) in one PUT, so whatever the moment an apply is killed, the workspace says where it was and the
next apply continues from there. The loop holds the endpoint's lock throughout: it re-reads the
endpoint before every write and stops, writing nothing, if the lock is no longer its own; it renews
the lock while it waits (provisioning, gates, pauses).
"""

from __future__ import annotations

import math
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from amlops.rollout.clock import Clock, SystemClock
from amlops.rollout.decide import (
    Abort,
    Action,
    CreateDeployment,
    CreateEndpoint,
    DeleteDeployment,
    Evaluate,
    Fail,
    Gate,
    Progress,
    SetTraffic,
    SmokeTest,
    Target,
    WaitFor,
    next_action,
    unfinished,
)
from amlops.rollout.evaluation import EVALUATORS, Comparison, EvaluationError, judge, verdict, without_live
from amlops.rollout.evaluation_runs import Waiting, first_line, run_comparison
from amlops.rollout.events import Event, Events, Phase, ignore
from amlops.rollout.lock import EndpointBusy, LockLost, is_stale, new_holder
from amlops.rollout.strategy import Action as Verdict
from amlops.rollout.strategy import decide
from amlops.state import record
from amlops.state.evaluation import Evaluated
from amlops.state.live import TERMINAL, LiveEndpoint
from amlops.state.record import Lock, Measurement, StepMeasurement
from amlops.workspace.interface import Answer, DeploymentSpec, EndpointSpec, Unavailable, Workspace


@dataclass(frozen=True)
class Settings:
    gate_timeout: float = 600  # a gate short of min_requests this long fails as inconclusive
    poll_seconds: float = 2  # between measurements, and between reads of a provisioning deployment
    lock_ttl: int = 600  # a lock not renewed for this long expires
    lock_wait: float = 0  # how long to wait for another apply's lock before refusing
    lock_settle: float = 0.5  # between writing the lock and re-reading it
    smoke_timeout: float = 120  # how long a new deployment's scoring may answer "not now" (none, 502-504)
    synthetic_load: bool = False  # platform: local: send the sample request during each step


@dataclass(frozen=True)
class Rollout:
    """Everything one endpoint's rollout needs besides the workspace: where its files are, and how to act."""

    target: Target
    endpoint_file: Path | None  # the endpoint's CLI v2 file, loaded whole on every write
    deployments: dict[str, DeploymentSpec]  # by Azure name
    sample: bytes  # the smoke test's request
    environment: str
    endpoint_tags: dict[str, str] = field(default_factory=dict)  # written with every write (empty: removed)
    computes: dict[str, str] = field(default_factory=dict)  # cluster name in the files -> its Azure name


class Interrupted(Exception):
    """The rollout was asked to stop (Ctrl-C): it stopped between two writes, its record intact."""


class RolloutFailed(Exception):
    """A rollout that was undone: traffic is back where it was and the new deployments are gone."""

    def __init__(self, endpoint: str, reason: str, measured: list[StepMeasurement], evaluated: Evaluated | None = None) -> None:
        super().__init__(f"{endpoint}: {reason}")
        self.endpoint, self.reason, self.measured, self.evaluated = endpoint, reason, measured, evaluated


@dataclass
class Outcome:
    endpoint: str
    release: str
    measured: list[StepMeasurement] = field(default_factory=list)
    scoring_uri: str | None = None
    evaluated: Evaluated | None = None  # the offline evaluation this rollout passed, if it ran one


class EndpointRollout:
    """Moves one endpoint to its target, holding its lock throughout."""

    def __init__(
        self,
        workspace: Workspace,
        rollout: Rollout,
        settings: Settings = Settings(),
        events: Events = ignore,
        clock: Clock | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.workspace, self.rollout, self.settings, self.events = workspace, rollout, settings, events
        self.clock = clock or SystemClock()
        self.stop = stop or threading.Event()
        self.name = rollout.target.name
        self.holder = new_holder()
        self.renewed = 0.0
        self.locked = False
        self.ttl = settings.lock_ttl  # grows to three times the slowest write: a lock outlives what renews it

    def run(self) -> Outcome:
        self._check_stop()
        live = self._lock()
        resumed = unfinished(live, self.rollout.target.endpoint_release)
        # The steps measured so far are this rollout's only when it resumes; otherwise they are the last one's.
        measured = record.decode_measured(live.tags.get(record.MEASURED)) if live and resumed else []
        progress = Progress(measured=measured)
        if resumed is not None:
            self._say(Phase.step, f"resuming the rollout at step {resumed.step + 1}")
        try:
            while True:
                self._check_stop()
                action = next_action(self.rollout.target, live, progress, self.clock.time())
                if self._take(action, live, progress):
                    return Outcome(
                        self.name,
                        self.rollout.target.endpoint_release,
                        progress.measured,
                        live.scoring_uri if live else None,
                        progress.evaluated,
                    )
                live = self._read()
        except Exception:
            if self.locked:
                self._unlock()
            raise

    # -- actions ------------------------------------------------------------------------------------
    def _take(self, action: Action, live: LiveEndpoint | None, progress: Progress) -> bool:
        """Carry `action` out; True once the rollout has ended well."""
        match action:
            case CreateEndpoint():
                self._say(Phase.endpoint, "creating the endpoint")
                self._put(None, {}, {}, {})
            case CreateDeployment(name, update):
                self._create(name, update, progress)
            case WaitFor(name, state):
                self._say(Phase.provision, f"waiting for deployment {name} ({state})")
                self._wait(name, state)
            case DeleteDeployment(name, why):
                self._say(Phase.retire, f"deleting deployment {name} ({why})")
                self._guard()
                self.workspace.delete_deployment(self.name, name)
            case SmokeTest(name):
                self._smoke_test(name, progress)
            case SetTraffic(traffic, mirror, tags, why, final):
                assert live is not None
                self._put(live, traffic, mirror, tags, unlock=final)
                self._say(Phase.done if final else Phase.step, why)
                return final
            case Gate():
                self._gate(action, progress)
            case Evaluate(comparison):
                self._evaluate(comparison, progress)
            case Abort(reason):
                self._say(Phase.failed, reason)
                progress.aborting = reason
            case Fail(reason):
                raise RolloutFailed(self.name, reason, progress.measured, progress.evaluated)
        return False

    def _create(self, name: str, update: bool, progress: Progress) -> None:
        spec = self.rollout.deployments[name]
        self._say(
            Phase.deploy,
            f"{'scaling' if update else 'creating'} deployment {name} (model {spec.model}, {spec.instance_count} x {spec.instance_type})",
        )
        progress.created.add(name)
        try:
            self._guard()
            self.workspace.begin_deployment(spec)
        except (LockLost, EndpointBusy, Unavailable):
            raise  # not the deployment's failure: stop, and resume from the record later
        except Exception as exc:  # the SDK raises several kinds for a refused or failed deployment
            progress.aborting = f"deployment {name} failed: {first_line(exc)}{self._logs(name)}"

    def _smoke_test(self, name: str, progress: Progress) -> None:
        """The sample request, sent to `name` alone through the `azureml-model-deployment` header."""
        self._say(Phase.smoke, f"smoke testing {name} with the sample request")
        answer = self._score(name)
        if answer.ok:
            progress.smoke_tested.add(name)
            self._say(Phase.smoke, f"smoke test of {name} passed: {answer.text.strip()[:120]}")
        else:
            got = f"HTTP {answer.status}: {answer.text[:300]}" if answer.status else answer.text[:300]
            progress.aborting = f"smoke test of {name} failed: {got}{self._logs(name)}"

    def _score(self, name: str) -> Answer:
        """The smoke test's answer; "not now" (no answer, 502-504: the scoring route or the control plane
        coming back) is asked again until `smoke_timeout`, then stops the rollout as an interruption."""
        deadline = self.clock.time() + self.settings.smoke_timeout
        while True:
            answer = self.workspace.invoke(self.name, self.rollout.sample, name)
            if answer.status not in (0, 502, 503, 504):
                return answer
            if self.clock.time() >= deadline:
                got = f"HTTP {answer.status}" if answer.status else "no answer"
                raise Unavailable(
                    f"the smoke test of {name} got {got} for {self.settings.smoke_timeout:.0f} s: {answer.text[:200]}"
                )
            self._renew()
            self.clock.sleep(self.settings.poll_seconds)

    def _gate(self, gate: Gate, progress: Progress) -> None:
        """Measure the step's new deployments until the gate decides; renew the lock meanwhile."""
        strategy, settings = self.rollout.target.strategy, self.settings
        if settings.synthetic_load:
            self._say(Phase.gate, "sending the sample request as synthetic load (platform: local has no production traffic)")
        load = self.workspace.load(self.name, self.rollout.sample) if settings.synthetic_load else nullcontext()
        with load:
            while True:
                self.clock.sleep(settings.poll_seconds)
                measurement = self.workspace.measure(self.name, gate.step.judged, gate.since)
                elapsed = self.clock.time() - gate.since
                decision = decide(strategy.gate, gate.step.step, gate.last, elapsed, measurement, settings.gate_timeout)
                if decision.action is not Verdict.wait:
                    break
                self._say(Phase.gate, f"measuring step {gate.index + 1} ({gate.step.describe()})", measurement)
                self._renew()
        passed = decision.action is not Verdict.abort
        progress.measured.append(StepMeasurement(gate.index, measurement, passed))
        if passed:
            progress.passed.add(gate.index)
            self._say(Phase.gate, f"gate passed: {decision.judgement.reason}", measurement)
        else:
            progress.aborting = f"gate failed at step {gate.index + 1} ({gate.step.describe()}): {decision.judgement.reason}"

    def _evaluate(self, comparison: Comparison, progress: Progress) -> None:
        """The candidate against the live model, before it gets any traffic: a verdict, or the reason to abort."""
        evaluation = comparison.evaluation
        if comparison.live is None:
            result = without_live(comparison)
        else:
            evaluator = EVALUATORS[evaluation.kind]
            self._say(Phase.evaluate, f"evaluating candidate {comparison.candidate.label} against live {comparison.live.label}")
            try:
                waiting = Waiting(self.clock, self.settings.poll_seconds, self._said, self._renew, self._guard)
                run = run_comparison(self.workspace, comparison, self.rollout.computes, waiting)
                result = judge(comparison, *evaluator.figures(self.workspace, comparison, run), run)
            except EvaluationError as exc:
                progress.aborting = f"evaluation gave no verdict: {exc}"
                return
        progress.evaluated = result
        said = verdict(result, evaluation)
        self._say(Phase.evaluate, said)
        if not result.passed:
            progress.aborting = said

    def _wait(self, name: str, state: str) -> None:
        """Until the deployment settles, saying what its log says it is doing (e.g. building its environment)."""
        said = ""
        while True:
            self.clock.sleep(self.settings.poll_seconds)
            live = self._read()
            deployment = live.deployments.get(name) if live else None
            if deployment is None or deployment.provisioning_state in TERMINAL:
                return
            doing = self._logs(name, lines=1, banner=False).strip() or state
            if doing != said:
                said = doing
                self._say(Phase.provision, f"{name}: {doing}")
            self._renew()

    # -- the lock -----------------------------------------------------------------------------------
    def _lock(self) -> LiveEndpoint | None:
        """Take the endpoint's lock (creating nothing); returns a fresh read, None for a new endpoint."""
        deadline = self.clock.time() + self.settings.lock_wait
        waited_for: Lock | None = None
        while True:
            live = self.workspace.endpoint(self.name)
            if live is None:
                return None  # nobody can hold a lock on an endpoint that does not exist: CreateEndpoint takes it
            held = Lock.decode(live.tags.get(record.LOCK))
            locked = held is not None and held.holder != self.holder and not is_stale(held, self.clock.time())
            # An endpoint still Updating is taking another apply's last write: Azure refuses a second (409).
            if locked or live.provisioning_state not in TERMINAL:
                if self.clock.time() >= deadline:
                    raise EndpointBusy(_busy(self.name, held if locked else None, live.provisioning_state))
                if locked and held != waited_for:
                    assert held is not None
                    waited_for = held
                    until = time.strftime("%H:%M:%S", time.localtime(held.expires))
                    left = deadline - self.clock.time()
                    self._say(
                        Phase.lock, f"waiting for the lock held by {held.holder} (until {until}; giving up in {left:.0f} s)"
                    )
                self.clock.sleep(self.settings.poll_seconds)
                continue
            self._put(live, live.traffic, live.mirror_traffic, {}, check=False)
            self.clock.sleep(self.settings.lock_settle)
            again = self.workspace.endpoint(self.name)
            if again is not None and self._holds(again):
                return again
            self.locked = False

    def _holds(self, live: LiveEndpoint) -> bool:
        held = Lock.decode(live.tags.get(record.LOCK))
        return held is not None and held.holder == self.holder

    def _guard(self) -> LiveEndpoint | None:
        """A fresh read, checked: the lock must still be ours before any write."""
        live = self.workspace.endpoint(self.name)
        if self.locked and (live is None or not self._holds(live)):
            self.locked = False
            holder = Lock.decode(live.tags.get(record.LOCK)) if live else None
            raise LockLost(
                f"endpoint {self.name}: the lock passed to {holder.holder if holder else 'nobody'}; stopped before writing"
            )
        return live

    def _check_stop(self) -> None:
        if self.stop.is_set():
            raise Interrupted(f"endpoint {self.name}: interrupted")

    def _renew(self) -> None:
        """Keep the lock while waiting (provisioning, smoke tests, gates, pauses); stop here if asked to."""
        self._check_stop()
        if self.clock.time() - self.renewed > self.ttl / 3:
            live = self._guard()
            if live is not None:
                self._put(live, live.traffic, live.mirror_traffic, {}, check=False)

    def _unlock(self) -> None:
        """Give the lock back after an error; if Azure cannot be reached, it expires on its own."""
        try:
            live = self._guard()
            if live is not None:
                self._put(live, live.traffic, live.mirror_traffic, {}, unlock=True, check=False)
        except (LockLost, Unavailable):
            return

    def _put(
        self,
        live: LiveEndpoint | None,
        traffic: dict[str, int],
        mirror: dict[str, int],
        tags: dict[str, str],
        unlock: bool = False,
        check: bool = True,
    ) -> None:
        """One write of the endpoint: traffic, mirror and every tag (the record and the lock) together.

        A tag given an empty value is removed.
        """
        if check:
            live = self._guard() or live
        started = self.clock.time()
        merged = {
            **(live.tags if live else {}),
            **self.rollout.endpoint_tags,
            **tags,
            record.ENVIRONMENT: self.rollout.environment,
        }
        if unlock:
            merged.pop(record.LOCK, None)
        else:
            merged[record.LOCK] = Lock(self.holder, int(started) + self.ttl).encode()
        spec = EndpointSpec(
            self.name, self.rollout.endpoint_file, {k: v for k, v in merged.items() if v}, dict(traffic), dict(mirror)
        )
        self.workspace.put_endpoint(spec)
        self.locked = not unlock
        self.renewed = started
        # Azure's endpoint writes may take minutes: a lock stamped before one must not expire before the next.
        self.ttl = max(self.ttl, math.ceil(3 * (self.clock.time() - started)))

    # -- helpers ------------------------------------------------------------------------------------
    def _read(self) -> LiveEndpoint | None:
        return self.workspace.endpoint(self.name)

    def _logs(self, name: str, lines: int = 20, banner: bool = True) -> str:
        try:
            logs = self.workspace.logs(self.name, name, lines)
        except Exception:  # logs are a courtesy in progress and error messages, never a second failure
            return ""
        if not banner or not logs.strip():
            return logs or ""
        return f"\n--- last log lines of {name} ---\n{logs.strip()}"

    def _say(self, phase: Phase, message: str, counts: Measurement | None = None) -> None:
        self.events(Event(self.name, phase, message, counts))

    def _said(self, message: str) -> None:
        self._say(Phase.evaluate, message)


def _busy(name: str, held: Lock | None, state: str) -> str:
    if held is None:
        return f"endpoint {name} is {state}: another write is under way; wait, or retry with --lock-wait"
    until = time.strftime("%H:%M:%S", time.localtime(held.expires))
    return f"endpoint {name} is being rolled out by {held.holder} (lock until {until}); wait, or retry with --lock-wait"
