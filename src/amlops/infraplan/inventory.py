"""Run the Pulumi program of a repository under Pulumi's mocks and list what it declares.

No credentials, no Pulumi CLI, no network: `pulumi.runtime.set_mocks` stands in for the engine,
every resource registration is recorded (type token, logical name, inputs as the engine sees them)
and the stack's outputs are resolved. Invokes are refused: the program must not depend on reading
live state. The mocks are as strict as the provider: inputs its schema refuses (`schema`) and
private endpoints Azure refuses (`private_dns`) fail the evaluation. Other stacks' outputs (StackReference) get obviously-mocked placeholder values.

The program is imported fresh per evaluation (its modules are top-level names such as `network`,
so they are purged from `sys.modules` around each run) and the runtime's root stack and config
are reset, so several stacks and revisions can be evaluated in one process, one at a time.
"""

from __future__ import annotations

import json
import runpy
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
from pulumi.runtime import settings as runtime_settings
from ruamel.yaml import YAML

from amlops.infraplan import private_dns, schema

PROJECT = "amlops"
ORGANIZATION = "organization"  # what the DIY (self-managed) backend calls every organization
PROGRAM_DIR = "infra"
PROVIDER = "pulumi:providers:"
STACK_REFERENCE = "pulumi:pulumi:StackReference"

#: The input that holds the Azure name, per type; others use their logical name.
NAME_INPUTS = {
    "azure-native:resources:ResourceGroup": "resourceGroupName",
    "azure-native:storage:StorageAccount": "accountName",
    "azure-native:keyvault:Vault": "vaultName",
    "azure-native:containerregistry:Registry": "registryName",
    "azure-native:machinelearningservices:Workspace": "workspaceName",
    "azure-native:machinelearningservices:Compute": "computeName",
    "azure-native:machinelearningservices:Registry": "registryName",
    "azure-native:managedidentity:UserAssignedIdentity": "resourceName",
    "azure-native:managedidentity:FederatedIdentityCredential": "federatedIdentityCredentialResourceName",
    "azure-native:operationalinsights:Workspace": "workspaceName",
    "azure-native:applicationinsights:Component": "resourceName",
    "azure-native:authorization:RoleAssignment": "roleAssignmentName",
    "azure-native:authorization:RoleDefinition": "roleDefinitionId",
    "azure-native:monitor:DiagnosticSetting": "name",
    "azure-native:network:VirtualNetwork": "virtualNetworkName",
    "azure-native:network:Subnet": "subnetName",
    "azure-native:network:NetworkSecurityGroup": "networkSecurityGroupName",
    "azure-native:network:PrivateEndpoint": "privateEndpointName",
    "azure-native:network:PrivateDnsZoneGroup": "privateDnsZoneGroupName",
    "azure-native:privatedns:PrivateZone": "privateZoneName",
    "azure-native:privatedns:VirtualNetworkLink": "virtualNetworkLinkName",
}

_LOCK = threading.Lock()


class UnmockedCall(RuntimeError):
    """The program invoked a provider function: plans must not depend on live state."""


class ProgramError(RuntimeError):
    """The program failed under the mocks (a manifest problem, or a bug in the program)."""


@dataclass(frozen=True)
class Resource:
    type: str
    name: str  # the logical (Pulumi) name
    urn: str
    inputs: dict[str, Any]
    id: str
    protect: bool = False  # `ResourceOptions(protect=True)`: `pulumi destroy` refuses to delete it
    parent: str = ""  # the parent's URN

    @property
    def azure_name(self) -> str:
        return str(self.inputs.get(NAME_INPUTS.get(self.type, ""), self.name))


@dataclass(frozen=True)
class Inventory:
    stack: str
    resources: list[Resource]
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_token: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str) -> Resource:
        found = self.of_type(type_token)
        if len(found) != 1:
            raise AssertionError(f"expected one {type_token}, found {[r.name for r in found]}")
        return found[0]

    def named(self, name: str) -> Resource:
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one resource named {name!r}, found {len(found)}")
        return found[0]

    @property
    def azure_resources(self) -> list[Resource]:
        """What `pulumi up` would create in Azure: no providers, components or stack references."""
        return [r for r in self.resources if r.type.startswith("azure-native:")]


