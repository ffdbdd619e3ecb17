"""A finished run's model, end to end: hash it, decide, register it from the run's output, commit the branch.

A function of (repository, environment, run), so `amlops run --wait`, `amlops candidate` and a schedule's
run all come here. Every check (manifests, work tree, the run, its target, the branch, the rewritten
files validating) runs before the first write; then the model version is registered in the run's
workspace (Azure keeps it as first registered) and one atomic git commit makes the branch. A retry
after a failure between the two finds the version registered with this content and makes its branch.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amlops import git as gitrepo
from amlops.manifests import Repository, validate_repository
from amlops.manifests.environment import Platform
from amlops.manifests.references import registry_model_uri
from amlops.manifests.yamlio import read_yaml
from amlops.release.bundle import hash_path, pin_model
from amlops.retraining.decide import Identical, decide
from amlops.retraining.files import Lineage, bump_environment, flat_metrics, metrics_path, metrics_record, model_file, model_path
from amlops.retraining.target import Refusal, Target, target_of
from amlops.state import record
from amlops.workspace.interface import Run, RunModelSpec, Workspace
from amlops.workspace.open import registry_name

#: Candidate branches: `retrain/<model>-v<version>-<run>`; the PR workflow opens one pull request each.
BRANCH_PREFIX = "retrain/"
#: What must be committed first: the branch is made from HEAD, and its files are edits of these.
TRACKED = ["environments", "models"]
PATH_FILE = "releases/promotion.yaml"
#: A data asset version as a run's input names it: `azureml:<name>:<version>` as submitted, or the asset id
#: the service answers with (`.../data/<name>/versions/<version>`).
_DATA_REF = re.compile(
    r"^azureml:(?P<name>[A-Za-z0-9][\w.-]*):(?P<version>[\w.-]+)$|/data/(?P<id_name>[^/]+)/versions/(?P<id_version>[^/]+)$"
)


@dataclass(frozen=True)
class Outcome:
    model: str
    version: str
    content_hash: str
    identical: bool  # the content is an existing version's: no new version, no branch
    branch: str | None = None
    commit: str | None = None
    files: tuple[str, ...] = ()
    bumped: tuple[str, ...] = ()  # `<environment>: <endpoint>/<deployment>`
    summary: str = ""  # one line: what happened
    title: str = ""  # the pull request's (the commit's subject)
    description: str = ""  # its body (the commit message's)


def propose(root: Path, environment: str, name: str, workspace: Workspace) -> Outcome | None:
    """Turn run `name`'s model into a candidate branch, or say it is identical to a version; None when the
    run retrains no model (its job has no `amlops.retrains` tag). Raises Refusal having changed nothing."""
    repo, problems = validate_repository(root)
    if problems:
        raise Refusal(f"the manifests have {len(problems)} problem(s): run amlops validate, fix, commit")
    if environment not in repo.environments:
        raise Refusal(f"no environment {environment!r} (environments/{environment}.yaml)")
    run = workspace.run(name)
    if run is None:
        raise Refusal(f"no run {name} in {environment}")
    if run.status != "Completed":
        raise Refusal(f"run {name} is {run.status}: only a completed run's model can become a candidate")
    target = target_of(repo, run)
    if target is None:
        return None
    with tempfile.TemporaryDirectory(prefix="amlops-candidate-") as scratch:
        folder = workspace.download_output(name, target.output, Path(scratch))
        if not folder.exists() or (folder.is_dir() and not any(folder.iterdir())):
            raise Refusal(f"run {name} left its output {target.output} empty: no model to propose")
        content = hash_path(folder)
        metrics = _metrics(folder)
    registered = workspace.model_versions(target.model)
    known = {v: pin_model(repo, f"{n}:{v}").content_hash for n, v in repo.models if n == target.model}
    decision = decide(content, known, {v: tags.get(record.CONTENT_HASH) for v, tags in registered.items()})
    version = decision.version
    earlier = registered.get(version, {}).get("amlops.run") if isinstance(decision, Identical) else None
    branch = f"{BRANCH_PREFIX}{target.model}-v{version}-{earlier or name}"
    if isinstance(decision, Identical) and (decision.in_repository or earlier is None or gitrepo.branch_exists(root, branch)):
        where = "" if decision.in_repository else f" (registered{f', candidate branch {branch}' if earlier else ''})"
        summary = f"identical to {target.model}:{version}{where}: no new version, no branch"
        return Outcome(target.model, version, content, True, summary=summary)
    _committed(root)
    if gitrepo.branch_exists(root, branch):
        raise Refusal(f"branch {branch} already exists: delete it or merge it first")
    new = not isinstance(decision, Identical)
    source = run if new or earlier == name else workspace.run(str(earlier))  # resuming: the run it was registered from
    if source is None:
        raise Refusal(f"{target.model}:{version} was registered from run {earlier}, which {environment} no longer has")
    lineage = _lineage(environment, source, target, workspace)
    files, bumped = _files(repo, environment, target, version, content, lineage, metrics)
    _verify(root, files)
    if new:
        spec = RunModelSpec(
            target.model,
            version,
            name,
            target.output,
            target.kind,
            f"Output '{target.output}' of run {name}.",
            {record.CONTENT_HASH: content, **lineage.tags()},
        )
        workspace.register_run_model(spec)
    shared = _share(repo, environment, workspace, target.model, version)
    title, description = _message(target, version, content, lineage, bumped, metrics, shared)
    commit = gitrepo.commit_on_branch(root, branch, files, f"{title}\n\n{description}")
    summary = f"{target.model}:{version} {'registered' if new else 'was registered already'}; candidate branch {branch}"
    return Outcome(
        target.model, version, content, False, branch, commit, tuple(files), tuple(bumped), summary, title, description
    )


def completed_runs(workspace: Workspace, limit: int) -> list[str]:
    """The completed runs among the newest `limit`, oldest first: proposed in the order they trained, so that
    versions number as they did (a schedule's runs complete with nobody following them)."""
    return [r.name for r in reversed(workspace.runs(limit)) if r.status == "Completed"]


def _committed(root: Path) -> None:
    """A candidate is a branch made from HEAD: the repository must be one, with its manifests committed."""
    try:
        dirty = gitrepo.uncommitted(root, TRACKED)
    except gitrepo.GitError as exc:
        raise Refusal(f"a candidate is a git branch, and {root} is not a git work tree ({exc})") from exc
    if dirty:
        raise Refusal(f"uncommitted changes in {', '.join(dirty)}: a candidate branch is made from HEAD; commit or stash them")


def serving_environments(repo: Repository, environment: str, path: list[str]) -> list[str]:
    """Where a candidate is served first: the first environment of the promotion path, or, for a run on a
    local environment, that environment itself (the local control plane's registry is not Azure's)."""
    if repo.environments[environment].environment.platform is Platform.local or not path:
        return [environment]
    return [path[0]]


def _files(
    repo: Repository, environment: str, target: Target, version: str, content: str, lineage: Lineage, metrics: dict[str, Any]
) -> tuple[dict[str, str], list[str]]:
    uri = RunModelSpec(target.model, version, lineage.run, target.output, target.kind).path
    files = {
        model_path(target.model, version): model_file(target.model, version, target.kind, uri, content, lineage),
        metrics_path(target.model, version): metrics_record(target.model, version, content, lineage, metrics),
    }
    bumped = []
    for serving in serving_environments(repo, environment, _path(repo.root)):
        file = repo.environments[serving]
        reference = f"{target.model}:{version}"
        if serving != environment:  # another workspace: it reaches the model through the registry
            reference = registry_model_uri(registry_name(file.environment), target.model, version)
        text, changed = bump_environment((repo.root / file.document.path).read_text(), target.model, reference)
        if changed:
            files[file.document.path] = text
            bumped += [f"{serving}: {c}" for c in changed]
    return files, bumped


def _share(repo: Repository, environment: str, workspace: Workspace, model: str, version: str) -> str | None:
    """Into the registry, when the first environment to serve it is not the run's own; the registry's name."""
    serving = serving_environments(repo, environment, _path(repo.root))
    if serving == [environment]:
        return None
    registry = workspace.registry(registry_name(repo.environments[serving[0]].environment))
    if registry.model_tags(model, version) is None:
        registry.share(model, version)
    return registry.name


def _verify(root: Path, files: dict[str, str]) -> None:
    """HEAD with the branch's files must validate: the branch is refused rather than committed broken."""
    with tempfile.TemporaryDirectory(prefix="amlops-candidate-") as scratch:
        copy = gitrepo.extract(root, gitrepo.head(root), Path(scratch))
        for path, text in files.items():
            (copy / path).parent.mkdir(parents=True, exist_ok=True)
            (copy / path).write_text(text)
        _, problems = validate_repository(copy)
    if problems:
        raise Refusal(f"the candidate's files would not validate: {'; '.join(map(str, problems))}")


def _lineage(environment: str, run: Run, target: Target, workspace: Workspace) -> Lineage:
    inputs = workspace.run_inputs(run.name)
    found = [m for v in inputs.values() if (m := _DATA_REF.search(v))]
    data = tuple(sorted(f"{m['name'] or m['id_name']}:{m['version'] or m['id_version']}" for m in found))
    return Lineage(run.name, environment, target.job, data, run.tags.get(record.COMMIT, ""))


def _metrics(folder: Path) -> dict[str, Any]:
    """Each metrics.json the model output holds (what the sample's evaluate step writes), by relative path."""
    found: dict[str, Any] = {}
    files = [folder] if folder.is_file() else sorted(folder.rglob("metrics.json"))
    for file in files:
        if file.name == "metrics.json":
            try:
                found[file.relative_to(folder).as_posix() if file != folder else file.name] = json.loads(file.read_text())
            except (ValueError, UnicodeDecodeError):
                continue  # not JSON: not a metrics record
    return found


def _message(
    target: Target, version: str, content: str, lineage: Lineage, bumped: list[str], metrics: dict[str, Any], shared: str | None
) -> tuple[str, str]:
    title = f"Candidate {target.model}:{version} from run {lineage.run}"
    data = f"data {', '.join(lineage.data)}" if lineage.data else "no data asset"
    lines = [
        f"Run {lineage.run} of {target.job} in {lineage.environment} ({data}, submitted from commit "
        f"{lineage.commit or 'unknown'}) trained content {content[:12]} that no version of {target.model} has: "
        f"registered as {target.model}:{version} from the run's output {target.output}"
        + (f" and shared into registry {shared}." if shared else "."),
        "",
        "Serves it: " + (", ".join(bumped) if bumped else "no endpoint serves this model yet") + ".",
    ]
    rows = flat_metrics(metrics)
    if rows:
        lines += ["", f"Metrics ({metrics_path(target.model, version)}):", *(f"- {k}: {v}" for k, v in rows)]
    return title, "\n".join(lines) + "\n"


def _path(root: Path) -> list[str]:
    """The promotion path (releases/promotion.yaml), or none: then a candidate is served where it ran."""
    file = root / PATH_FILE
    document = read_yaml(file, PATH_FILE)[0] if file.is_file() else None
    path = document.data.get("path") if document is not None and isinstance(document.data, dict) else None
    return [str(p) for p in path] if isinstance(path, list) else []
