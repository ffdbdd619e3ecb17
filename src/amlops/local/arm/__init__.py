"""The ARM routes of Azure Machine Learning that azure-ai-ml calls, answered from the state store.

Resources are stored as the ARM documents they are answered with. Workspaces and registries come into
being on first reference. `ControlPlane` holds the whole route table; each resource's handlers are a
mixin in the module named after it (workspaces, registries, assets, endpoints, deployments, serverless,
operations), sharing the store through `common.PlaneBase`.
"""

from __future__ import annotations

import secrets
import threading

from amlops.local.arm.autoscale import COLLECTION, Autoscale
from amlops.local.arm.batch import Batch
from amlops.local.arm.common import ASSETS, PROVIDER, REG, RG, WS, workspace_guid
from amlops.local.arm.schedules import Schedules
from amlops.local.arm.serverless import Serverless
from amlops.local.blobs import BlobStore
from amlops.local.connection import MLTABLE_SCHEMA_PATH
from amlops.local.faults import Faults
from amlops.local.serving import Supervisor
from amlops.local.store import Store
from amlops.local.web import Route, route

HISTORY = "/history/v1.0" + WS

__all__ = ["REG", "WS", "ControlPlane", "workspace_guid"]


class ControlPlane(Schedules, Autoscale, Batch, Serverless):
    """Every ARM route, composed from the resource mixins (Deployments and Serverless bring in the rest)."""

    def __init__(
        self,
        store: Store,
        blobs: BlobStore,
        supervisor: Supervisor,
        faults: Faults,
        base_url: str,
        provisioning_delay: float = 0.0,
        sync_wait: float = 0.3,
    ) -> None:
        self.store, self.blobs, self.supervisor, self.faults = store, blobs, supervisor, faults
        self.base_url = base_url.rstrip("/")
        self.provisioning_delay = provisioning_delay
        self.sync_wait = sync_wait
        self._secret = self._server_secret()
        self._live_operations = set()
        self._scheduler_stop, self._next = threading.Event(), {}
        self.routes = self._routes()
        self.runner = self.job_runner()

    def resume(self) -> list[threading.Thread]:
        """After a restart: jobs the previous process ran are over (Failed, saying so); deployments come back."""
        self.fail_interrupted_jobs()
        self.start_scheduler()
        return super().resume()

    def stop_jobs(self) -> None:
        self.stop_scheduler()
        super().stop_jobs()

    def _routes(self) -> list[Route]:
        r: list[Route] = [
            # workspaces.py
            route("GET", RG + f"/providers/{PROVIDER}/workspaces", self.list_workspaces),
            route("GET", WS, self.get_workspace),
            route("PUT", WS, self.put_workspace),
            route("GET", WS + "/datastores", self.list_datastores),
            route("GET", WS + "/datastores/{name}", self.get_datastore),
            route("POST", WS + "/datastores/{name}/listSecrets", self.datastore_secrets, mutating=False),
            # endpoints.py
            route("GET", WS + "/onlineEndpoints", self.list_endpoints),
            route("GET", WS + "/onlineEndpoints/{endpoint}", self.get_endpoint),
            route("PUT", WS + "/onlineEndpoints/{endpoint}", self.put_endpoint),
            route("PATCH", WS + "/onlineEndpoints/{endpoint}", self.put_endpoint),
            route("DELETE", WS + "/onlineEndpoints/{endpoint}", self.delete_endpoint),
            route("POST", WS + "/onlineEndpoints/{endpoint}/listKeys", self.list_keys, mutating=False),
            route("POST", WS + "/onlineEndpoints/{endpoint}/regenerateKeys", self.regenerate_keys),
            route("POST", WS + "/onlineEndpoints/{endpoint}/token", self.endpoint_token, mutating=False),
            # deployments.py
            route("GET", WS + "/onlineEndpoints/{endpoint}/deployments", self.list_deployments),
            route("GET", WS + "/onlineEndpoints/{endpoint}/deployments/{deployment}", self.get_deployment),
            route("PUT", WS + "/onlineEndpoints/{endpoint}/deployments/{deployment}", self.put_deployment),
            route("PATCH", WS + "/onlineEndpoints/{endpoint}/deployments/{deployment}", self.put_deployment),
            route("DELETE", WS + "/onlineEndpoints/{endpoint}/deployments/{deployment}", self.delete_deployment),
            route(
                "POST",
                WS + "/onlineEndpoints/{endpoint}/deployments/{deployment}/getLogs",
                self.deployment_logs,
                mutating=False,
            ),
            # serverless.py
            route("GET", WS + "/serverlessEndpoints", self.list_serverless),
            route("GET", WS + "/serverlessEndpoints/{name}", self.get_serverless),
            route("PUT", WS + "/serverlessEndpoints/{name}", self.put_serverless),
            route("DELETE", WS + "/serverlessEndpoints/{name}", self.delete_serverless),
            route("POST", WS + "/serverlessEndpoints/{name}/listKeys", self.serverless_keys, mutating=False),
            # computes.py, jobs.py
            route("GET", WS + "/computes", self.list_computes),
            route("GET", WS + "/computes/{name}", self.get_compute),
            route("PUT", WS + "/computes/{name}", self.put_compute),
            route("DELETE", WS + "/computes/{name}", self.delete_compute),
            route("GET", WS + "/jobs", self.list_jobs),
            route("GET", WS + "/jobs/{name}", self.get_job),
            route("PUT", WS + "/jobs/{name}", self.put_job),
            route("POST", WS + "/jobs/{name}/cancel", self.cancel_job),
            # schedules.py
            route("GET", WS + "/schedules", self.list_schedules),
            route("GET", WS + "/schedules/{name}", self.get_schedule),
            route("PUT", WS + "/schedules/{name}", self.put_schedule),
            route("DELETE", WS + "/schedules/{name}", self.delete_schedule),
            route("POST", WS + "/schedules/{name}/trigger", self.trigger_schedule),
            # batch.py
            route("GET", WS + "/batchEndpoints", self.list_batch_endpoints),
            route("GET", WS + "/batchEndpoints/{endpoint}", self.get_batch_endpoint),
            route("PUT", WS + "/batchEndpoints/{endpoint}", self.put_batch_endpoint),
            route("DELETE", WS + "/batchEndpoints/{endpoint}", self.delete_batch_endpoint),
            route("GET", WS + "/batchEndpoints/{endpoint}/deployments", self.list_batch_deployments),
            route("GET", WS + "/batchEndpoints/{endpoint}/deployments/{deployment}", self.get_batch_deployment),
            route("PUT", WS + "/batchEndpoints/{endpoint}/deployments/{deployment}", self.put_batch_deployment),
            route("DELETE", WS + "/batchEndpoints/{endpoint}/deployments/{deployment}", self.delete_batch_deployment),
            route("POST", "/batchEndpoints/{guid}/{endpoint}/jobs", self.invoke_batch),
            # autoscale.py: Azure Monitor's autoscale settings, in the workspace's resource group
            route("GET", COLLECTION, self.list_autoscale),
            route("GET", COLLECTION + "/{name}", self.get_autoscale),
            route("PUT", COLLECTION + "/{name}", self.put_autoscale),
            route("DELETE", COLLECTION + "/{name}", self.delete_autoscale),
            # history.py: the data-plane services named by the workspace's discovery document
            route("GET", "/discovery", self.discovery),
            route("GET", MLTABLE_SCHEMA_PATH, self.mltable_schema),
            route("GET", HISTORY + "/runs/{run}", self.get_run),
            route("GET", HISTORY + "/runs/{run}/details", self.get_run_details),
            route("GET", HISTORY + "/runs/{run}/children", self.get_run_children),
            route("POST", HISTORY + "/rundata", self.get_run_data, mutating=False),
            route("POST", "/data/v1.0" + WS + "/dataversion/batchGetResolvedUris", self.resolve_data_uris, mutating=False),
            route("POST", "/modelregistry/v1.0" + WS + "/models/batchGetResolvedUris", self.resolve_model_uris, mutating=False),
            # operations.py
            route("GET", "/subscriptions/{sub}/providers/" + PROVIDER + "/locations/{loc}/{kind}/{op}", self.get_operation),
            # registries.py
            route("GET", "/registrymanagement/v1.0/registries/{reg}/discovery", self.registry_discovery),
            route("GET", REG, self.get_registry),
            # assets.py: a registry's uploads and imports, then every scope's asset containers and versions
            route("PUT", REG + "/tempdatarefs/{name}/versions/{version}", self.registry_temp_ref, mutating=False),
            route("POST", REG + "/datarefs/{name}/versions/{version}", self.registry_data_ref, mutating=False),
            route("POST", REG + "/import", self.registry_import),
        ]
        for scope in (WS, REG):
            for assets in ASSETS:
                base = f"{scope}/{assets}"
                r += [
                    route("GET", base, self.list_containers),
                    route("GET", base + "/{name}", self.get_container),
                    route("PUT", base + "/{name}", self.put_container),
                    route("DELETE", base + "/{name}", self.delete_container),
                    route("GET", base + "/{name}/versions", self.list_versions),
                    route("GET", base + "/{name}/versions/{version}", self.get_version),
                    route("PUT", base + "/{name}/versions/{version}", self.put_version),
                    route("DELETE", base + "/{name}/versions/{version}", self.delete_version),
                    route("POST", base + "/{name}/versions/{version}/startPendingUpload", self.pending_upload, mutating=False),
                ]
        return r

    def _server_secret(self) -> bytes:
        doc = self.store.get("/amlops/secret")
        if doc is None:
            doc = self.store.put("/amlops/secret", "secret", {"value": secrets.token_hex(32)})
        return bytes.fromhex(doc["value"])
