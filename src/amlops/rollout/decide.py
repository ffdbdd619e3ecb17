"""The next action of a rollout, decided by a pure function, as Argo Rollouts' controller decides.

`next_action(target, live, progress, now)` looks at what the endpoint should become (`Target`), what
it is (`live`, a fresh read, whose tags carry the record) and what this run has learnt so far
(`Progress`: smoke tests passed, gates judged, a reason to abort) and names one action. The loop in
`amlops.rollout.loop` takes it (at most one write), reads the endpoint again, and asks again.

Everything a killed run knew that matters is in the record (the step whose traffic is set, the
split before the rollout, the measurements so far); what `Progress` holds is only what a new run
may safely do again (a smoke test, a gate's measurement).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from amlops.manifests.environment import Strategy
from amlops.release.bundle import DeploymentRelease
from amlops.rollout.evaluation import Comparison, compare
from amlops.rollout.strategy import StepTraffic, step_traffic
from amlops.state import record
from amlops.state.evaluation import Evaluated
from amlops.state.live import TERMINAL, LiveEndpoint, nonzero
from amlops.state.record import Previous, RolloutRecord, Status, StepMeasurement


@dataclass(frozen=True)
class Target:
    """What one endpoint should become: the endpoint's part of the desired release."""

    name: str
    endpoint_release: str  # the id of the endpoint release it is to serve
    deployments: dict[str, DeploymentRelease]  # by Azure name
    traffic: dict[str, int]  # by Azure name, zero shares left out
    mirror: dict[str, int]
    strategy: Strategy
    release_tags: dict[str, str] = field(default_factory=dict)  # lineage written when it goes live
    status: Status = Status.rolled_out  # how the final record reads: rolled out, or rolled back
    reason: str = ""  # for a rollback: who did it
    gates: bool = True  # False for a rollback: the previous release already proved itself


@dataclass
class Progress:
    """What this run has learnt: facts a later run would have to (and safely may) establish again."""

    measured: list[StepMeasurement] = field(default_factory=list)  # the record's, then this run's
    smoke_tested: set[str] = field(default_factory=set)
    passed: set[int] = field(default_factory=set)  # steps whose gate passed in this run
    created: set[str] = field(default_factory=set)  # deployments this run created or updated
    aborting: str | None = None  # why the rollout is being undone
    evaluated: Evaluated | None = None  # the offline evaluation's verdict, once this run has it


# -- actions ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CreateEndpoint:
    pass


@dataclass(frozen=True)
class CreateDeployment:
    name: str
    update: bool = False  # the same spec with another instance count: changed in place


@dataclass(frozen=True)
class WaitFor:
    name: str
    state: str


@dataclass(frozen=True)
class DeleteDeployment:
    name: str
    why: str


@dataclass(frozen=True)
class SmokeTest:
    name: str


@dataclass(frozen=True)
class SetTraffic:
    """The endpoint's one write: traffic, mirror and the record's tags together."""

    traffic: dict[str, int]
    mirror: dict[str, int]
    tags: dict[str, str]
    why: str
    final: bool = False  # the rollout's last write: it also gives the lock back


@dataclass(frozen=True)
class Gate:
    index: int
    step: StepTraffic
    since: float
    last: bool


@dataclass(frozen=True)
class Evaluate:
    """Compare the candidate with the live model offline: submit (or find) the run, wait for it, judge."""

    comparison: Comparison


@dataclass(frozen=True)
class Abort:
    reason: str


@dataclass(frozen=True)
class Fail:
    reason: str


Action = CreateEndpoint | CreateDeployment | WaitFor | DeleteDeployment | SmokeTest | SetTraffic | Gate | Evaluate | Abort | Fail


@dataclass(frozen=True)
class _View:
    """What the record and the read say together: where the rollout stands."""

    running: RolloutRecord | None  # an unfinished rollout to this release
    base: dict[str, int]  # the split before the rollout
    new: tuple[str, ...]  # deployments that take traffic in the target and none in `base`


