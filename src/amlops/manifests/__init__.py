"""Reading the repository: YAML with positions, schemas and cross-checks, into one desired state.

Pure: nothing here talks to Azure. The public entry points are :func:`load_environment` (one
environment file, for the infrastructure program) and :func:`load_repository` (everything, for
validate, plan and apply).
"""

from amlops.manifests.environment import Environment
from amlops.manifests.errors import ManifestError, Problem
from amlops.manifests.load import load_environment, load_repository, validate_repository
from amlops.manifests.repository import Repository

__all__ = ["Environment", "ManifestError", "Problem", "Repository", "load_environment", "load_repository", "validate_repository"]
