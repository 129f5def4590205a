# The Outpost e2e test's hub: examples/jupyterhub_outpost_config.py as it is
# (the unmodified OutpostSpawner), plus what a test on one machine needs
# (ports, state in a temporary folder, the dummy authenticator) and, through
# the spawner's own hooks, the one change for the simulated nodes: the
# single-user server of a pod listens on 127.0.0.1 at the port the hub chose
# (test/e2e/singleuser.ts runs it), not at the Kubernetes Service the manager
# answers with. The answer itself is recorded, so the test can check it.
import base64
import json
import os

from outpostspawner.api_flavors_update import get_user_specific_flavors

c = get_config()  # noqa: F821
load_subconfig(os.environ["K8SMGR_EXAMPLE_CONFIG"])  # noqa: F821
load_subconfig(os.path.join(os.path.dirname(__file__), "jupyterhub_test_common.py"))  # noqa: F821
state = os.environ["K8SMGR_HUB_STATE"]
# A hub restart leaves the users' servers running (as on Kubernetes, Zero to JupyterHub's default).
c.JupyterHub.cleanup_servers = False

c.OutpostSpawner.custom_poll_interval = 2_000
c.OutpostSpawner.http_timeout = 60
c.OutpostSpawner.start_timeout = 120
# A spawn with {"async": "1"} in its options starts with `execution-type: async`.
c.OutpostSpawner.start_async = lambda spawner: spawner.user_options.get("async") == "1"

ANSWERS = os.path.join(state, "outpost-answers.jsonl")


def record(kind, spawner, value):
    with open(ANSWERS, "a") as f:
        f.write(json.dumps({"kind": kind, "user": spawner.user.name, "user_id": spawner.user.id, "server": spawner.name, "start_id": spawner.start_id, "value": value}) + "\n")


def pre_spawn_hook(spawner):
    # The hub's user id (what the manager labels the user's objects with), for the test.
    record("spawn", spawner, "")


c.OutpostSpawner.pre_spawn_hook = pre_spawn_hook


def update_start_response(spawner, service):
    # What the manager answered (host:port of the Service its template made).
    record("start_response", spawner, service)
    return service


def update_expected_path(spawner, url):
    # The simulated pod's stand-in listens on 127.0.0.1 at the hub's port.
    return f"http://127.0.0.1:{spawner.port}"


c.OutpostSpawner.update_start_response = update_start_response
c.OutpostSpawner.update_expected_path = update_expected_path


# An async start learns its address through the hub's SetupTunnel API (called by the manager
# when the service is ready): the default would ssh to a jump node; here it is recorded.
async def ssh_custom_forward(spawner, port_forward_info):
    record("setuptunnel", spawner, port_forward_info.get("service", ""))
    return None


async def ssh_custom_forward_remove(spawner, port_forward_info):
    return None


c.OutpostSpawner.ssh_custom_forward = ssh_custom_forward
c.OutpostSpawner.ssh_custom_forward_remove = ssh_custom_forward_remove
c.OutpostSpawner.svc_create = False


# User flavors, as sites set them up: the authenticator keeps the user's identity
# (name, groups) in auth_state, and asks the manager's POST /outpost/userflavors
# for the user's flavors with the spawner's helper; a non-empty outpost_flavors
# makes the spawner send the identity with each start ("authentication").
c.Authenticator.enable_auth_state = True


async def post_auth_hook(authenticator, handler, authentication):
    name = authentication["name"]
    groups = ["blocked"] if name.startswith("blocked") else ["gpu"] if name.startswith("gpu") else ["users"]
    credential = base64.b64encode(f"{os.environ['K8SMGR_CREDENTIAL']}:{os.environ['K8SMGR_PASSWORD']}".encode()).decode()
    system = os.environ.get("K8SMGR_SYSTEM", "k8smgr")
    found = await get_user_specific_flavors(authenticator.log, {
        system: {
            "url": f"{os.environ['K8SMGR_URL']}/outpost/userflavors",
            "body": {"name": name, "groups": groups},
            "headers": {"Authorization": f"Basic {credential}", "Content-Type": "application/json"},
        },
    })
    authentication["auth_state"] = {
        "name": name,
        "groups": groups,
        "access_token": f"access-token-of-{name}",
        "outpost_flavors": {system: found.get(system, {})},
    }
    return authentication


c.Authenticator.post_auth_hook = post_auth_hook
