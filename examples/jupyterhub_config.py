# JupyterHub configuration that starts each user's server through K8s Manager,
# with the EventBackendSpawner of `jupyterhub-backendspawner` (PyPI).
# Every line is explained in docs/jupyterhub.md.
#
# Settings come from the hub's environment:
#   K8SMGR_URL                 K8s Manager's base URL, e.g. http://k8smgr.k8smgr.svc:8080
#   K8SMGR_CREDENTIAL          the hub's credential at K8s Manager (a user with access_to_webservice)
#   K8SMGR_PASSWORD            its password (<CREDENTIAL>_USER_PASS on the manager's side)
#   K8SMGR_TOKEN               or a token (`k8smgr user token <credential>`) instead of the password
#   K8SMGR_DEFAULT_SERVICE     user_options.service when the user chose none (default jupyterlab/default)
#   K8SMGR_SERVICE_NAMESPACE   namespace of the users' services, when it is not the hub's
#   K8SMGR_SERVICE_PORT        port of the Service the template creates (default 8888)
#   K8SMGR_CA_CERTS            CA file to verify K8s Manager's certificate (https only)
import base64
import hashlib
import os
import re

import backendspawner  # noqa: F401  registers the hub's /api/users/progress/... handlers
from jupyterhub.utils import url_path_join

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

K8SMGR_URL = os.environ.get("K8SMGR_URL", "http://k8smgr:8080").rstrip("/")
K8SMGR_CREDENTIAL = os.environ.get("K8SMGR_CREDENTIAL", "jupyterhub")
K8SMGR_PASSWORD = os.environ.get("K8SMGR_PASSWORD", "")
K8SMGR_TOKEN = os.environ.get("K8SMGR_TOKEN", "")
DEFAULT_SERVICE = os.environ.get("K8SMGR_DEFAULT_SERVICE", "jupyterlab/default")
SERVICE_NAMESPACE = os.environ.get("K8SMGR_SERVICE_NAMESPACE", "")
SERVICE_PORT = int(os.environ.get("K8SMGR_SERVICE_PORT", "8888"))

if K8SMGR_TOKEN:
    AUTHORIZATION = f"token {K8SMGR_TOKEN}"
else:
    AUTHORIZATION = "Basic " + base64.b64encode(
        f"{K8SMGR_CREDENTIAL}:{K8SMGR_PASSWORD}".encode()
    ).decode()


def servername(spawner):
    """The manager's name for this server (its `uuidcode`): a Kubernetes-safe,
    deterministic name per user and server, at most 49 characters."""
    raw = f"{spawner.user.name}-{spawner.name or 'default'}"
    readable = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")[:40].strip("-")
    digest = hashlib.sha256(f"{spawner.user.name}\0{spawner.name}".encode()).hexdigest()[:8]
    return f"{readable}-{digest}" if readable else digest


def headers(spawner):
    return {"Authorization": AUTHORIZATION, "uuidcode": servername(spawner)}


def headers_start(spawner):
    return {**headers(spawner), "Content-Type": "application/json"}


def service_url(spawner):
    return f"{K8SMGR_URL}/api/services/{servername(spawner)}/"


def request_body_start(spawner):
    env = spawner.get_env()
    # K8s Manager wants the hub's user id (an integer) ...
    env["JUPYTERHUB_USER_ID"] = spawner.user.id
    # ... and an absolute status URL for its progress events (the spawner's is
    # relative to the hub API).
    env["JUPYTERHUB_STATUS_URL"] = url_path_join(
        env["JUPYTERHUB_API_URL"], spawner.status_update_url(spawner.name)
    )
    user_options = dict(spawner.user_options or {})
    user_options.setdefault("service", DEFAULT_SERVICE)
    body = {"start_id": spawner.start_id, "user_options": user_options, "env": env}
    if spawner.internal_ssl and spawner.cert_paths:
        certs = {}
        for key in ("keyfile", "certfile", "cafile"):
            with open(spawner.cert_paths[key]) as f:
                certs[key] = f.read()
        body["certs"] = certs
    return body


def service_address(spawner):
    # The Kubernetes Service the template names <id> = <servername>-<start_id>.
    name = f"{servername(spawner)}-{spawner.start_id}"
    return f"{name}.{SERVICE_NAMESPACE}.svc" if SERVICE_NAMESPACE else name


def request_kwargs(spawner):
    kwargs = {"request_timeout": 60}
    if os.environ.get("K8SMGR_CA_CERTS"):
        kwargs["ca_certs"] = os.environ["K8SMGR_CA_CERTS"]
    return kwargs


c.JupyterHub.spawner_class = "backendspawner.EventBackendSpawner"
c.JupyterHub.allow_named_servers = True

c.EventBackendSpawner.request_url_start = f"{K8SMGR_URL}/api/services/"
c.EventBackendSpawner.request_headers_start = headers_start
c.EventBackendSpawner.request_body_start = request_body_start
c.EventBackendSpawner.request_url_poll = service_url
c.EventBackendSpawner.request_headers_poll = headers
c.EventBackendSpawner.request_url_stop = service_url
c.EventBackendSpawner.request_headers_stop = headers
c.EventBackendSpawner.request_kwargs = request_kwargs

c.EventBackendSpawner.service_address = service_address
c.EventBackendSpawner.custom_port = SERVICE_PORT
c.EventBackendSpawner.ip = "0.0.0.0"
c.EventBackendSpawner.poll_interval = 30_000  # milliseconds
c.EventBackendSpawner.http_timeout = 600
c.EventBackendSpawner.start_timeout = 120
