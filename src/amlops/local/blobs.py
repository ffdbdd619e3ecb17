"""A small Azure Blob Storage service on the local disk: what the SDK's uploads of model and code folders
use (reached through the CONNECT proxy, see server.py). Blobs are plain files, so serving processes
read models straight from `data/<account>/<container>/<blob>`.

Every request needs a container SAS the control plane handed out (a datastore's listSecrets, a pending
upload): `sas_token` signs one with the control plane's secret, `sas_allows` checks one, as Azure
Storage checks the signature, the expiry and the permission letters of a service SAS."""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import json
import os
import re
import shutil
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

_SAFE = re.compile(r"^[A-Za-z0-9._\-/ =+~@()]+$")
SAS_VERSION = "2021-08-06"
_SAS_TIME = "%Y-%m-%dT%H:%M:%SZ"
_PERMISSION = {"GET": "r", "HEAD": "r", "PUT": "w", "DELETE": "d"}  # what each method needs of `sp`


def sas_token(key: bytes, account: str, container: str, hours: float = 24, permissions: str = "racwdl") -> str:
    """A service SAS for one container (`sv=..&sr=c&sp=..&se=..&sig=..`), valid for `hours`."""
    expiry = time.strftime(_SAS_TIME, time.gmtime(time.time() + hours * 3600))
    sig = _sas_signature(key, account, container, permissions, expiry)
    return urlencode({"sv": SAS_VERSION, "sr": "c", "sp": permissions, "se": expiry, "sig": sig})


def sas_allows(key: bytes, account: str, container: str, method: str, query: dict[str, str]) -> bool:
    """Whether a request's (decoded) query carries a valid, unexpired SAS of this container for `method`."""
    if query.get("sr") != "c" or query.get("sv") != SAS_VERSION or not query.get("sig"):
        return False
    try:
        expiry = calendar.timegm(time.strptime(query.get("se", ""), _SAS_TIME))
    except ValueError:
        return False
    if expiry <= time.time() or _PERMISSION.get(method, "?") not in query.get("sp", ""):
        return False
    expected = _sas_signature(key, account, container, query.get("sp", ""), query["se"])
    return hmac.compare_digest(expected.encode(), query["sig"].encode())


def _sas_signature(key: bytes, account: str, container: str, permissions: str, expiry: str) -> str:
    to_sign = "\n".join((permissions, expiry, f"/blob/{account}/{container}", SAS_VERSION))
    return base64.urlsafe_b64encode(hmac.new(key, to_sign.encode(), "sha256").digest()).decode()


