"""Identities and role assignments: managed identities for the workspace, OIDC for CI, team access.

No keys or client secrets exist anywhere: the workspace and its clusters use a user-assigned
managed identity, GitHub Actions exchanges its OIDC token for the CI identity's (a federated
credential), and people get roles through Entra ID groups. Every role is granted at the narrowest
scope that works, never at the subscription.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
from naming import role_assignment_name, role_definition_name
from pulumi_azure_native import authorization, managedidentity

#: Built-in role definition ids (the same GUID in every subscription); `infra/roles.csv` cites each.
ROLES: dict[str, str] = {
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "AzureML Data Scientist": "f6c7c914-8db3-469d-8ca1-694a8f32e121",
    "AzureML Compute Operator": "e503ece1-11d0-4e8e-8e2c-7a6c3bf38815",
    "AzureML Registry User": "1823dd4f-9b8c-4ab6-ab4e-7397a3684615",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage File Data Privileged Contributor": "69566ab7-960f-475b-8e7c-b3118f30c6bd",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Azure AI Enterprise Network Connection Approver": "b556d68e-0be0-4f35-a333-ad7ee1ce17ea",
    "Monitoring Contributor": "749f88d5-cbae-40b8-bcfc-e573ddc772fa",
}

#: What an identity that reads and writes the workspace's storage needs with shared keys off.
STORAGE_DATA_ROLES = ("Storage Blob Data Contributor", "Storage File Data Privileged Contributor")

#: The custom role of the pull requests' evaluate identity: exactly the actions `amlops evaluate` and `amlops plan`
#: call, one row each with the route that needs it and Microsoft's page naming it (`infra/evaluate-role.csv`;
#: tests/rollout/test_evaluate_role.py lists the routes both commands call on the local control plane).
EVALUATE_ROLE = "amlops evaluate"
with (Path(__file__).parent / "evaluate-role.csv").open(newline="") as _table:
    EVALUATE_ACTIONS = tuple(row["action"] for row in csv.DictReader(_table))

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"


def grant(
    name: str,
    *,
    principal_id: pulumi.Input[str],
    principal_type: str,
    role: str,
    scope: pulumi.Input[str],
    parent: pulumi.Resource,
) -> authorization.RoleAssignment:
    """Assign a built-in role. `name` is the logical name: it must not contain display names.

    The assignment's GUID is seeded from (scope, role, principal) only, as Azure keys assignments:
    renaming anything else must not plan a create and a delete of the same triple, which Azure
    refuses (RoleAssignmentExists). The role definition is named in the scope's own subscription,
    which for the shared registry is not this environment's.
    """
    return assign(name, principal_id=principal_id, principal_type=principal_type, role_id=ROLES[role], scope=scope, parent=parent)


def assign(
    name: str,
    *,
    principal_id: pulumi.Input[str],
    principal_type: str,
    role_id: pulumi.Input[str],
    scope: pulumi.Input[str],
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource] | None = None,
) -> authorization.RoleAssignment:
    """Assign the role definition with GUID `role_id`, built-in or custom (`grant` for built-in roles by name)."""
    definition = pulumi.Output.all(scope, role_id).apply(
        lambda sr: "/".join(sr[0].split("/")[:3]) + f"/providers/Microsoft.Authorization/roleDefinitions/{sr[1]}"
    )
    return authorization.RoleAssignment(
        name,
        role_assignment_name=pulumi.Output.all(scope, role_id, principal_id).apply(
            lambda srp: role_assignment_name(srp[0].lower(), srp[1], srp[2].lower())
        ),
        principal_id=principal_id,
        # Set explicitly: a just-created identity may not be found in Entra ID yet.
        principal_type=principal_type,
        role_definition_id=definition,
        scope=scope,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on or []),
    )


def evaluate_role_id(resource_group_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The evaluate role's GUID, known before the definition exists, so its assignment's GUID is stable too."""
    return pulumi.Output.from_input(resource_group_id).apply(lambda s: role_definition_name(s.lower(), EVALUATE_ROLE))


