"""Deterministic Azure names within each service's limits.

Workspaces, Key Vaults and Log Analytics workspaces are soft-deleted, and the vault has purge
protection, so a destroyed environment cannot take the same names again for weeks. Every
globally-unique or soft-deleted name therefore carries a short hash of (subscription, resource
group, generation): `amlops:generation` in the stack config is bumped to re-create an environment.
The workspace keeps the manifest's name in generation 1 so that people find it where the file says.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from dataclasses import dataclass

_ROLE_ASSIGNMENTS = uuid.UUID("5f0d6a57-3c55-4b8e-9a0e-6d1c2b4a7e10")


def digest(*parts: str, length: int = 6) -> str:
    """A short lowercase base32 hash: letters and digits, safe in every Azure name."""
    raw = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return base64.b32encode(raw).decode().lower()[:length]


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _hyphenated(text: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-")


def role_assignment_name(scope: str, role_id: str, principal_id: str) -> str:
    """Role assignment names are GUIDs, unique per (scope, role, principal) as Azure keys them."""
    return str(uuid.uuid5(_ROLE_ASSIGNMENTS, "\x1f".join((scope, role_id, principal_id))))


def role_definition_name(scope: str, role: str) -> str:
    """A custom role's GUID, stable per (scope, role): `pulumi up` then updates the same definition in place."""
    return str(uuid.uuid5(_ROLE_ASSIGNMENTS, "\x1f".join(("role-definition", scope, role))))


@dataclass(frozen=True)
class Names:
    """The names of one environment's resources."""

    environment: str
    subscription_id: str
    resource_group: str
    workspace_base: str
    generation: int = 1

    @property
    def suffix(self) -> str:
        return digest(self.subscription_id, self.resource_group.lower(), str(self.generation))

    @property
    def _short(self) -> str:
        return _hyphenated(self.environment)[:12].strip("-")

    @property
    def workspace(self) -> str:
        if self.generation == 1:
            return self.workspace_base
        tail = f"-g{self.generation}"
        return self.workspace_base[: 33 - len(tail)] + tail

    @property
    def storage_account(self) -> str:  # 3-24 lowercase letters and digits, globally unique
        return f"st{_alnum(self.environment)[:12]}{self.suffix}"

    @property
    def key_vault(self) -> str:  # 3-24, starts with a letter, globally unique, soft-deleted
        return f"kv-{self._short}-{self.suffix}"

    @property
    def container_registry(self) -> str:  # 5-50 letters and digits, globally unique
        return f"cr{_alnum(self.environment)[:12]}{self.suffix}"

    @property
    def log_analytics(self) -> str:
        return f"log-{self._short}-{self.suffix}"

    @property
    def app_insights(self) -> str:
        return f"appi-{self._short}-{self.suffix}"

    @property
    def workspace_identity(self) -> str:
        return f"id-{self._short}-workspace"

    @property
    def ci_identity(self) -> str:
        return f"id-{self._short}-github"

    @property
    def evaluate_identity(self) -> str:
        return f"id-{self._short}-evaluate"

    @property
    def virtual_network(self) -> str:
        return f"vnet-{self._short}"

    @property
    def access_network(self) -> str:
        return f"vnet-{self._short}-access"
