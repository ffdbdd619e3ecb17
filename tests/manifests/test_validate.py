"""Every validation rule, on a copy of the sample repository broken in one place.

Each case names the rule behind it and how to switch that rule off; `test_each_case_needs_its_rule`
switches it off and checks the case then passes clean, so no case passes by accident.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from ruamel.yaml.constructor import RoundTripConstructor
from sample_support import REPO, copy_sample, edit

from amlops.manifests import checks, load, yamlio
from amlops.manifests.load import validate_repository

RETRAIN = "jobs/churn-retrain.yml"
TRAIN = "components/churn_train/component.yml"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_sample(tmp_path)


def without_rule(name: str) -> Callable[[pytest.MonkeyPatch], None]:
    def disable(monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(checks.RULES, name, lambda repo, envs: iter(()))

    return disable


def without(module: object, function: str) -> Callable[[pytest.MonkeyPatch], None]:
    def disable(monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(module, function, lambda *args: [])

    return disable


@dataclass
class Case:
    id: str
    file: str
    old: str
    new: str
    where: str  # the expected "path:line:column: field" prefix (line and column included)
    says: str  # a fragment of the expected message
    disable: Callable[[pytest.MonkeyPatch], None] | None = None
    env: str | None = None


CASES = [
    Case(
        "unknown-key",
        "environments/dev.yaml",
        "  max_error_rate: 0.05",
        "  max_eror_rate: 0.05",
        "environments/dev.yaml:44:5: strategy.gate.max_eror_rate",
        "unknown key (did you mean max_error_rate?)",
    ),
    Case(
        "wrong-type",
        "environments/dev.yaml",
        "max_nodes: 4",
        "max_nodes: many",
        "environments/dev.yaml:19:7: infrastructure.clusters[0].max_nodes",
        "valid integer",
    ),
    Case(
        "bad-enum",
        "environments/dev.yaml",
        "mode: public",
        "mode: open",
        "environments/dev.yaml:14:5: infrastructure.network.mode",
        "'managed', 'vnet' or 'public'",
    ),
    Case(
        "azure-schema",
        "endpoints/churn/main.yml",
        "instance_count: 1",
        "instance_count: one",
        "endpoints/churn/main.yml:11:1: instance_count",
        "Not a valid integer",
    ),
    Case(
        "azure-unknown-key",
        "endpoints/credit-risk/endpoint.yml",
        "auth_mode: key",
        "auth_mode: key\nauth_mood: key",
        "endpoints/credit-risk/endpoint.yml:4:1: auth_mood",
        "unknown key (did you mean auth_mode?)",
    ),
    Case(  # the data collector's enums and keys, as azure-ai-ml's DataCollectorSchema checks them
        "data-collector-bad-enum",
        "endpoints/churn/main.yml",
        "    model_outputs:\n      enabled: 'True'",
        "    model_outputs:\n      enabled: 'Yes'",
        "endpoints/churn/main.yml:20:7: data_collector.collections.model_outputs.enabled",
        "not in set ['true', 'false']",
    ),
    Case(
        "data-collector-unknown-key",
        "endpoints/churn/main.yml",
        "    model_inputs:\n      enabled: 'True'",
        "    model_inputs:\n      enabled: 'True'\n      sampling: 0.5",
        "endpoints/churn/main.yml:19:7: data_collector.collections.model_inputs.sampling",
        "unknown key",
    ),
    Case(
        "data-collector-rolling-rate",
        "endpoints/churn/main.yml",
        "  collections:\n",
        "  rolling_rate: weekly\n  collections:\n",
        "endpoints/churn/main.yml:16:3: data_collector.rolling_rate",
        "not in set ['minute', 'day', 'hour']",
    ),
    Case(
        "duplicate-key",
        "environments/dev.yaml",
        "    owner: ml-platform\n",
        "    owner: ml-platform\n    owner: ml-data\n",
        "environments/dev.yaml:28:5: (file)",
        'duplicate key "owner"',
    ),
    Case(
        "tab",
        "environments/dev.yaml",
        "    mode: public",
        "\tmode: public",
        "environments/dev.yaml:14:1: (file)",
        "tab in indentation",
        without(yamlio, "_tab_problems"),
    ),
    Case(
        "tag",
        "environments/dev.yaml",
        "owner: ml-platform",
        "owner: !!python/object/apply:os.system [ls]",
        "environments/dev.yaml:27:12: (file)",
        "is not allowed",
        without(yamlio, "_event_problems"),
    ),
    Case(
        "model-missing",
        "environments/dev.yaml",
        "model: churn:1",
        "model: churn:7",
        "environments/dev.yaml:55:9: endpoints.churn.deployments.main.model",
        "model churn:7 is not defined (known versions: 1)",
        without_rule("model-references"),
    ),
    Case(
        "model-not-a-reference",
        "environments/dev.yaml",
        "model: churn:1",
        "model: /tmp/x",
        "environments/dev.yaml:55:9: endpoints.churn.deployments.main.model",
        "is not a model reference",
        without_rule("model-references"),
    ),
    Case(
        "traffic-unknown-deployment",
        "environments/local.yaml",
        "        instance_type: Standard_DS2_v2\n  churn:",
        "        instance_type: Standard_DS2_v2\n    traffic:\n      blue: 100\n  churn:",
        "environments/local.yaml:22:7: endpoints.credit-risk.traffic.blue",
        "not a declared deployment",
        without_rule("traffic"),
    ),
    Case(
        "traffic-sum",
        "environments/local.yaml",
        "        instance_type: Standard_DS2_v2\n  churn:",
        "        instance_type: Standard_DS2_v2\n    traffic:\n      main: 90\n  churn:",
        "environments/local.yaml:21:5: endpoints.credit-risk.traffic",
        "sums to 90",
        without_rule("traffic"),
    ),
    Case(
        "endpoint-file-traffic",
        "endpoints/credit-risk/endpoint.yml",
        "auth_mode: key",
        "auth_mode: key\ntraffic:\n  main: 60",
        "endpoints/credit-risk/endpoint.yml:4:1: traffic",
        "sums to 60",
        without_rule("traffic"),
    ),
    Case(
        "mirror-over-50",
        "environments/local.yaml",
        "        instance_type: Standard_DS2_v2\n  churn:",
        "        instance_type: Standard_DS2_v2\n      shadow:\n        model: credit-risk:1\n"
        "    traffic:\n      main: 100\n    mirror_traffic:\n      shadow: 60\n  churn:",
        "environments/local.yaml:25:5: endpoints.credit-risk.mirror_traffic",
        "at most 50 %",
        without_rule("mirror-traffic"),
    ),
    Case(
        "mirror-on-live",
        "environments/local.yaml",
        "        instance_type: Standard_DS2_v2\n  churn:",
        "        instance_type: Standard_DS2_v2\n    mirror_traffic:\n      main: 10\n  churn:",
        "environments/local.yaml:22:7: endpoints.credit-risk.mirror_traffic.main",
        "takes live traffic",
        without_rule("mirror-traffic"),
    ),
    Case(
        "endpoint-name-length",
        "endpoints/phi3-chat/serverless.yml",
        "name: phi3-chat",
        "name: " + "p" * 33,
        "endpoints/phi3-chat/serverless.yml:2:1: name",
        "3-32 letters",
        without_rule("endpoint-names"),
    ),
    Case(
        "endpoint-name-folder",
        "endpoints/churn/endpoint.yml",
        "name: churn",
        "name: churn-v2",
        "endpoints/churn/endpoint.yml:2:1: name",
        "but the folder is 'churn'",
        without_rule("endpoint-names"),
    ),
    Case(
        "deployment-name-length",
        "endpoints/churn/main.yml",
        "name: main",
        "name: " + "m" * 24,
        "endpoints/churn/main.yml:2:1: name",
        "deployment names are 3-23",
        without_rule("deployment-names"),
    ),
    Case(
        "model-name",
        "models/churn/v1.yml",
        "name: churn",
        "name: churn model",
        "models/churn/v1.yml:2:1: name",
        "letters, digits",
        without_rule("model-names"),
    ),
    Case(
        "unknown-instance-type",
        "endpoints/churn/main.yml",
        "Standard_DS3_v2",
        "Standard_DS3_v9",
        "endpoints/churn/main.yml:10:1: instance_type",
        "did you mean Standard_DS3_v2",
        without_rule("vm-sizes"),
    ),
    Case(
        "not-an-online-size",
        "environments/local.yaml",
        "Standard_DS2_v2",
        "Standard_D2s_v3",
        "environments/local.yaml:20:9: endpoints.credit-risk.deployments.main.instance_type",
        "not offered for managed online deployments",
        without_rule("vm-sizes"),
    ),
    Case(
        "unknown-cluster-size",
        "environments/prod.yaml",
        "vm_size: Standard_DS3_v2",
        "vm_size: Standard_XX9",
        "environments/prod.yaml:42:7: infrastructure.clusters[0].vm_size",
        "unknown VM size",
        without_rule("vm-sizes"),
    ),
    Case(
        "floating-model-in-prod",
        "environments/prod.yaml",
        "model: churn:1",
        "model: azureml:churn@latest",
        "environments/prod.yaml:83:9: endpoints.churn.deployments.main.model",
        "prod needs a pinned version",
        without_rule("pinned-references"),
    ),
    Case(
        "floating-image-in-staging",
        "endpoints/churn/main.yml",
        "ubuntu22.04:20240919.v1",
        "ubuntu22.04:latest",
        "endpoints/churn/main.yml:9:3: environment.image",
        "staging needs a pinned image tag",
        without_rule("pinned-references"),
        env="staging",
    ),
    Case("floating-model-allowed-in-dev", "environments/dev.yaml", "model: churn:1", "model: churn@latest", "", "", env="dev"),
    Case("bare-model-allowed-in-dev", "environments/dev.yaml", "model: churn:1", "model: azureml:churn", "", "", env="dev"),
    Case(
        "floating-label-unresolvable",
        "environments/dev.yaml",
        "model: churn:1",
        "model: churn@prod",
        "environments/dev.yaml:55:9: endpoints.churn.deployments.main.model",
        "floats and cannot be resolved (amlops resolves only @latest of models in models/)",
        without_rule("model-references"),
    ),
    Case(
        "floating-registry-unresolvable",
        "environments/dev.yaml",
        "model: churn:1",
        "model: azureml://registries/shared/models/churn@latest",
        "environments/dev.yaml:55:9: endpoints.churn.deployments.main.model",
        "floats and cannot be resolved",
        without_rule("model-references"),
    ),
    Case(
        "floating-model-unknown",
        "environments/dev.yaml",
        "model: churn:1",
        "model: chrun@latest",
        "environments/dev.yaml:55:9: endpoints.churn.deployments.main.model",
        "no version of it in models/ (did you mean churn",
        without_rule("model-references"),
    ),
    Case(
        "model-misspelt",
        "environments/dev.yaml",
        "model: churn:1",
        "model: chrun:1",
        "environments/dev.yaml:55:9: endpoints.churn.deployments.main.model",
        "no such model in models/) (did you mean churn",
        without_rule("model-references"),
    ),
    Case(
        "deployment-misspelt",
        "environments/dev.yaml",
        "      main:\n        model: churn:1\n        autoscale",
        "      mian:\n        model: churn:1\n        autoscale",
        "environments/dev.yaml:54:7: endpoints.churn.deployments.mian",
        "(did you mean main?)",
        without_rule("environment-endpoints"),
    ),
    Case(
        "sample-request-json",
        "endpoints/churn/sample-request.json",
        '{"data": [[0.5, -0.2, 1.0], [-1.5, 1.1, 0.0]]}',
        '{"data":\n [[0.5, -0.2 1.0], [-1.5, 1.1, 0.0]]}',
        "endpoints/churn/sample-request.json:2:14: (file)",
        "invalid JSON: Expecting ',' delimiter",
        without(load, "_sample_request_problems"),
    ),
    Case(
        "nesting-too-deep-flow",
        "environments/dev.yaml",
        "    owner: ml-platform\n",
        "    owner: ml-platform\n    deep: " + "[" * 100 + "]" * 100 + "\n",
        "environments/dev.yaml:28:43: (file)",
        "nested deeper than 32 levels",
        lambda monkeypatch: monkeypatch.setattr(yamlio, "MAX_DEPTH", 1000),
    ),
    Case(
        "path-outside-repo",
        "endpoints/churn/main.yml",
        "code: score/",
        "code: ../../../etc/",
        "endpoints/churn/main.yml:5:3: code_configuration.code",
        "points outside the repository",
        without_rule("local-paths"),
    ),
    Case(
        "path-missing",
        "models/churn/v1.yml",
        "path: v1",
        "path: v9",
        "models/churn/v1.yml:5:1: path",
        "'v9' does not exist",
        without_rule("local-paths"),
    ),
    Case(
        "unknown-endpoint",
        "environments/dev.yaml",
        "  churn:\n",
        "  churm:\n",
        "environments/dev.yaml:52:3: endpoints.churm",
        "no endpoint 'churm' in endpoints/ (did you mean churn",
        without_rule("environment-endpoints"),
    ),
    Case(
        "unknown-deployment",
        "environments/dev.yaml",
        "      main:\n        model: churn:1\n        autoscale",
        "      blue:\n        model: churn:1\n        autoscale",
        "environments/dev.yaml:54:7: endpoints.churn.deployments.blue",
        "no deployment 'blue'",
        without_rule("environment-endpoints"),
    ),
    Case(
        "serverless-kind",
        "environments/dev.yaml",
        "  phi3-chat:\n    serverless: true",
        "  phi3-chat:\n    deployments:\n      main:\n        model: churn:1",
        "environments/dev.yaml:68:3: endpoints.phi3-chat",
        "is a serverless endpoint",
        without_rule("environment-endpoints"),
    ),
    Case(
        "serverless-model-id",
        "endpoints/phi3-chat/serverless.yml",
        "model_id: azureml://registries/azureml/models/",
        "model_id: ",
        "endpoints/phi3-chat/serverless.yml:3:1: model_id",
        "registry URI",
        without_rule("serverless-models"),
    ),
    Case(
        "env-name-mismatch",
        "environments/dev.yaml",
        "name: dev",
        "name: development",
        "environments/dev.yaml:4:1: name",
        "differs from the file name",
    ),
    Case(
        "azure-target-needs-location",
        "environments/dev.yaml",
        "platform: azure",
        "platform: azure\nazure_: 1",
        "environments/dev.yaml:6:1: azure_",
        "unknown key",
    ),
]


TRAINING_CASES = [
    Case(
        "step-input-unknown",
        RETRAIN,
        "      test_share: 0.25",
        "      test_fraction: 0.25",
        "jobs/churn-retrain.yml:23:7: jobs.prepare.inputs.test_fraction",
        "the component of step 'prepare' has no input 'test_fraction' (it has: raw, test_share)",
        without_rule("pipeline-bindings"),
    ),
    Case(
        "step-required-input-missing",
        RETRAIN,
        "      test: ${{parent.jobs.prepare.outputs.test}}\n",
        "",
        "jobs/churn-retrain.yml:32:5: jobs.evaluate.inputs",
        "step 'evaluate' does not give its component's required input 'test'",
        without_rule("pipeline-bindings"),
    ),
    Case(
        "binding-to-missing-output",
        RETRAIN,
        "train: ${{parent.jobs.prepare.outputs.train}}",
        "train: ${{parent.jobs.prepare.outputs.training}}",
        "jobs/churn-retrain.yml:28:7: jobs.train.inputs.train",
        "step 'prepare' has no output 'training'",
        without_rule("pipeline-bindings"),
    ),
    Case(
        "binding-to-missing-step",
        RETRAIN,
        "test: ${{parent.jobs.prepare.outputs.test}}",
        "test: ${{parent.jobs.prep.outputs.test}}",
        "jobs/churn-retrain.yml:34:7: jobs.evaluate.inputs.test",
        "the pipeline has no step 'prep'",
        without_rule("pipeline-bindings"),
    ),
    Case(
        "binding-to-missing-pipeline-output",
        RETRAIN,
        "${{parent.outputs.candidate}}",
        "${{parent.outputs.model}}",
        "jobs/churn-retrain.yml:43:7: jobs.register.outputs.registered",
        "the pipeline has no output 'model'",
        without_rule("pipeline-bindings"),
    ),
    Case(
        "step-output-unknown",
        RETRAIN,
        "      registered: ${{parent.outputs.candidate}}",
        "      registred: ${{parent.outputs.candidate}}",
        "jobs/churn-retrain.yml:43:7: jobs.register.outputs.registred",
        "has no output 'registred'",
        without_rule("pipeline-bindings"),
    ),
    Case(
        "command-names-undeclared-input",
        TRAIN,
        "--epochs ${{inputs.epochs}}",
        "--epochs ${{inputs.epoch}}",
        "components/churn_train/component.yml:21:1: command",
        "${{inputs.epoch}}: no input 'epoch' is declared",
        without_rule("command-bindings"),
    ),
    Case(
        "component-version-not-defined",
        RETRAIN,
        "component: azureml:churn_train:1",
        "component: azureml:churn_train:2",
        "jobs/churn-retrain.yml:26:5: jobs.train.component",
        "component churn_train:2 is not defined (known versions: 1)",
        without_rule("asset-references"),
    ),
    Case(
        "azure-ml-environment-floats",
        TRAIN,
        "environment: azureml:churn-train:1",
        "environment: azureml:churn-train@latest",
        "components/churn_train/component.yml:20:1: environment",
        "floats: name a version",
        without_rule("asset-references"),
    ),
    Case(
        "data-asset-not-defined",
        RETRAIN,
        "path: azureml:churn-customers:1",
        "path: azureml:churn-customer:1",
        "jobs/churn-retrain.yml:11:5: inputs.customers.path",
        "data asset churn-customer:1 is not defined (no such data asset in assets/data/)",
        without_rule("asset-references"),
    ),
    Case(
        "deployment-names-missing-azure-ml-environment",
        "endpoints/churn/main.yml",
        "environment:\n  conda_file: environment/conda.yaml\n  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20240919.v1",
        "environment: azureml:churn-train:9",
        "endpoints/churn/main.yml:7:1: environment",
        "Azure ML environment churn-train:9 is not defined (known versions: 1)",
        without_rule("asset-references"),
    ),
    Case(
        "deployment-names-azure-ml-environment",
        "endpoints/churn/main.yml",
        "environment:\n  conda_file: environment/conda.yaml\n  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20240919.v1",
        "environment: azureml:churn-train:1",
        "",
        "",
    ),
    Case(
        "registry-environment-pinned",
        TRAIN,
        "environment: azureml:churn-train:1",
        "environment: azureml://registries/azureml/environments/sklearn-1.5/versions/12",
        "",
        "",
    ),
    Case(
        "compute-not-declared",
        RETRAIN,
        "default_compute: azureml:cpu",
        "default_compute: azureml:bigcpu",
        "jobs/churn-retrain.yml:7:3: settings.default_compute",
        "dev declares no cluster 'bigcpu' (it has: cpu, gpu; or use serverless)",
        without_rule("environment-jobs"),
        env="dev",
    ),
    Case("compute-serverless", RETRAIN, "default_compute: azureml:cpu", "default_compute: azureml:serverless", "", "", env="dev"),
    Case(
        "local-compute-not-declared",
        "environments/local.yaml",
        "    vm_size: Standard_DS3_v2\n    max_nodes: 2",
        "    vm_size: Standard_DS3_v2\n    max_nodes: 2\n  - name: tiny\n    vm_size: Standard_DS3_v2\n    max_nodes: 1",
        "",
        "",
        env="local",
    ),
    Case(
        "environment-names-missing-job",
        "environments/local.yaml",
        "  - churn-retrain",
        "  - churn-retrian",
        "environments/local.yaml:60:5: jobs[0]",
        "no job 'churn-retrian' in jobs/ (it has: churn-retrain, phi3-distill, phi3-finetune)",
        without_rule("environment-jobs"),
        env="local",
    ),
    Case(
        "distillation-compute-ignored",
        "jobs/phi3-distill.yml",
        "resources:",
        "compute: azureml:gpu\nresources:",
        "jobs/phi3-distill.yml:18:1: compute",
        "compute is ignored",
        without_rule("distillation-compute"),
    ),
    Case(
        "component-code-outside-repo",
        TRAIN,
        "code: src",
        "code: ../../..",
        "components/churn_train/component.yml:19:1: code",
        "points outside the repository",
        without_rule("training-paths"),
    ),
    Case(
        "data-path-missing",
        "assets/data/churn-customers.yml",
        "path: churn-customers",
        "path: churn-clients",
        "assets/data/churn-customers.yml:5:1: path",
        "'churn-clients' does not exist",
        without_rule("training-paths"),
    ),
    Case(
        "batch-deployment-not-declared",
        "environments/local.yaml",
        "deployments: [main]",
        "deployments: [blue]",
        "environments/local.yaml:63:19: batch_endpoints.churn-batch.deployments[0]",
        "no deployment 'blue' in batch-endpoints/churn-batch/ (it has: main)",
        without_rule("environment-jobs"),
        env="local",
    ),
    Case(
        "batch-compute-not-declared",
        "batch-endpoints/churn-batch/main.yml",
        "compute: azureml:cpu",
        "compute: azureml:gpu",
        "batch-endpoints/churn-batch/main.yml:9:1: compute",
        "local declares no cluster 'gpu' (it has: cpu; or use serverless)",
        without_rule("environment-jobs"),
        env="local",
    ),
    Case(
        "batch-deployment-type",
        "batch-endpoints/churn-batch/main.yml",
        "type: model",
        "type: online",
        "batch-endpoints/churn-batch/main.yml:3:1: type",
        "type: model or type: pipeline",
    ),
    Case(
        "asset-needs-version",
        "assets/environments/churn-train.yml",
        'version: "1"\n',
        "",
        "assets/environments/churn-train.yml:1:1: version",
        "needs an explicit version",
    ),
    Case(
        "clusters-only-on-local",
        "environments/dev.yaml",
        "jobs:\n",
        "clusters: [{name: cpu, vm_size: Standard_DS3_v2, max_nodes: 1}]\njobs:\n",
        "environments/dev.yaml:1:1: (file)",
        "clusters is for local environments without infrastructure",
    ),
    Case("expressions-are-not-templates", RETRAIN, "display_name: churn retraining", "display_name: ${{name}}", "", ""),
    Case(
        "templates-still-refused",
        RETRAIN,
        "display_name: churn retraining",
        "display_name: {{name}}",
        "jobs/churn-retrain.yml:3:15: (file)",
        "template placeholder",
    ),
]
CASES += TRAINING_CASES

EVALUATION_CASES = [
    Case(
        "evaluation-compute-undeclared",
        "environments/local.yaml",
        "        compute: cpu",
        "        compute: gpu",
        "environments/local.yaml:50:9: endpoints.churn.strategy.evaluation.compute",
        "local declares no cluster 'gpu' (it has: cpu; or use serverless)",
        without_rule("evaluation-references"),
    ),
    Case(
        "evaluation-component-undefined",
        "environments/local.yaml",
        "component: azureml:churn_compare:1",
        "component: azureml:churn_compare:2",
        "environments/local.yaml:48:9: endpoints.churn.strategy.evaluation.component",
        "component churn_compare:2 is not defined (known versions: 1)",
        without_rule("evaluation-references"),
    ),
    Case(
        "evaluation-component-interface",
        "components/churn_compare/component.yml",
        "  live:\n    type: custom_model\n",
        "",
        "environments/local.yaml:48:9: endpoints.churn.strategy.evaluation.component",
        "lacks input live: an evaluation calls it with those",
        without_rule("evaluation-references"),
    ),
    Case(
        "evaluation-kind-needs-data",
        "environments/local.yaml",
        "        data: azureml:churn-holdout:1\n",
        "",
        "environments/local.yaml:46:7: endpoints.churn.strategy.evaluation",
        "kind component needs component and data",
    ),
    Case(
        "evaluation-criterion-one-bound",
        "environments/local.yaml",
        "min_delta: 0.0}",
        "min_delta: 0.0, max_regression: 0.01}",
        "environments/local.yaml:52:13: endpoints.churn.strategy.evaluation.criteria[0]",
        "at most one of min_delta or max_regression",
    ),
]
CASES += EVALUATION_CASES


def problems_for(repo: Path, case: Case) -> list[str]:
    edit(repo / case.file, case.old, case.new)
    _, problems = validate_repository(repo, case.env)
    return [str(p) for p in problems]


def test_the_samples_are_valid():
    _, problems = validate_repository(REPO)
    assert problems == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule(repo: Path, case: Case):
    found = problems_for(repo, case)
    if not case.where:
        assert found == []
        return
    matching = [p for p in found if p.startswith(case.where + ":") and case.says in p]
    assert matching, f"expected {case.where}: ...{case.says}..., got:\n" + "\n".join(found)


@pytest.mark.parametrize("case", [c for c in CASES if c.disable], ids=lambda c: c.id)
def test_each_case_needs_its_rule(repo: Path, case: Case, monkeypatch: pytest.MonkeyPatch):
    assert case.disable is not None
    case.disable(monkeypatch)
    found = problems_for(repo, case)
    assert not [p for p in found if case.says in p], f"{case.id} still reported with its rule off: {found}"


def test_every_problem_is_reported_not_only_the_first(repo: Path):
    edit(repo / "environments/dev.yaml", "max_nodes: 4", "max_nodes: many")
    edit(repo / "environments/prod.yaml", "model: churn:1", "model: churn:9")
    edit(repo / "endpoints/churn/main.yml", "Standard_DS3_v2", "Standard_Nope")
    _, problems = validate_repository(repo)
    files = {p.path for p in problems}
    assert {"environments/dev.yaml", "environments/prod.yaml", "endpoints/churn/main.yml"} <= files


def test_env_narrows_environment_rules(repo: Path):
    edit(repo / "environments/prod.yaml", "model: churn:1", "model: churn:9")
    _, problems = validate_repository(repo, "dev")
    assert problems == []
    _, problems = validate_repository(repo, "nope")
    assert [p.message for p in problems] == ["no such environment (known: dev, local, prod, staging)"]


def test_alias_bomb_is_refused_before_anything_expands_it(repo: Path, monkeypatch: pytest.MonkeyPatch):
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    bomb = "\n".join(lines) + "\n"
    assert len(bomb) < 1100
    (repo / "environments/bomb.yaml").write_text(bomb)
    built: list[str] = []  # the texts whose documents reached the constructor, which would build all 10^9 nodes
    construct = RoundTripConstructor.construct_document

    def spy(self, node):
        built.append(self.loader.reader.buffer)
        return construct(self, node)

    monkeypatch.setattr(RoundTripConstructor, "construct_document", spy)
    _, problems = validate_repository(repo)
    assert any(p.path == "environments/bomb.yaml" and "alias bomb" in p.message for p in problems)
    assert not any(bomb in text for text in built)  # refused on the event stream: counted, never built
    probe = repo / "probe.yaml"  # a text no test read before (parses are memoised): the spy sees it built
    probe.write_text(f"# {repo}\nkey: value\n")
    yamlio.read_yaml(probe, "probe.yaml")
    assert any(str(repo) in text for text in built)


def test_duplicate_environment_files(repo: Path):
    shutil.copy(repo / "environments/dev.yaml", repo / "environments/dev.yml")
    _, problems = validate_repository(repo)
    assert [str(p) for p in problems] == [
        "environments/dev.yml:4:1: name: environment 'dev' is also defined in environments/dev.yaml"
    ]


def test_duplicate_model_versions(repo: Path):
    shutil.copy(repo / "models/churn/v1.yml", repo / "models/churn/v1-copy.yml")
    _, problems = validate_repository(repo)
    assert [str(p) for p in problems] == [
        "models/churn/v1.yml:3:1: version: model churn:1 is also defined in models/churn/v1-copy.yml"
    ]


def test_a_symlink_out_of_the_repository_is_refused(repo: Path):
    (repo / "models/churn/v1/passwd").symlink_to("/etc/passwd")
    (repo / "endpoints/churn/score/ssl").symlink_to("/etc/ssl")
    (repo / "endpoints/churn/score/inside").symlink_to(repo / "models/churn/v1.yml")  # inside: fine
    _, problems = validate_repository(repo)
    ssl = f"endpoints/churn/score/ssl is a symbolic link to {Path('/etc/ssl').resolve()}, outside the repository"
    assert [str(p) for p in problems] == [
        f"endpoints/churn-gpu/main.yml:5:3: code_configuration.code: {ssl}",
        f"endpoints/churn/main.yml:5:3: code_configuration.code: {ssl}",
        "models/churn/v1.yml:5:1: path: models/churn/v1/passwd is a symbolic link to /etc/passwd, outside the repository",
    ]


def test_deep_nesting_is_refused_with_its_line_not_a_traceback(repo: Path):
    """300 levels crashed ruamel.yaml's composer; the same in block style, and a large flow file, are refused too."""
    block = "".join("  " * i + f"k{i}:\n" for i in range(300)) + "  " * 300 + "leaf: 1\n"
    (repo / "environments/block.yaml").write_text(block)
    (repo / "environments/flow.yaml").write_text("a:\n  b: " + "[" * 100_000 + "]" * 100_000 + "\n")
    (repo / "endpoints/churn/sample-request.json").write_text("[" * 300 + "]" * 300)  # JSON nests as deep as it likes
    _, problems = validate_repository(repo)
    assert [str(p) for p in problems] == [
        "environments/block.yaml:33:65: (file): nested deeper than 32 levels: refused",
        "environments/flow.yaml:2:38: (file): nested deeper than 32 levels: refused",
    ]