def evaluate_role(name: str, resource_group_id: pulumi.Input[str], parent: pulumi.Resource) -> authorization.RoleDefinition:
    """The evaluate identity's custom role, defined and assignable at the environment's resource group only.

    The resource group, not the workspace: the plan lists the group's autoscale settings
    (Microsoft.Insights/autoscalesettings/read is checked there), and the group holds this one workspace.
    No wildcard and no write but a job's: it cannot touch an endpoint, a deployment or traffic.
    """
    scope = pulumi.Output.from_input(resource_group_id)
    return authorization.RoleDefinition(
        name,
        role_definition_id=evaluate_role_id(scope),
        # Role names are unique per tenant: the resource group's id makes this environment's its own.
        role_name=scope.apply(lambda s: f"{EVALUATE_ROLE} {s.rsplit('/', 1)[-1]}"),
        description="Pull requests' amlops evaluate and plan: read the workspace, submit and read comparison runs.",
        role_type="CustomRole",
        permissions=[authorization.PermissionArgs(actions=list(EVALUATE_ACTIONS))],
        assignable_scopes=[scope],
        scope=scope,
        opts=pulumi.ResourceOptions(parent=parent),
    )


@dataclass
class IdentitiesArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    workspace_identity_name: str
    ci_identity_name: str
    #: `org/repo` and GitHub environment whose workflows may act as the CI identity; None: no CI.
    github: tuple[str, str] | None
    tags: dict[str, str] = field(default_factory=dict)
    #: The identity a pull request's `amlops evaluate` signs in as (with CI configured).
    evaluate_identity_name: str = ""


