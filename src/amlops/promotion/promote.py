"""`amlops promote`, end to end: refuse early, share the models, then commit the manifest on a branch.

The order is what keeps refusals clean: every check (manifests, work tree, path, live evidence,
branch, the rewritten manifest, every model in the registry) runs before the first write; then the
registry shares (idempotent, so a retry after a failure is safe), then one atomic git commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from amlops import git as gitrepo
from amlops.manifests import validate_repository
from amlops.manifests.yamlio import parse_yaml
from amlops.promotion.history import append_record, history_path, history_record
from amlops.promotion.manifest_edit import rewrite_environment, verify_rewrite
from amlops.promotion.plan import LiveEvidence, ModelShare, Promotion, Refusal, plan_promotion
from amlops.promotion.registry import ModelRegistry
from amlops.release.bundle import Release

#: The order releases move through environments: `path: [dev, staging, prod]`.
PATH_FILE = "releases/promotion.yaml"
#: What must be committed before promoting: the promotion is made from HEAD, not the work tree.
TRACKED = ["environments", "models", "endpoints", "releases"]

LiveSource = Callable[[str, Release], Mapping[str, LiveEvidence]]


@dataclass(frozen=True)
class Outcome:
    promotion: Promotion
    commit: str
    shared: tuple[ModelShare, ...]  # the models this promotion copied into the registry
    files: tuple[str, ...]


def promote(
    root: Path,
    source: str,
    target: str,
    endpoint: str | None,
    live: LiveSource,
    registry: Callable[[Promotion], ModelRegistry],
    who: str,
    now: datetime,
) -> Outcome:
    """Promote, or raise Refusal having changed nothing. `live` and `registry` reach the workspaces."""
    repo, problems = validate_repository(root)
    if problems:
        raise Refusal(f"the manifests have {len(problems)} problem(s): run amlops validate, fix, commit")
    dirty = gitrepo.uncommitted(root, TRACKED)
    if dirty:
        raise Refusal(f"uncommitted changes in {', '.join(dirty)}: a promotion is made from HEAD; commit or stash them")
    path = read_path(root)
    promotion = plan_promotion(repo, path, source, target, endpoint, lambda release: live(source, release), now)
    if gitrepo.branch_exists(root, promotion.branch):
        raise Refusal(f"branch {promotion.branch} already exists: this promotion is under way (merge or delete it)")
    manifest = repo.environments[target].document.path
    text = rewrite_environment((root / manifest).read_text(), repo.environments[source].environment, promotion)
    verify_rewrite(repo, promotion, text)
    history = history_path(target)
    previous = (root / history).read_text() if (root / history).is_file() else None
    record = history_record(promotion, who, now, gitrepo.head(root))
    files = {manifest: text, history: append_record(previous, target, record)}
    models = registry(promotion)
    missing = tuple(m for m in promotion.models if models.missing(m))
    for model in missing:
        models.share(model)
    commit = gitrepo.commit_on_branch(root, promotion.branch, files, commit_message(promotion))
    return Outcome(promotion, commit, missing, tuple(files))


def read_path(root: Path) -> list[str]:
    """The promotion path from `releases/promotion.yaml`: distinct environment names, in order."""
    file = root / PATH_FILE
    if not file.is_file():
        raise Refusal(f"no {PATH_FILE}: it names the order releases move in, e.g. `path: [dev, staging, prod]`")
    document, problems = parse_yaml(file.read_text(), PATH_FILE)
    data = document.data if document else None
    path = data.get("path") if isinstance(data, dict) else None
    if problems or not isinstance(path, list) or not all(isinstance(p, str) for p in path) or len(set(path)) != len(path):
        raise Refusal(f"{PATH_FILE} must hold `path:`, a list of distinct environment names")
    return list(path)


def commit_message(promotion: Promotion) -> str:
    release = promotion.release
    lines = [f"Promote {release.alias} from {promotion.source} to {promotion.target}", ""]
    lines.append(f"Release {release.id}; endpoints: {', '.join(promotion.endpoints)}.")
    lines += [f"- {m.reference} (sha256 {m.content_hash})" for m in promotion.models]
    return "\n".join(lines) + "\n"
