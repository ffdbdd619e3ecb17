"""The local Azure ML control plane: an embedded stand-in for Azure Machine Learning that the real,
unmodified azure-ai-ml SDK talks to (like SQLite standing in for a database server). It speaks Azure
ML's REST API only and knows nothing of amlops manifests or rollouts.

Public API
----------
- ``server.start(state_dir=None, port=0, *, provisioning_delay=0.0, env_cache=None, timeout=180) -> Connection``
  starts a detached server (idempotent) and returns once it answers and has restored its deployments.
- ``server.stop(state_dir=None, timeout=60) -> bool`` stops it and every serving process.
- ``server.status(state_dir=None) -> dict`` ``{"running": bool, "pid", "port", ...}``.
- ``connection.Connection.load(state_dir=None)`` reads ``<state_dir>/connection.json`` (fields:
  resource_manager, ca_bundle, proxy, no_proxy, cloud_name, cloud_metadata, subscription_id,
  resource_group, workspace_name, registry_name, storage_suffix, port, pid, state_dir, token);
  ``Connection.ca_cert`` is the local CA alone (``<state_dir>/tls/ca.pem``);
  ``Connection.env()`` gives the client environment (REQUESTS_CA_BUNDLE, HTTPS_PROXY, NO_PROXY, ...).
- ``client.ml_client(conn_or_state_dir=None, workspace=None, *, resource_group=None, registry=None)``
  returns a configured ``MLClient`` (with the token the control plane issued) and sets the environment
  variables in ``os.environ``; ``client.configure_environment(conn)`` only sets them;
  ``client.credential(conn)`` is that credential, for other clients of its routes.
- ``client.LocalAdmin(conn_or_state_dir)``: the admin routes: ``requests()``/``reset_requests()``
  (ARM read/write counters per route), ``metrics(endpoint, workspace=None, since=None)`` (per
  deployment requests, errors, latency p50/p95), ``add_faults(...)``/``clear_faults()``,
  ``create_workspace(name)``, ``create_registry(name)``, ``deployments()``, ``health()``.

Default state dir: ``$AMLOPS_LOCAL_STATE_DIR`` or ``~/.local/state/amlops/local``; served-model
environments are cached under ``$AMLOPS_ENV_CACHE`` or ``~/.cache/amlops/envs``.

Who gets in: ARM, admin (``/_local/``, faults included) and AAD-token scoring calls need the bearer token
the control plane issued (``<state_dir>/credential``, also in connection.json); blob calls need a
container SAS it handed out (datastore listSecrets, pending uploads); the state dir is 0700 and what the
server writes in it 0600; model servers listen on unix sockets there, reachable only through the
scoring router, which checks endpoint keys and tokens. Request bodies are checked against the vendored
REST API specification (arm/spec.py).

Modules: certs (local CA), connection, store (SQLite state), blobs (blob API on disk), arm (ARM
routes, a module per resource), serving (environment cache, process supervisor), router (scoring:
auth, traffic, mirror), faults, metrics, admin (``/_local/`` routes), server (HTTP/TLS/CONNECT
plumbing), lifecycle (start, stop, status, admin calls: what clients import; `server` re-exports it).
"""