def test_long_flow_collections_are_refused_before_ruamel_parses_them(repo: Path):
    """ruamel.yaml's round-trip parser takes about 100 us per flow item: 40 KB of them took 70 s of CPU."""
    (repo / "environments/wide.yaml").write_text("a: [" + ", ".join(["1"] * 30_000) + "]\n")
    (repo / "environments/many.yaml").write_text("".join(f"k{i}: [1]\n" for i in range(2_001)))
    _, problems = validate_repository(repo)
    too_many = f"over {yamlio.MAX_FLOW_ITEMS} items in flow collections ([a, b], {{k: v}}): write long lists in block style"
    assert [str(p) for p in problems] == [
        f"environments/many.yaml:2001:8: (file): {too_many}",
        f"environments/wide.yaml:1:6003: (file): {too_many}",
    ]


def test_brackets_in_quotes_comments_and_plain_scalars_do_not_count():
    deep = "[" * 100
    text = f"a: '{deep}''{deep}'\nb: \"\\\\\\\" {deep}\"\n# {deep}\nc: x{deep}\n"
    document, problems = yamlio.parse_yaml(text, "f.yml")
    assert problems == [] and document is not None
    assert (document.data["a"], document.data["b"], document.data["c"]) == (f"{deep}'{deep}", f'\\" {deep}', f"x{deep}")


