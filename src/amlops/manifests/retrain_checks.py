"""The `amlops.retrains` tag of a job file: the model it names exists, and the job has one unnamed model output.

The output has no `name`: Azure registers a named output as an asset of that name on every run, a new
version each time whether or not the bytes changed (learn.microsoft.com/python/api/azure-ai-ml/
azure.ai.ml.output: "name: The name to be used to register the output as a Data or Model asset").
amlops registers the model itself, and only for content it has not seen (amlops.retraining).
"""

from __future__ import annotations

from collections.abc import Iterator

from amlops.manifests.errors import Problem
from amlops.manifests.repository import EnvironmentFile, Repository

#: The job-file tag naming the model (in models/) whose new versions the job's one output holds.
RETRAINS = "amlops.retrains"


def retrained_models(repo: Repository, _: list[EnvironmentFile]) -> Iterator[Problem]:
    for job in sorted(repo.jobs):
        yield from target_problems(repo, job)


def target_problems(repo: Repository, job: str) -> list[Problem]:
    """What keeps the job's `amlops.retrains` tag from naming an output amlops can register as that model.

    The output is a `uri_folder`: the model's files, registered with the type of the model's own files.
    A model-typed output cannot be read back with azure-ai-ml 1.35 (`jobs.download` of one fails
    client-side building BatchGetResolvedUrisDto), and Azure registers one only under a `name`.
    """
    document = repo.jobs[job].document
    data = document.data
    model = (data.get("tags") or {}).get(RETRAINS)
    if model is None:
        return []
    if model in repo.unloaded_models:
        return []  # its file does not load: that file's problem says so, once
    if not any(name == model for name, _ in repo.models):
        return [document.problem(("tags", RETRAINS), f"no model {model!r} in models/: the tag names the model the job retrains")]
    outputs = list((data.get("outputs") or {}).items())
    if len(outputs) != 1:
        return [
            document.problem(("tags", RETRAINS), f"the job needs exactly one output, the model's files; it has {len(outputs)}")
        ]
    name, spec = outputs[0]
    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind != "uri_folder":
        return [
            document.problem(("outputs", name, "type"), f"{kind!r}: the output amlops registers as {model} must be a uri_folder")
        ]
    if spec.get("name"):
        return [
            document.problem(
                ("outputs", name, "name"),
                "Azure registers a named output on every run, identical or not: leave the name out, "
                f"amlops registers new content as {model}:<next version>",
            )
        ]
    return []