@dataclass
class BlobResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class BlobStore:
    def __init__(self, root: Path, storage_suffix: str) -> None:
        self.root = root
        self.suffix = storage_suffix
        (root / "data").mkdir(parents=True, exist_ok=True)

    # -- addressing -------------------------------------------------------------------------------
    def url(self, account: str, container: str, blob: str = "") -> str:
        return f"https://{account}.blob.{self.suffix}/{container}/{blob}".rstrip("/")

    def local_path(self, account: str, container: str, blob: str = "") -> Path:
        """Where a blob (or a virtual folder of blobs) lives on disk."""
        parts = [p for p in blob.split("/") if p]
        if any(p in (".", "..") for p in parts) or not _SAFE.match(f"{account}/{container}"):
            raise ValueError(f"bad blob name: {account}/{container}/{blob}")
        return self.root.joinpath("data", account, container, *parts)

    def path_for_url(self, url: str) -> Path | None:
        """Local path of an `https://<account>.blob.<suffix>/<container>/<path>` URL, None for other URLs."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not host.endswith(f".blob.{self.suffix}"):
            return None
        container, _, blob = unquote(parts.path).lstrip("/").partition("/")
        return self.local_path(host.split(".")[0], container, blob)

    def copy_tree(self, source: Path, account: str, container: str, prefix: str) -> Path:
        """Copy local files into a container (registry imports copy a model's bytes like Azure does)."""
        target = self.local_path(account, container, prefix)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        return target

    # -- the blob REST API --------------------------------------------------------------------------
    def handle(
        self, host: str, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> BlobResponse:
        """Answer one blob API call; `path` is URL-decoded, header names lower-cased."""
        account = host.split(".")[0]
        container, _, blob = path.lstrip("/").partition("/")
        comp, restype = query.get("comp"), query.get("restype")
        try:
            if restype == "container":
                return self._container(account, container, method, comp, query)
            if method == "PUT" and comp == "block":
                return self._put_block(account, container, blob, query["blockid"], body)
            if method == "PUT" and comp == "blocklist":
                return self._commit_blocks(account, container, blob, body, headers)
            if method == "PUT" and comp == "metadata":
                if not self.local_path(account, container, blob).is_file():
                    return blob_error(404, "BlobNotFound", blob)
                self._write_meta(account, container, blob, _metadata(headers))
                return BlobResponse(200, self._etag_headers(blob.encode()))
            if method == "PUT" and comp is None:
                return self._put(account, container, blob, body, headers)
            if method in ("GET", "HEAD") and comp is None:
                return self._get(account, container, blob, headers, head=method == "HEAD")
            if method == "DELETE" and comp is None:
                return self._delete(account, container, blob)
        except (KeyError, ValueError) as exc:
            return blob_error(400, "InvalidInput", str(exc))
        return blob_error(400, "UnsupportedOperation", f"{method} {path}")

    def _container(self, account: str, container: str, method: str, comp: str | None, query: dict[str, str]) -> BlobResponse:
        if method == "PUT":
            self.local_path(account, container).mkdir(parents=True, exist_ok=True)
            return BlobResponse(201, self._etag_headers(b"container"))
        if method == "GET" and comp == "list":
            return self._list(account, container, query.get("prefix", ""))
        if method in ("GET", "HEAD"):
            exists = self.local_path(account, container).is_dir()
            return BlobResponse(200) if exists else blob_error(404, "ContainerNotFound", container)
        return blob_error(400, "UnsupportedOperation", f"{method} container {container}")

    def _delete(self, account: str, container: str, blob: str) -> BlobResponse:
        path = self.local_path(account, container, blob)
        if not path.is_file():
            return blob_error(404, "BlobNotFound", blob)
        path.unlink()
        self._meta_path(account, container, blob).unlink(missing_ok=True)
        return BlobResponse(202)

    def _put(self, account: str, container: str, blob: str, body: bytes, headers: dict[str, str]) -> BlobResponse:
        path = self.local_path(account, container, blob)
        _write_atomic(path, body)
        self._write_meta(account, container, blob, _metadata(headers), headers.get("x-ms-blob-content-type"))
        out = self._etag_headers(body)
        out["Content-MD5"] = _b64md5(body)
        out["x-ms-request-server-encrypted"] = "false"
        return BlobResponse(201, out)

    def _put_block(self, account: str, container: str, blob: str, block_id: str, body: bytes) -> BlobResponse:
        path = self._blocks_dir(account, container, blob) / hashlib.sha256(block_id.encode()).hexdigest()
        _write_atomic(path, body)
        return BlobResponse(201, {"x-ms-request-server-encrypted": "false"})

    def _commit_blocks(self, account: str, container: str, blob: str, body: bytes, headers: dict[str, str]) -> BlobResponse:
        ids = [el.text or "" for el in ET.fromstring(body)]
        blocks = self._blocks_dir(account, container, blob)
        path = self.local_path(account, container, blob)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as out:
            for block_id in ids:
                out.write((blocks / hashlib.sha256(block_id.encode()).hexdigest()).read_bytes())
        tmp.replace(path)
        shutil.rmtree(blocks, ignore_errors=True)
        self._write_meta(account, container, blob, _metadata(headers), headers.get("x-ms-blob-content-type"))
        return BlobResponse(201, {**self._etag_headers(path.read_bytes()), "x-ms-request-server-encrypted": "false"})

    def _get(self, account: str, container: str, blob: str, headers: dict[str, str], head: bool) -> BlobResponse:
        path = self.local_path(account, container, blob)
        if not path.is_file():
            return blob_error(404, "BlobNotFound", blob, head=head)
        data = path.read_bytes()
        meta = self._read_meta(account, container, blob)
        out = {
            **self._etag_headers(data, path.stat().st_mtime),
            "x-ms-blob-type": "BlockBlob",
            "Content-Type": meta.get("content_type") or "application/octet-stream",
            "Accept-Ranges": "bytes",
            "x-ms-creation-time": formatdate(path.stat().st_mtime, usegmt=True),
        }
        out.update({f"x-ms-meta-{k}": v for k, v in meta.get("metadata", {}).items()})
        status, start, end = 200, 0, len(data) - 1
        match = re.match(r"bytes=(\d+)-(\d*)", headers.get("x-ms-range") or headers.get("range") or "")
        if match:
            status, start = 206, int(match.group(1))
            end = min(int(match.group(2) or len(data) - 1), len(data) - 1)
            out["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        body = data[start : end + 1]
        out["Content-Length"] = str(len(body))
        return BlobResponse(status, out, b"" if head else body)

    def _list(self, account: str, container: str, prefix: str) -> BlobResponse:
        base = self.local_path(account, container)
        root = ET.Element("EnumerationResults", ContainerName=self.url(account, container))
        blobs = ET.SubElement(root, "Blobs")
        if base.is_dir():
            for path in sorted(p for p in base.rglob("*") if p.is_file()):
                name = path.relative_to(base).as_posix()
                if not name.startswith(prefix):
                    continue
                item = ET.SubElement(blobs, "Blob")
                ET.SubElement(item, "Name").text = name
                props = ET.SubElement(item, "Properties")
                ET.SubElement(props, "Content-Length").text = str(path.stat().st_size)
                ET.SubElement(props, "Last-Modified").text = formatdate(path.stat().st_mtime, usegmt=True)
                ET.SubElement(props, "BlobType").text = "BlockBlob"
                meta = ET.SubElement(item, "Metadata")
                for k, v in self._read_meta(account, container, name).get("metadata", {}).items():
                    ET.SubElement(meta, k).text = v
        ET.SubElement(root, "NextMarker")
        body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root)
        return BlobResponse(200, {"Content-Type": "application/xml"}, body)

    # -- metadata sidecars ----------------------------------------------------------------------------
    def _meta_path(self, account: str, container: str, blob: str) -> Path:
        return self.root.joinpath("meta", account, container, *blob.split("/")).with_suffix(".json")

    def _blocks_dir(self, account: str, container: str, blob: str) -> Path:
        return self.root / "blocks" / hashlib.sha256(f"{account}/{container}/{blob}".encode()).hexdigest()

    def _write_meta(
        self, account: str, container: str, blob: str, metadata: dict[str, str], content_type: str | None = None
    ) -> None:
        old = self._read_meta(account, container, blob)
        doc = {"metadata": metadata, "content_type": content_type or old.get("content_type")}
        _write_atomic(self._meta_path(account, container, blob), json.dumps(doc).encode())

    def _read_meta(self, account: str, container: str, blob: str) -> dict[str, Any]:
        path = self._meta_path(account, container, blob)
        return json.loads(path.read_text()) if path.is_file() else {}

    @staticmethod
    def _etag_headers(data: bytes, mtime: float | None = None) -> dict[str, str]:
        return {
            "ETag": f'"0x{hashlib.md5(data).hexdigest()[:16].upper()}"',
            "Last-Modified": formatdate(mtime or time.time(), usegmt=True),
        }


def _metadata(headers: dict[str, str]) -> dict[str, str]:
    return {k[len("x-ms-meta-") :]: v for k, v in headers.items() if k.startswith("x-ms-meta-")}


def _b64md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def blob_error(status: int, code: str, message: str, head: bool = False) -> BlobResponse:
    body = (
        b""
        if head
        else (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>').encode()
    )
    return BlobResponse(status, {"x-ms-error-code": code, "Content-Type": "application/xml"}, body)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
