"""The one edge to Azure ML: the workspace interface, its azure-ai-ml implementation, and an in-memory twin.

Capabilities speak :class:`~amlops.workspace.interface.Workspace`; `open_workspace` gives the SDK
one for an environment (Azure, or the local control plane), `MemoryWorkspace` the twin for tests.
"""

from amlops.workspace.interface import Workspace
from amlops.workspace.open import open_workspace, registry_name

__all__ = ["Workspace", "open_workspace", "registry_name"]