def test_duplicate_endpoint_names_name_both_files(repo: Path):
    shutil.copytree(repo / "endpoints/churn", repo / "endpoints/churn2")
    _, problems = validate_repository(repo)
    assert "endpoints/churn2/endpoint.yml:2:1: name: endpoint 'churn' is also defined in endpoints/churn/endpoint.yml" in [
        str(p) for p in problems
    ]


def test_validate_outside_a_repository_fails(tmp_path: Path):
    _, problems = validate_repository(tmp_path)
    assert [p.message for p in problems] == ["not an amlops repository: no environments/ folder (run it in one, or pass --repo)"]


@pytest.mark.parametrize(
    "file, old, new",
    [
        ("endpoints/churn/main.yml", "instance_count: 1", "instance_count: one"),
        ("endpoints/churn/main.yml", "name: main", "name: main\nbogus: 1"),
        ("endpoints/churn/endpoint.yml", "auth_mode: key", "auth_mode: kee"),
        ("models/churn/v1.yml", 'version: "1"', "version: [1]"),
    ],
    ids=["deployment-value", "deployment-key", "endpoint-value", "model-value"],
)
def test_one_mistake_gives_one_error(repo: Path, file: str, old: str, new: str):
    """A file that does not load is left out; the files that name it must not each report it missing."""
    edit(repo / file, old, new)
    _, problems = validate_repository(repo)
    assert [p.path for p in problems] == [file], [str(p) for p in problems]


def test_a_floating_reference_resolves_to_the_highest_version_in_models(repo: Path):
    from amlops.release import build_release

    shutil.copy(repo / "models/churn/v1.yml", repo / "models/churn/v10.yml")
    edit(repo / "models/churn/v10.yml", 'version: "1"', 'version: "10"')
    shutil.copy(repo / "models/churn/v1.yml", repo / "models/churn/v9.yml")
    edit(repo / "models/churn/v9.yml", 'version: "1"', 'version: "9"')
    edit(repo / "environments/dev.yaml", "model: churn:1", "model: churn@latest")
    repository, problems = validate_repository(repo, "dev")
    assert problems == []
    release = build_release(repository, "dev")
    assert release.endpoints["churn"].deployments["main"].model.reference == "churn:10"
