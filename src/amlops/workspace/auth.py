"""Azure credentials for amlops in GitHub Actions that outlive GitHub's OIDC token.

`azure/login` exchanges one GitHub OIDC token for Azure access once; that token lasts minutes, and a
GPU rollout with soak pauses lasts longer (azure/login #372). :class:`GitHubOidcCredential` instead
asks GitHub for a fresh OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN, audience
api://AzureADTokenExchange) every time azure-identity needs a new Azure token, and exchanges it with
`ClientAssertionCredential`; azure-identity caches the Azure token and renews it before it expires.
No secret exists anywhere: the job needs `permissions: id-token: write`, AZURE_CLIENT_ID and
AZURE_TENANT_ID, and a federated credential on the identity for the repository and environment.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from azure.core.credentials import AccessToken, AccessTokenInfo, TokenCredential
from azure.identity import ClientAssertionCredential

#: The audience Entra ID expects of a federated token.
AUDIENCE = "api://AzureADTokenExchange"


class GitHubOidcError(Exception):
    pass


class GitHubOidcCredential:
    """A TokenCredential (and SupportsTokenInfo) for a workload identity federated with GitHub Actions."""

    def __init__(self, tenant_id: str, client_id: str, request_url: str, request_token: str, **kwargs: Any) -> None:
        """`kwargs` go to ClientAssertionCredential (e.g. `authority` for another cloud)."""
        self._request_url = _with_audience(request_url)
        self._request_token = request_token
        self._credential = ClientAssertionCredential(tenant_id, client_id, self.github_token, **kwargs)

    @classmethod
    def from_environment(cls, **kwargs: Any) -> GitHubOidcCredential | None:
        """The credential when this process runs in a GitHub Actions job that may request OIDC tokens."""
        names = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        values = [os.environ.get(name) for name in names]
        return cls(*values, **kwargs) if all(values) else None  # type: ignore[arg-type]

    def github_token(self) -> str:
        """A fresh OIDC token from GitHub: called by azure-identity whenever it acquires an Azure token."""
        try:
            response = requests.get(self._request_url, headers={"Authorization": f"Bearer {self._request_token}"}, timeout=30)
            response.raise_for_status()
            return str(response.json()["value"])
        except (requests.RequestException, ValueError, KeyError) as exc:
            raise GitHubOidcError(f"GitHub's OIDC endpoint gave no token ({exc}); does the job have id-token: write?") from exc

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return self._credential.get_token(*scopes, **kwargs)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return self._credential.get_token_info(*scopes, options=options)

    def close(self) -> None:
        self._credential.close()

    def __enter__(self) -> GitHubOidcCredential:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()


def azure_credential() -> TokenCredential:
    """The credential amlops reaches Azure with: GitHub OIDC in a job that has it, else the default chain."""
    github = GitHubOidcCredential.from_environment()
    if github is not None:
        return github
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def _with_audience(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "audience"] + [("audience", AUDIENCE)]
    return urlunsplit(parts._replace(query=urlencode(query)))