class RecordingMocks(pulumi.runtime.Mocks):
    """Records inputs; returns them as outputs, as Azure would, with ARM-shaped ids and principals.

    Where an output's shape differs from its input (identities: a list of ids in, a map out), the
    output shape is returned, since the SDK checks outputs against their declared types.
    """

    def __init__(self) -> None:
        self.subscriptions: dict[str, str] = {}  # provider id -> its subscription
        self.inputs: dict[tuple[str, str], dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if (args.typ, args.name) in self.inputs:
            raise ProgramError(f"two resources of type {args.typ} are named {args.name!r}")
        if not args.typ.startswith(PROVIDER):
            schema.check_resource(args.typ, dict(args.inputs))
        self.inputs[(args.typ, args.name)] = dict(args.inputs)
        if args.typ.startswith(PROVIDER):
            provider_id = f"{args.name}-provider-id"
            self.subscriptions[provider_id] = str(args.inputs.get("subscriptionId", "00000000-0000-0000-0000-000000000000"))
            return provider_id, dict(args.inputs)
        if args.typ == STACK_REFERENCE:
            return args.inputs["name"], {
                "name": args.inputs["name"],
                "outputs": stack_reference_outputs(args.inputs["name"]),
                "secretOutputNames": [],
            }
        name = str(args.inputs.get(NAME_INPUTS.get(args.typ, ""), args.name))
        subscription = self.subscriptions.get((args.provider or "").rsplit("::", 1)[-1], "00000000-0000-0000-0000-000000000000")
        state = {**args.inputs, "name": name}
        identity = state.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            state["identity"] = {**identity, "userAssignedIdentities": {i: {} for i in identity["userAssignedIdentities"]}}
        if args.typ == "azure-native:resources:ResourceGroup":
            resource_id = f"/subscriptions/{subscription}/resourceGroups/{name}"
        else:
            _, module, kind = args.typ.split(":")
            group = args.inputs.get("resourceGroupName", "mock-resource-group")
            resource_id = f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{module}/{kind}/{name}"
        if args.typ == "azure-native:managedidentity:UserAssignedIdentity":
            state["principalId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"principal:{resource_id}"))
            state["clientId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"client:{resource_id}"))
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        raise UnmockedCall(f"the program invoked {args.token}; plans evaluate without live state, so invokes are not mocked")


class RecordingMonitor(pulumi.runtime.mocks.MockMonitor):
    """The mock engine, also keeping what the mocks do not see: protection and parents."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.protected: set[str] = set()
        self.parents: dict[str, str] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (the engine's RPC name)
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]  # pulumi's untyped servicer
        if request.protect:
            self.protected.add(response.urn)
        self.parents[response.urn] = request.parent
        return response


def stack_reference_outputs(reference: str) -> dict[str, Any]:
    """Placeholders for another stack's outputs, shaped like the real ones and marked as mocked."""
    stack = reference.rsplit("/", 1)[-1]
    placeholder = f"mocked-{stack}"
    return {
        "registry_name": placeholder,
        "registry_id": f"/subscriptions/{placeholder}/resourceGroups/{placeholder}/providers/Microsoft.MachineLearningServices/registries/{placeholder}",
        "resource_group": placeholder,
        "subscription_id": placeholder,
    }


def stack_config(root: Path, stack: str) -> dict[str, str]:
    """`Pulumi.<stack>.yaml`'s plain config, as the engine hands it to a program (secrets left out)."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        return {}
    data = YAML(typ="safe").load(path.read_text()) or {}
    config: dict[str, str] = {}
    for key, value in (data.get("config") or {}).items():
        if isinstance(value, dict) and "secure" in value:
            continue
        name = key if ":" in key else f"{PROJECT}:{key}"
        config[name] = value if isinstance(value, str) else json.dumps(value)
    return config


@contextmanager
def _program_imports(program: Path) -> Iterator[None]:
    """Make the program's sibling modules importable, and forget them afterwards."""
    local = {p.stem for p in program.glob("*.py")} - {"__main__"}

    def purge() -> None:
        for module in local:
            sys.modules.pop(module, None)

    purge()
    sys.path.insert(0, str(program))
    try:
        yield
    finally:
        sys.path.remove(str(program))
        purge()


def evaluate(root: Path, stack: str) -> Inventory:
    """Run `<root>/infra/__main__.py` as stack `stack` under the mocks. Raises ProgramError."""
    program = root / PROGRAM_DIR
    if not (program / "__main__.py").is_file():
        raise ProgramError(f"no Pulumi program at {program}/__main__.py")
    with _LOCK:
        mocks = RecordingMocks()
        monitor = RecordingMonitor(mocks)
        runtime_settings.ROOT.set(None)  # set_mocks makes a fresh root stack only when there is none
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor, organization=ORGANIZATION)
        pulumi.runtime.set_all_config(stack_config(root, stack), [])
        outputs: dict[str, Any] = {}

        def run() -> pulumi.Output[Any]:
            runpy.run_path(str(program / "__main__.py"), run_name="__main__")
            root_stack = runtime_settings.get_root_resource()
            return pulumi.Output.from_input(dict(root_stack.outputs)).apply(outputs.update)  # type: ignore[union-attr]

        try:
            with _program_imports(program):
                pulumi.runtime.test(run)()  # type: ignore[no-untyped-call]  # pulumi's decorator is untyped
        except UnmockedCall:
            raise
        except Exception as exc:
            raise ProgramError(f"the program failed for stack {stack!r}: {exc}") from exc
        finally:
            runtime_settings.ROOT.set(None)
        inventory = Inventory(stack, _resources(monitor, mocks), outputs)
        try:
            private_dns.check(inventory)
        except private_dns.PrivateEndpointError as exc:
            raise ProgramError(f"the program failed for stack {stack!r}: {exc}") from exc
        return inventory


def _resources(monitor: RecordingMonitor, mocks: RecordingMocks) -> list[Resource]:
    found = []
    for urn, registration in monitor.get_registered_resources().items():
        type_token, name = urn.split("::")[2].split("$")[-1], urn.split("::")[-1]
        found.append(
            Resource(
                type_token,
                name,
                urn,
                mocks.inputs[(type_token, name)],
                registration.id,
                urn in monitor.protected,
                monitor.parents.get(urn, ""),
            )
        )
    return sorted(found, key=lambda r: (r.type, r.name))
