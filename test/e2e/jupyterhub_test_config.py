# The e2e test's hub: examples/jupyterhub_config.py as it is, plus what a test
# on one machine needs (ports, state in a temporary folder, the dummy
# authenticator) and the one change for the simulated nodes: the single-user
# server of a pod listens on 127.0.0.1 at a port of its own (test/e2e/singleuser.ts
# runs it), instead of at the Kubernetes Service <id>:8888.
import os

from jupyterhub.utils import random_port

c = get_config()  # noqa: F821
load_subconfig(os.environ["K8SMGR_EXAMPLE_CONFIG"])  # noqa: F821

state = os.environ["K8SMGR_HUB_STATE"]
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ["K8SMGR_HUB_PROXY_PORT"])
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ["K8SMGR_HUB_PORT"])
c.JupyterHub.db_url = f"sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{state}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{state}/jupyterhub.pid"
c.ConfigurableHTTPProxy.command = [os.environ["K8SMGR_CHP"]]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['K8SMGR_HUB_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.pid_file = f"{state}/proxy.pid"
c.ConfigurableHTTPProxy.should_start = True
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.log_level = "DEBUG"
# The REST API answers 202 at once instead of waiting up to 10 s for the spawn.
c.JupyterHub.tornado_settings = {"slow_spawn_timeout": 0}

c.EventBackendSpawner.service_address = "127.0.0.1"
c.EventBackendSpawner.ip = "127.0.0.1"
c.EventBackendSpawner.custom_port = lambda spawner: random_port()
c.EventBackendSpawner.poll_interval = 2_000
c.EventBackendSpawner.http_timeout = 180
