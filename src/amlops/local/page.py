"""A read-only page of what the local control plane holds, at the paths Azure ML studio uses.

`/ui/` lists the workspaces; under it, each page has studio's path and `wsid` query
(`/ui/endpoints/realtime/<endpoint>/detail?wsid=...`, `.../logs?...&deployment=<d>`,
`/ui/model/<name>:<version>/details?wsid=...`, `/ui/runs?wsid=...`), so the links amlops prints for
Azure (`amlops.workspace.studio`) and for this plane have one shape. Plain HTML: no script runs.

The page is behind a key of its own, since a browser sends no bearer token: `<state dir>/page.key`,
readable by its owner only. `/ui/login?key=<key>` sets it as an HttpOnly, Secure, SameSite=Strict
cookie; every other page answers 401 without it. Nothing here writes to the store.
"""

from __future__ import annotations

import hmac
import html
import json
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from amlops.local.arm import ControlPlane
from amlops.local.store import Doc
from amlops.local.web import Request, Response

PREFIX = "/ui"
KEY_FILE = "page.key"
COOKIE = "amlops_page"
#: No script, no frames, no requests elsewhere: styles inline, links to this page only.
HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}
STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}th{background:#f3f3f3}"
    "pre{background:#f6f6f6;padding:1em;overflow:auto}.ok{color:#080}.bad{color:#b00}nav a{margin-right:1em}"
)


def page_key(state_dir: Path) -> str:
    """The page's key, made on first use, readable only by the owner of the state directory."""
    path = state_dir / KEY_FILE
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def table(head: list[str], rows: list[list[str]]) -> str:
    """`rows` hold HTML already escaped (cells are built with `e` and `link`)."""
    if not rows:
        return "<p>none</p>"
    cells = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return "<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + f"</tr>{cells}</table>"


def link(href: str, text: object) -> str:
    return f'<a href="{e(href)}">{e(text)}</a>'


def split(shares: dict[str, int] | None) -> str:
    return ", ".join(f"{name} {share} %" for name, share in sorted((shares or {}).items()) if share) or "none"


