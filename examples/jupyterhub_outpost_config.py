# JupyterHub configuration that starts each user's server through K8s Manager's
# JupyterHub Outpost API, with the unmodified OutpostSpawner of
# `jupyterhub-outpostspawner` (PyPI). A hub that already uses a JupyterHub
# Outpost changes only `request_url` (and the credentials). Every line is
# explained in docs/outpost.md.
#
# Settings come from the hub's environment:
#   K8SMGR_URL          K8s Manager's base URL, e.g. http://k8smgr.k8smgr.svc:8080
#   K8SMGR_OUTPOST_PATH the Outpost API's base path at the manager (default /outpost)
#   K8SMGR_CREDENTIAL   the hub's credential at K8s Manager (a user with access_to_webservice)
#   K8SMGR_PASSWORD     its password (<CREDENTIAL>_USER_PASS on the manager's side)
#   K8SMGR_SYSTEM       the name the hub gives this Outpost in its flavor UI (default k8smgr)
#   K8SMGR_FLAVORS_TOKEN  a hub API token with the scope custom:outpostflavors:set, for the
#                       manager's flavor usage pushes (optional)
import base64
import os

import outpostspawner  # noqa: F401  registers the hub's /api/users/progress/events, setuptunnel and outpostflavors handlers

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

K8SMGR_URL = os.environ.get("K8SMGR_URL", "http://k8smgr:8080").rstrip("/")
OUTPOST_PATH = os.environ.get("K8SMGR_OUTPOST_PATH", "/outpost").rstrip("/")
CREDENTIAL = os.environ.get("K8SMGR_CREDENTIAL", "jupyterhub")
PASSWORD = os.environ.get("K8SMGR_PASSWORD", "")
SYSTEM = os.environ.get("K8SMGR_SYSTEM", "k8smgr")
FLAVORS_TOKEN = os.environ.get("K8SMGR_FLAVORS_TOKEN", "")

c.JupyterHub.spawner_class = "outpostspawner.OutpostSpawner"
# The spawner's poll and stop URLs carry the server name: only named servers work.
c.JupyterHub.allow_named_servers = True

c.OutpostSpawner.request_url = f"{K8SMGR_URL}{OUTPOST_PATH}/services"
c.OutpostSpawner.request_headers = {
    "Authorization": "Basic " + base64.b64encode(f"{CREDENTIAL}:{PASSWORD}".encode()).decode(),
}
# A synchronous start answers when the service is ready, within the manager's
# outpost.ready_timeout_seconds (default 15 s); give the request a little more.
c.OutpostSpawner.request_kwargs_start = {"request_timeout": 30}
c.OutpostSpawner.custom_poll_interval = 30_000  # milliseconds


def custom_env(spawner, user_options, jupyterhub_api_url):
    """Where the manager pushes this hub's flavor usage (the hub's flavor UI)."""
    env = {"JUPYTERHUB_FLAVORS_UPDATE_URL": f"{jupyterhub_api_url.rstrip('/')}/outpostflavors/{SYSTEM}"}
    if FLAVORS_TOKEN:
        env["JUPYTERHUB_FLAVORS_UPDATE_TOKEN"] = FLAVORS_TOKEN
    return env


c.OutpostSpawner.custom_env = custom_env

# The scope the manager's usage pushes need, granted to the token above (a hub service of its own).
c.JupyterHub.custom_scopes = {
    "custom:outpostflavors:set": {"description": "Tell the hub the flavor usage of an Outpost"},
}
if FLAVORS_TOKEN:
    c.JupyterHub.services = [{"name": "k8smgr-flavors", "api_token": FLAVORS_TOKEN}]
    c.JupyterHub.load_roles = [
        {"name": "k8smgr-flavors", "scopes": ["custom:outpostflavors:set"], "services": ["k8smgr-flavors"]},
    ]
