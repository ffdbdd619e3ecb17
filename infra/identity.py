"""Identities and role assignments: managed identities for the workspace, OIDC for CI, team access.

No keys or client secrets exist anywhere: the workspace and its clusters use a user-assigned
managed identity, GitHub Actions exchanges its OIDC token for the CI identity's (a federated
credential), and people get roles through Entra ID groups. Every role is granted at the narrowest
scope that works, never at the subscription.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from naming import role_assignment_name
from pulumi_azure_native import authorization, managedidentity

#: Built-in role definition ids (the same GUID in every subscription).
ROLES: dict[str, str] = {
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "AzureML Data Scientist": "f6c7c914-8db3-469d-8ca1-694a8f32e121",
    "AzureML Compute Operator": "e503ece1-11d0-4e8e-8e2c-7a6c3bf38815",
    "AzureML Registry User": "1823dd4f-9b8c-4ab6-ab4e-7397a3684615",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage File Data Privileged Contributor": "69566ab7-960f-475b-8e7c-b3118f30c6bd",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "AcrPush": "8311e382-0749-4cb8-b61a-304f252e45ec",
}

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
    """Assign a built-in role. `name` must be stable: it also seeds the assignment's GUID.

    The role definition is named in the scope's own subscription, which for the shared registry
    is not this environment's.
    """
    definition = pulumi.Output.from_input(scope).apply(
        lambda s: "/".join(s.split("/")[:3]) + f"/providers/Microsoft.Authorization/roleDefinitions/{ROLES[role]}"
    )
    return authorization.RoleAssignment(
        name,
        role_assignment_name=role_assignment_name(pulumi.get_stack(), name),
        principal_id=principal_id,
        # Set explicitly: a just-created identity may not be found in Entra ID yet.
        principal_type=principal_type,
        role_definition_id=definition,
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

        self.workspace = identity(args.workspace_identity_name)
        self.ci: managedidentity.UserAssignedIdentity | None = None
        if args.github:
            repository, environment = args.github
            self.ci = identity(args.ci_identity_name)
            managedidentity.FederatedIdentityCredential(
                f"{args.ci_identity_name}-github",
                federated_identity_credential_resource_name=f"github-{environment}"[:120],
                resource_name_=self.ci.name,
                resource_group_name=args.resource_group_name,
                issuer=GITHUB_ISSUER,
                subject=f"repo:{repository}:environment:{environment}",
                audiences=[TOKEN_EXCHANGE_AUDIENCE],
                opts=child,
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
    teams: list[TeamGrant]
    ci_principal_id: pulumi.Input[str] | None = None
    registry_id: pulumi.Input[str] | None = None
    workspace_principal_id: pulumi.Input[str] | None = None


class Access(pulumi.ComponentResource):
    """Who may do what in this environment: teams from the manifest, and the CI identity.

    CI deploys endpoints and registers releases: `AzureML Data Scientist` on the workspace and
    `AzureML Registry User` on the shared registry, nothing on the resource group or subscription.
    """

    def __init__(self, name: str, args: AccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("amlops:identity:Access", name, None, opts)
        scopes = {"workspace": args.workspace_id, "resource_group": args.resource_group_id}
        for team in args.teams:
            grant(
                f"team-{team.name}-{team.role}-{team.scope}".lower().replace(" ", "-"),
                principal_id=team.group,
                principal_type="Group",
                role=team.role,
                scope=scopes[team.scope],
                parent=self,
            )
        if args.ci_principal_id is not None:
            grant(
                "ci-workspace-data-scientist",
                principal_id=args.ci_principal_id,
                principal_type="ServicePrincipal",
                role="AzureML Data Scientist",
                scope=args.workspace_id,
                parent=self,
            )
        if args.registry_id is not None:
            principals = {"workspace": args.workspace_principal_id, "ci": args.ci_principal_id}
            for who, principal in principals.items():
                if principal is not None:
                    grant(
                        f"{who}-registry-user",
                        principal_id=principal,
                        principal_type="ServicePrincipal",
                        role="AzureML Registry User",
                        scope=args.registry_id,
                        parent=self,
                    )
        self.register_outputs({})
