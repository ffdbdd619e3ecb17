"""A deployment's `dataCollector` (REST spec DataCollector, Collection) resolved to where its rows go:
each enabled collection's data asset (`dataId`) names the datastore folder; one without a data asset
gets Azure's own, `<endpoint>-<deployment>-<collection>` version 1, a uri_folder at
`azureml://datastores/workspaceblobstore/paths/modelDataCollector/<endpoint>/<deployment>/<collection>`
(azure-ai-ml registers the same before it sends a deployment: OnlineDeploymentOperations.
_register_collection_data_assets; the studio's one-click collection for MLflow models has the service do it)."""

from __future__ import annotations

from amlops.local.arm.assets import Assets
from amlops.local.arm.common import workspace_prefix
from amlops.local.datacollector import Collection, CollectionSpec
from amlops.local.serving import ProvisionError
from amlops.local.store import Doc

DEFAULT_ROOT = "azureml://datastores/workspaceblobstore/paths/modelDataCollector"


class DataCollection(Assets):
    def register_collections(self, did: str, props: Doc) -> None:
        """Give each enabled collection without a data asset Azure's default one (in place)."""
        collector = props.get("dataCollector") or {}
        endpoint, deployment = did.split("/")[-3], did.split("/")[-1]
        for name, collection in (collector.get("collections") or {}).items():
            if _enabled(collection) and not collection.get("dataId"):
                path = f"{DEFAULT_ROOT}/{endpoint}/{deployment}/{name}"
                props = {"dataType": "uri_folder", "dataUri": path}
                doc = self._write_version(workspace_prefix(did), "data", f"{endpoint}-{deployment}-{name}", "1", props)
                collection["dataId"] = doc["id"]

    def collection_spec(self, doc: Doc) -> CollectionSpec | None:
        """The enabled collections of a deployment with the local folders their data assets name."""
        collector = doc["properties"].get("dataCollector") or {}
        collections = []
        for name, collection in (collector.get("collections") or {}).items():
            if not _enabled(collection):
                continue
            data = self._get_by_ref(collection["dataId"], "data-version", "data", doc["id"])
            folder = self.local_path(data["properties"]["dataUri"], doc["id"])
            if folder is None:
                raise ProvisionError(f"Data collection '{name}': {data['properties']['dataUri']} is not a datastore path.")
            rate = collection.get("samplingRate")
            collections.append(Collection(name.lower(), folder, 1.0 if rate is None else float(rate)))
        if not collections:
            return None
        return CollectionSpec(doc["id"], tuple(collections), collector.get("rollingRate") or "Hour")


def _enabled(collection: Doc) -> bool:
    return str(collection.get("dataCollectionMode") or "").lower() == "enabled"