def next_action(target: Target, live: LiveEndpoint | None, progress: Progress, now: float) -> Action:
    if live is None:
        return CreateEndpoint()
    view = _view(target, live)
    if progress.aborting is not None:
        return _undo(target, live, view, progress, progress.aborting, now)
    return (
        _evaluation(target, live, view, progress)
        or _deployments(target, live, progress)
        or _smoke_tests(view, progress)
        or _steps(target, live, view, progress, now)
        or _retire(target, live)
        or _finish(target, live, view, progress, now)
    )


def unfinished(live: LiveEndpoint | None, endpoint_release: str) -> RolloutRecord | None:
    """The unfinished rollout to `endpoint_release` that `live` records, if any: the one to resume."""
    current = RolloutRecord.decode(live.tags.get(record.ROLLOUT)) if live else None
    return current if current and current.status is Status.running and current.to == endpoint_release else None


def _view(target: Target, live: LiveEndpoint) -> _View:
    running = unfinished(live, target.endpoint_release)
    base = dict(running.base) if running else nonzero(live.traffic)
    new = tuple(sorted(n for n, share in target.traffic.items() if share and not base.get(n)))
    return _View(running, base, new)


def _evaluation(target: Target, live: LiveEndpoint, view: _View, progress: Progress) -> Action | None:
    """Before anything else of a rollout (a deployment created, traffic or mirror moved): the offline evaluation.

    Once the rollout's first step is recorded, the evaluation is behind it.
    """
    if not target.gates or view.running is not None or progress.evaluated is not None:
        return None
    comparison = compare(target.name, target.strategy.evaluation, target.deployments, target.traffic, view.base, live.deployments)
    return Evaluate(comparison) if comparison else None


def _deployments(target: Target, live: LiveEndpoint, progress: Progress) -> Action | None:
    """Every deployment of the target exists, provisioned, at its instance count."""
    for name, wanted in sorted(target.deployments.items()):
        existing = live.deployments.get(name)
        if existing is None:
            return CreateDeployment(name)
        if existing.provisioning_state not in TERMINAL:
            return WaitFor(name, existing.provisioning_state)
        if not existing.succeeded:
            if name in progress.created:
                return Abort(f"deployment {name} failed: provisioning ended {existing.provisioning_state}")
            return DeleteDeployment(name, f"provisioning {existing.provisioning_state}: to create it again")
        if not wanted.holds(existing.instance_count) and name not in progress.created:
            return CreateDeployment(name, update=True)
    return None


def _smoke_tests(view: _View, progress: Progress) -> Action | None:
    """Each deployment about to take traffic it has not had answers the sample request first."""
    untested = [n for n in view.new if n not in progress.smoke_tested]
    return SmokeTest(untested[0]) if untested else None


def _steps(target: Target, live: LiveEndpoint, view: _View, progress: Progress, now: float) -> Action | None:
    steps = _plan_steps(target, view)
    if not steps:
        return None
    index = min(view.running.step, len(steps) - 1) if view.running else -1
    if index < 0:
        return _set_step(target, live, view, steps, 0, progress, now)
    step = steps[index]
    if nonzero(live.traffic) != step.traffic or nonzero(live.mirror_traffic) != step.mirror:
        return _set_step(target, live, view, steps, index, progress, now)  # changed under us: set it again
    if step.judged and target.gates and index not in progress.passed:
        assert view.running is not None
        return Gate(index, step, view.running.since, last=index == len(steps) - 1)
    if index + 1 < len(steps):
        return _set_step(target, live, view, steps, index + 1, progress, now)
    return None


def _plan_steps(target: Target, view: _View) -> list[StepTraffic]:
    """The rollout's steps; none when no traffic moves onto a deployment that has had none.

    An endpoint with no traffic yet has nothing to protect: its one ungated step is the final write.
    """
    if not view.new and view.running is None:
        return []
    steps = step_traffic(target.strategy, view.base, target.traffic)
    if not any(s.judged for s in steps) and view.running is None:
        return []
    return steps


def _set_step(
    target: Target, live: LiveEndpoint, view: _View, steps: list[StepTraffic], index: int, progress: Progress, now: float
) -> SetTraffic:
    step = steps[index]
    rollout = RolloutRecord(target.endpoint_release, live.tags.get(record.ENDPOINT_RELEASE), view.base, index, int(now))
    tags = {record.ROLLOUT: rollout.encode(), record.MEASURED: record.encode_measured(progress.measured)}
    tags |= _evaluated(progress, view)
    return SetTraffic(step.traffic, step.mirror, tags, f"step {index + 1}/{len(steps)}: {step.describe()}")