class Page:
    def __init__(self, plane: ControlPlane, state_dir: Path) -> None:
        self.plane, self.key = plane, page_key(state_dir)

    # -- routing and the key --------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        if req.method != "GET":
            return self._html(405, "Method not allowed", "<p>This page is read-only.</p>")
        path = unquote(req.path[len(PREFIX) :]) or "/"
        if path == "/login":
            return self._login(req)
        if not self._authorised(req):
            return self._html(401, "Sign in", "<p>Open the link <code>amlops local page</code> prints.</p>")
        wsid = req.query.get("wsid", "")
        workspace = self._workspace(wsid) if wsid else None
        if path == "/":
            return self._workspaces()
        if workspace is None:
            return self._html(404, "Not found", f"<p>No workspace {e(wsid)}. {link(PREFIX + '/', 'All workspaces')}</p>")
        parts = [p for p in path.split("/") if p]
        if parts == ["endpoints"]:
            return self._endpoints(workspace)
        if len(parts) == 4 and parts[:2] == ["endpoints", "realtime"] and parts[3] in ("detail", "logs"):
            if parts[3] == "logs":
                return self._logs(workspace, parts[2], req.query.get("deployment", ""))
            return self._endpoint(workspace, parts[2])
        if parts == ["models"]:
            return self._models(workspace)
        if len(parts) == 3 and parts[0] == "model" and parts[2] == "details" and ":" in parts[1]:
            return self._model(workspace, *parts[1].rsplit(":", 1))
        if parts == ["runs"]:
            return self._runs(workspace)
        return self._html(404, "Not found", f"<p>No page {e(path)}.</p>")

    def _login(self, req: Request) -> Response:
        given = req.query.get("key", "")
        if not hmac.compare_digest(given.encode(), self.key.encode()):
            return self._html(401, "Sign in", "<p>That key is not this control plane's.</p>")
        cookie = f"{COOKIE}={self.key}; Path={PREFIX}; HttpOnly; Secure; SameSite=Strict"
        return Response(303, b"", {"Location": PREFIX + "/", "Set-Cookie": cookie, "Cache-Control": "no-store"})

    def _authorised(self, req: Request) -> bool:
        cookies = dict(part.strip().split("=", 1) for part in req.headers.get("cookie", "").split(";") if "=" in part)
        return hmac.compare_digest(cookies.get(COOKIE, "").encode(), self.key.encode())

    # -- reads ------------------------------------------------------------------------------------------
    def _workspace(self, wsid: str) -> Doc | None:
        return self.plane.store.get(wsid)

    def _url(self, workspace: Doc, path: str, **query: str) -> str:
        extra = "".join(f"&{k}={quote(v, safe='')}" for k, v in query.items())
        return f"{PREFIX}/{path}?wsid={workspace['id']}{extra}"

    def _nav(self, workspace: Doc) -> str:
        pages = [("endpoints", "Endpoints"), ("models", "Models"), ("runs", "Runs")]
        items = [link(PREFIX + "/", "Workspaces")] + [link(self._url(workspace, p), label) for p, label in pages]
        return f"<nav>{''.join(items)}</nav><p>workspace <b>{e(workspace['name'])}</b></p>"

    def _workspaces(self) -> Response:
        rows = [
            [
                e(w["name"]),
                link(self._url(w, "endpoints"), "endpoints"),
                link(self._url(w, "models"), "models"),
                link(self._url(w, "runs"), "runs"),
            ]
            for w in sorted(self.plane.store.of_kind("workspace"), key=lambda w: w["name"])
        ]
        return self._html(200, "Workspaces", table(["workspace", "", "", ""], rows))

    def _endpoint_docs(self, workspace: Doc) -> list[Doc]:
        return sorted(self.plane.store.children(workspace["id"] + "/onlineEndpoints", "endpoint"), key=lambda d: d["name"])

    def _deployments(self, endpoint: Doc) -> list[Doc]:
        return sorted(self.plane.store.children(endpoint["id"] + "/deployments", "deployment"), key=lambda d: d["name"])

    def _endpoints(self, workspace: Doc) -> Response:
        rows = []
        for endpoint in self._endpoint_docs(workspace):
            p, tags = endpoint["properties"], endpoint.get("tags") or {}
            rows.append(
                [
                    link(self._url(workspace, f"endpoints/realtime/{endpoint['name']}/detail"), endpoint["name"]),
                    e(p.get("provisioningState")),
                    e(split(p.get("traffic"))),
                    e(split(p.get("mirrorTraffic"))),
                    e(tags.get("amlops.endpoint_release", "-")),
                ]
            )
        body = self._nav(workspace) + table(["endpoint", "state", "traffic", "mirror", "release"], rows)
        return self._html(200, "Endpoints", body)

    def _endpoint(self, workspace: Doc, name: str) -> Response:
        endpoint = self.plane.store.get(f"{workspace['id']}/onlineEndpoints/{name}")
        if endpoint is None:
            return self._html(404, "Not found", self._nav(workspace) + f"<p>No endpoint {e(name)}.</p>")
        p, tags = endpoint["properties"], endpoint.get("tags") or {}
        traffic, mirror = p.get("traffic") or {}, p.get("mirrorTraffic") or {}
        rows = []
        for d in self._deployments(endpoint):
            dp = d["properties"]
            state = dp.get("provisioningState")
            rows.append(
                [
                    e(d["name"]),
                    self._model_link(workspace, dp.get("model")),
                    f'<span class="{"ok" if state == "Succeeded" else "bad"}">{e(state)}</span>',
                    e(f"{(d.get('sku') or {}).get('capacity', '?')} x {dp.get('instanceType')}"),
                    e(f"{traffic.get(d['name'], 0)} %"),
                    e(f"{mirror.get(d['name'], 0)} %"),
                    link(self._url(workspace, f"endpoints/realtime/{name}/logs", deployment=d["name"]), "logs"),
                ]
            )
        body = self._nav(workspace) + f"<p>scoring URI <code>{e(p.get('scoringUri'))}</code>, auth {e(p.get('authMode'))}</p>"
        body += f"<p>traffic: {e(split(traffic))}; mirror: {e(split(mirror))}</p>"
        body += "<h2>Deployments</h2>" + table(["deployment", "model", "state", "instances", "traffic", "mirror", ""], rows)
        body += "<h2>Autoscale</h2>" + self._autoscale(endpoint)
        body += "<h2>Rollout</h2>" + self._rollout(tags)
        body += "<h2>Tags</h2>" + table(["tag", "value"], [[e(k), f"<code>{e(v)}</code>"] for k, v in sorted(tags.items())])
        return self._html(200, f"Endpoint {name}", body)

    def _autoscale(self, endpoint: Doc) -> str:
        """The Azure Monitor autoscale settings recorded for the endpoint's deployments (recorded, not acted on)."""
        group = "/".join(endpoint["id"].split("/")[:5])
        settings = self.plane.store.children(f"{group}/providers/microsoft.insights/autoscalesettings", "autoscale")
        prefix = endpoint["id"].lower() + "/deployments/"
        rows = []
        for s in settings:
            props = s["properties"]
            if not props["targetResourceUri"].lower().startswith(prefix):
                continue
            for profile in props["profiles"]:
                c, schedule = profile["capacity"], (profile.get("recurrence") or {}).get("schedule")
                when = (
                    f"{','.join(schedule['days'])} at {', '.join(f'{h:02d}:{m:02d}' for h in schedule['hours'] for m in schedule['minutes'])}"
                    f" {schedule['timeZone']}"
                    if schedule
                    else "always"
                )
                rules = "; ".join(
                    f"{r['metricTrigger']['metricName']} {r['metricTrigger']['operator']} {r['metricTrigger']['threshold']}"
                    f" -> {r['scaleAction']['direction']} {r['scaleAction'].get('value', '1')}"
                    for r in profile["rules"]
                )
                target = props["targetResourceUri"].rsplit("/", 1)[-1]
                rows.append(
                    [
                        e(s["name"]),
                        e(target),
                        e(profile["name"]),
                        e(f"{c['minimum']}-{c['maximum']} ({c['default']})"),
                        e(when),
                        e(rules),
                    ]
                )
        if not rows:
            return "<p>no autoscale setting</p>"
        note = "<p>recorded as Azure Monitor would keep them; local deployments keep their instance count</p>"
        return note + table(["setting", "deployment", "profile", "instances", "from", "rules"], rows)

    def _rollout(self, tags: dict[str, str]) -> str:
        """The last rollout and its steps' gate figures, from the tags amlops keeps on the endpoint."""
        rollout, measured = _json(tags.get("amlops.rollout")), _json(tags.get("amlops.measured"))
        if not isinstance(rollout, dict):
            return "<p>no rollout recorded</p>"
        step = rollout.get("step")
        at = f"step {step + 1}" if isinstance(step, int) and step >= 0 else "before its first step"
        summary = (
            f"<p>from {e(rollout.get('from') or '(new)')} to {e(rollout.get('to'))}: <b>{e(rollout.get('st'))}</b>, {e(at)}</p>"
        )
        if tags.get("amlops.reason"):
            summary += f"<p>reason: {e(tags['amlops.reason'])}</p>"
        rows = [
            [e(step + 1), e(requests), e(errors), e("n/a" if p95 is None else f"{p95} ms"), e("passed" if passed else "failed")]
            for step, requests, errors, p95, passed in (measured if isinstance(measured, list) else [])
        ]
        return summary + table(["step", "requests", "errors", "p95", "gate"], rows)

    def _logs(self, workspace: Doc, endpoint: str, deployment: str) -> Response:
        did = f"{workspace['id']}/onlineEndpoints/{endpoint}/deployments/{deployment}"
        if self.plane.store.get(did) is None:
            return self._html(404, "Not found", self._nav(workspace) + f"<p>No deployment {e(deployment)}.</p>")
        text = self.plane.supervisor.read_log(self.plane.serving_key(did), 200)
        back = link(self._url(workspace, f"endpoints/realtime/{endpoint}/detail"), endpoint)
        return self._html(200, f"Logs of {deployment}", self._nav(workspace) + f"<p>{back}</p><pre>{e(text)}</pre>")

    def _model_docs(self, workspace: Doc) -> list[tuple[str, Doc]]:
        found = []
        for container in self.plane.store.children(workspace["id"] + "/models", "models-container"):
            for version in self.plane.store.children(container["id"] + "/versions", "models-version"):
                found.append((container["name"], version))
        return sorted(found, key=lambda m: (m[0], m[1]["name"]))

    def _model_link(self, workspace: Doc, model_id: str | None) -> str:
        parts = (model_id or "").split("/")
        if len(parts) >= 4 and parts[-2].lower() == "versions" and parts[-4].lower() == "models":
            return link(self._url(workspace, f"model/{parts[-3]}:{parts[-1]}/details"), f"{parts[-3]}:{parts[-1]}")
        return e(model_id or "-")

    def _models(self, workspace: Doc) -> Response:
        rows = [
            [
                link(self._url(workspace, f"model/{name}:{v['name']}/details"), f"{name}:{v['name']}"),
                e(v["properties"].get("modelType")),
                e(v["properties"].get("description")),
            ]
            for name, v in self._model_docs(workspace)
        ]
        return self._html(200, "Models", self._nav(workspace) + table(["model", "type", "description"], rows))

    def _model(self, workspace: Doc, name: str, version: str) -> Response:
        doc = self.plane.store.get(f"{workspace['id']}/models/{name}/versions/{version}")
        if doc is None:
            return self._html(404, "Not found", self._nav(workspace) + f"<p>No model {e(name)}:{e(version)}.</p>")
        p = doc["properties"]
        rows = [[e(k), e(p.get(k))] for k in ("modelType", "description", "modelUri")]
        rows += [[e(f"tag {k}"), f"<code>{e(v)}</code>"] for k, v in sorted((p.get("tags") or {}).items())]
        return self._html(200, f"Model {name}:{version}", self._nav(workspace) + table(["", ""], rows))

    def _runs(self, workspace: Doc) -> Response:
        jobs = self.plane.store.children(workspace["id"] + "/jobs", "job")
        rows = [[e(j["name"]), e((j.get("properties") or {}).get("status"))] for j in jobs]
        return self._html(200, "Runs", self._nav(workspace) + table(["run", "status"], rows))

    @staticmethod
    def _html(status: int, title: str, body: str) -> Response:
        text = (
            f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{e(title)} · amlops local</title>"
            f"<style>{STYLE}</style></head><body><h1>{e(title)}</h1>{body}</body></html>"
        )
        return Response(status, text.encode(), dict(HEADERS))


def _json(text: str | None) -> Any:
    try:
        return json.loads(text or "")
    except ValueError:
        return None
