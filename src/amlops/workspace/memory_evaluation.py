"""The in-memory workspace's evaluation half: comparison components run as jobs, and what models record.

Azure's rules it keeps: a job's name is unique in the workspace (REST Jobs - Create Or Update on an existing
name updates only tags and the like: amlops never reuses one, so the twin refuses it); the component,
the data asset, the models (workspace or registry versions) and the cluster a job names must exist, else
submission fails with 400 UserError: Azure resolves each `azureml:<name>:<version>` or registry input to its
asset when the job is created (REST Jobs - Create Or Update; input forms: how-to-read-write-data-v2), as the
local control plane does (`local/arm/jobs.py`, `_input_value`). The run's status
advances one step per read, as MemoryTraining's jobs do. What the component reports for each model, and
which components fail, are knobs a test sets.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from amlops.manifests.references import parse_model_ref
from amlops.manifests.repository import AssetKind
from amlops.workspace.interface import ComponentJobSpec, Run
from amlops.workspace.memory_training import _REF, LIFECYCLE, SERVERLESS, MemoryTraining, Refused, _Job

if TYPE_CHECKING:
    from amlops.workspace.memory import MemoryRegistry


class MemoryEvaluation(MemoryTraining):
    """Mixed into MemoryWorkspace after MemoryTraining."""

    models: dict[tuple[str, str], dict[str, str]]  # MemoryWorkspace's registered models and their tags
    registries: dict[str, MemoryRegistry]  # MemoryWorkspace's registries, with the versions shared to them

    def __init__(self) -> None:
        super().__init__()
        self.model_metrics: dict[str, dict[str, float]] = {}  # `name:version` -> what a comparison component reports
        self.failing_components: set[str] = set()  # component names whose runs fail
        self.model_properties_store: dict[tuple[str, str], dict[str, str]] = {}  # model properties, beside its tags

    def model_properties(self, name: str, version: str) -> dict[str, str] | None:
        key = (name, version)
        if key not in self.models and key not in self.model_properties_store:
            return None
        return {**self.model_properties_store.get(key, {}), **self.models.get(key, {})}

    def submit_component(self, spec: ComponentJobSpec) -> Run:
        if spec.name in self.jobs:
            raise Refused(f"job {spec.name} already exists")
        if spec.compute != SERVERLESS and spec.compute not in self.cluster_specs:
            raise Refused(f"compute {spec.compute!r} does not exist in this workspace")
        refs = [
            (AssetKind.component, spec.component),
            *((AssetKind.data, p) for t, p in spec.inputs.values() if t == "uri_folder"),
        ]
        for kind, ref in refs:
            match = _REF.match(ref)
            if match is None or (kind, match["name"], match["version"]) not in self.assets:
                raise Refused(f"{kind.noun} {ref} is not registered")
        for name, (input_type, path) in spec.inputs.items():
            if input_type.endswith("_model") and not self._has_model(path):
                raise Refused(f"inputs.{name}: model {path} is not registered")
        run = Run(
            name=spec.name,
            display_name=spec.name,
            experiment=spec.experiment,
            kind="command",
            status=LIFECYCLE[0],
            studio_url=f"https://ml.azure.com/runs/{spec.name}?wsid=/memory",
            tags=dict(spec.tags),
        )
        component = _REF.match(spec.component)
        fails = component is not None and component["name"] in self.failing_components
        self.jobs[spec.name] = _Job(run, spec, set(), fails_itself=fails)
        self._wrote(f"submit component {spec.component} as {spec.name}")
        return run

    def _has_model(self, ref: str) -> bool:
        """A model input names a registered version: `azureml:<name>:<version>`, or a registry's by its URI."""
        model = parse_model_ref(ref.removeprefix("azureml:") if not ref.startswith("azureml://") else ref)
        if model is None or model.version is None:
            return False
        if model.registry is None:
            return (model.name, model.version) in self.models
        registry = self.registries.get(model.registry)
        return registry is not None and (model.name, model.version) in registry.models

    def output_file(self, run: str, output: str, path: str) -> bytes | None:
        job = self.jobs.get(run)
        if job is None or job.run.status != "Completed" or not isinstance(job.spec, ComponentJobSpec):
            return None
        if (output, path) != ("metrics", "metrics.json"):
            return None
        reported = {}
        for name, (kind, ref) in job.spec.inputs.items():
            match = _REF.match(ref)
            if kind.endswith("model") and match:
                reported[name] = self.model_metrics.get(f"{match['name']}:{match['version']}", {})
        return json.dumps(reported).encode()