def _retire(target: Target, live: LiveEndpoint) -> Action | None:
    """Deployments the target no longer has: traffic off them first, then deleted."""
    retired = sorted(set(live.deployments) - set(target.deployments))
    if any(live.traffic.get(n) or live.mirror_traffic.get(n) for n in retired):
        return SetTraffic(target.traffic, target.mirror, {}, "traffic off the retired deployments")
    return DeleteDeployment(retired[0], "retired") if retired else None


def _finish(target: Target, live: LiveEndpoint, view: _View, progress: Progress, now: float) -> SetTraffic:
    tags = {record.ENDPOINT_RELEASE: target.endpoint_release, **target.release_tags}
    if view.new or view.running is not None:
        start = view.running.start if view.running else live.tags.get(record.ENDPOINT_RELEASE)
        final = RolloutRecord(target.endpoint_release, start, view.base, -1, int(now), target.status)
        tags |= {
            record.ROLLOUT: final.encode(),
            record.MEASURED: record.encode_measured(progress.measured),
            record.REASON: record.fit(target.reason),
            **_evaluated(progress, view),
        }
    elif (old := RolloutRecord.decode(live.tags.get(record.ROLLOUT))) and old.status is Status.running:
        # an unfinished rollout to another release that this one supersedes: it ends here, not "running" for good
        superseded = RolloutRecord(old.to, old.start, old.base, -1, int(now), Status.aborted)
        tags |= {record.ROLLOUT: superseded.encode(), record.REASON: f"superseded by {target.endpoint_release}"}
    live_release = live.tags.get(record.ENDPOINT_RELEASE)
    if live_release != target.endpoint_release:
        tags[record.SINCE] = str(int(now))
        if live_release:
            tags[record.PREVIOUS] = Previous(live_release, live.tags.get(record.COMMIT) or None).encode()
    verb = target.status.value.replace("_", " ")
    return SetTraffic(target.traffic, target.mirror, tags, f"{verb}: release {target.endpoint_release}", final=True)


def _undo(target: Target, live: LiveEndpoint, view: _View, progress: Progress, reason: str, now: float) -> Action:
    """Traffic back to the split before the rollout, the record saying why, then the new deployments deleted."""
    new = set(view.new)
    mirror = {n: s for n, s in nonzero(live.mirror_traffic).items() if n not in new}
    current = RolloutRecord.decode(live.tags.get(record.ROLLOUT))
    recorded = current is not None and current.to == target.endpoint_release and current.status is Status.aborted
    if not recorded or nonzero(live.traffic) != view.base or nonzero(live.mirror_traffic) != mirror:
        broken = sorted(n for n in [*view.base, *mirror] if not _succeeded(live, n))
        if broken:
            return Fail(f"{reason}; and traffic cannot go back: deployments {', '.join(broken)} are not Succeeded")
        start = view.running.start if view.running else live.tags.get(record.ENDPOINT_RELEASE)
        aborted = RolloutRecord(target.endpoint_release, start, view.base, -1, int(now), Status.aborted)
        tags = {
            record.ROLLOUT: aborted.encode(),
            record.MEASURED: record.encode_measured(progress.measured),
            record.REASON: record.fit(reason),
            **_evaluated(progress, view),
        }
        return SetTraffic(view.base, mirror, tags, f"aborting: {reason}")
    for name in sorted(new | progress.created):
        if name in live.deployments and name not in view.base:
            return DeleteDeployment(name, "undoing the rollout")
    return Fail(reason)


def _succeeded(live: LiveEndpoint, name: str) -> bool:
    deployment = live.deployments.get(name)
    return deployment is not None and deployment.succeeded


def _evaluated(progress: Progress, view: _View) -> dict[str, str]:
    """The evaluation's record, written with the rollout's: this run's verdict, or, as a rollout begins without
    one, an earlier rollout's removed (an empty value); a resumed rollout keeps what its first step recorded."""
    if progress.evaluated is not None:
        return {record.EVALUATION: progress.evaluated.encode()}
    return {} if view.running is not None else {record.EVALUATION: ""}
