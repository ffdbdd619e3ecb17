"""Registries: created on first reference; the SDK finds one by name through the discovery route.
Their assets, uploads and model sharing are in assets.py, with the workspaces' assets."""

from __future__ import annotations

from amlops.local.arm.common import PROVIDER, REG, PlaneBase, system_data
from amlops.local.connection import DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION, LOCATION
from amlops.local.store import Doc
from amlops.local.web import Request, Response


class Registries(PlaneBase):
    def registry(self, p: dict[str, str]) -> Doc:
        """The registry of a request's path (sub and rg as the path says), created on first reference."""
        rid = REG.format(**p)
        doc = self.store.get(rid)
        if doc is None:
            doc = {
                "id": rid,
                "name": p["reg"],
                "type": f"{PROVIDER}/registries",
                "location": LOCATION,
                "tags": {},
                "properties": {
                    "discoveryUrl": f"{self.base_url}/registrymanagement/v1.0/registries/{p['reg']}/discovery",
                    "mlFlowRegistryUri": f"azureml://{LOCATION}.api.azureml.ms/mlflow/v1.0{rid}",
                    "regionDetails": [{"location": LOCATION, "storageAccountDetails": [], "acrDetails": []}],
                    "publicNetworkAccess": "Enabled",
                    "provisioningState": "Succeeded",
                },
                "systemData": system_data(),
            }
            self.store.put(rid, "registry", doc)
        return doc

    def registry_by_name(self, name: str) -> Doc | None:
        return next((d for d in self.store.of_kind("registry") if d["name"].lower() == name.lower()), None)

    def registry_discovery(self, req: Request, reg: str) -> Response:
        doc = self.registry_by_name(reg)
        if doc is None:
            doc = self.registry({"sub": DEFAULT_SUBSCRIPTION, "rg": DEFAULT_RESOURCE_GROUP, "reg": reg})
        parts = doc["id"].split("/")
        return Response.json(
            200,
            {
                "registryName": doc["name"],
                "subscriptionId": parts[2],
                "resourceGroup": parts[4],
                "primaryRegion": LOCATION,
                "primaryRegionResourceProviderUri": f"{self.base_url}/",
                "registryFqdns": {LOCATION: {"api": f"{self.base_url}/"}},
            },
        )

    def get_registry(self, req: Request, **p: str) -> Response:
        return Response.json(200, self.registry(p))