class Identities(pulumi.ComponentResource):
    """The workspace's identity and, with CI configured, the identity GitHub Actions signs in as."""

    def __init__(self, name: str, args: IdentitiesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("amlops:identity:Identities", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        def identity(name: str) -> managedidentity.UserAssignedIdentity:
            return managedidentity.UserAssignedIdentity(
                name,
                resource_name_=name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                tags=args.tags,
                opts=child,
            )

        def federated(identity: managedidentity.UserAssignedIdentity, logical: str, name: str, subject: str) -> None:
            managedidentity.FederatedIdentityCredential(
                logical,
                federated_identity_credential_resource_name=name[:120],
                resource_name_=identity.name,
                resource_group_name=args.resource_group_name,
                issuer=GITHUB_ISSUER,
                subject=subject,
                audiences=[TOKEN_EXCHANGE_AUDIENCE],
                opts=child,
            )

        self.workspace = identity(args.workspace_identity_name)
        self.ci: managedidentity.UserAssignedIdentity | None = None
        self.evaluate: managedidentity.UserAssignedIdentity | None = None
        if args.github:
            repository, environment = args.github
            self.ci = identity(args.ci_identity_name)
            federated(
                self.ci,
                f"{args.ci_identity_name}-github",
                f"github-{environment}",
                f"repo:{repository}:environment:{environment}",
            )
            # A pull request's job has no GitHub environment: GitHub's subject for it is `repo:<org>/<repo>:pull_request`
            # (docs.github.com, "About security hardening with OpenID Connect", filtering for pull_request events).
            # Forks get no OIDC token, so only branches of the repository itself sign in as this identity.
            self.evaluate = identity(args.evaluate_identity_name)
            federated(
                self.evaluate, f"{args.evaluate_identity_name}-github", "github-pull-request", f"repo:{repository}:pull_request"
            )
        self.register_outputs({"workspace_principal_id": self.workspace.principal_id})


@dataclass(frozen=True)
class TeamGrant:
    """An Entra ID group's built-in role at the workspace or its resource group."""

    group: str
    name: str
    role: str
    scope: str  # "workspace" | "resource_group"


@dataclass
class AccessArgs:
    resource_group_id: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    storage_id: pulumi.Input[str]
    teams: list[TeamGrant]
    ci_principal_id: pulumi.Input[str] | None = None
    #: The pull requests' evaluate identity: submits comparison runs and reads their figures, nothing else it needs.
    evaluate_principal_id: pulumi.Input[str] | None = None
    registry_id: pulumi.Input[str] | None = None
    workspace_principal_id: pulumi.Input[str] | None = None
    #: The workspace reaches the registry through a managed private endpoint it must approve.
    registry_outbound_rule: bool = False
    #: A deployment declares autoscale: CI writes its Azure Monitor autoscale setting in the resource group.
    autoscale: bool = False


def _slug(text: str) -> str:
    return text.lower().replace(" ", "-")


class Access(pulumi.ComponentResource):
    """Who may do what in this environment: teams from the manifest, the CI identity, the registry.

    Roles per identity follow `infra/role-assignments.csv`, which cites Microsoft's documentation
    for each. With shared keys off, whoever uploads models or uses datastores also needs the
    storage data roles. Logical names carry the group's object id, never its display name.
    """

    def __init__(self, name: str, args: AccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("amlops:identity:Access", name, None, opts)
        scopes = {"workspace": args.workspace_id, "resource_group": args.resource_group_id}
        for team in args.teams:
            label = f"team-{team.group}"
            grant(
                f"{label}-{_slug(team.role)}-{team.scope}",
                principal_id=team.group,
                principal_type="Group",
                role=team.role,
                scope=scopes[team.scope],
                parent=self,
            )
            if team.role in ("AzureML Data Scientist", "Contributor"):
                self._storage(label, team.group, "Group", args.storage_id)
        if args.ci_principal_id is not None:
            self._service("ci-workspace-data-scientist", args.ci_principal_id, "AzureML Data Scientist", args.workspace_id)
            self._storage("ci", args.ci_principal_id, "ServicePrincipal", args.storage_id)
            if args.autoscale:  # Microsoft.Insights/autoscalesettings/write (how-to-autoscale-endpoints#prerequisites)
                self._service("ci-monitoring-contributor", args.ci_principal_id, "Monitoring Contributor", args.resource_group_id)
        if args.evaluate_principal_id is not None:
            # Not AzureML Data Scientist, which also writes endpoints and deployments: a custom role with exactly the
            # actions evaluate and plan call (how-to-assign-roles#create-custom-role). Reading metrics.json with
            # shared keys off takes a blob data role, and reading is all it does.
            evaluate = args.evaluate_principal_id
            role = evaluate_role("evaluate-role", args.resource_group_id, self)
            assign(
                "evaluate-resource-group-evaluate-role",
                principal_id=evaluate,
                principal_type="ServicePrincipal",
                role_id=evaluate_role_id(args.resource_group_id),
                scope=args.resource_group_id,
                parent=self,
                depends_on=[role],
            )
            self._service("evaluate-storage-blob-data-reader", evaluate, "Storage Blob Data Reader", args.storage_id)
            if args.registry_id is not None:  # the plan reads registry models' versions
                self._service("evaluate-registry-reader", evaluate, "Reader", args.registry_id)
        if args.registry_id is not None:
            principals = {"workspace": args.workspace_principal_id, "ci": args.ci_principal_id}
            for who, principal in principals.items():
                if principal is not None:
                    self._service(f"{who}-registry-user", principal, "AzureML Registry User", args.registry_id)
            if args.registry_outbound_rule and args.workspace_principal_id is not None:
                approver = "Azure AI Enterprise Network Connection Approver"
                self._service("workspace-registry-connection-approver", args.workspace_principal_id, approver, args.registry_id)
        self.register_outputs({})

    def _service(self, name: str, principal: pulumi.Input[str], role: str, scope: pulumi.Input[str]) -> None:
        grant(name, principal_id=principal, principal_type="ServicePrincipal", role=role, scope=scope, parent=self)

    def _storage(self, label: str, principal: pulumi.Input[str], principal_type: str, storage_id: pulumi.Input[str]) -> None:
        for role in STORAGE_DATA_ROLES:
            grant(
                f"{label}-{_slug(role)}",
                principal_id=principal,
                principal_type=principal_type,
                role=role,
                scope=storage_id,
                parent=self,
            )
