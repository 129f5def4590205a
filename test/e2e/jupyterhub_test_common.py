# What every e2e test hub needs on one machine, whichever spawner it uses:
# its ports, its state in a temporary folder, configurable-http-proxy from
# node_modules, the dummy authenticator, and a REST API that answers a spawn
# request at once. Loaded by jupyterhub_test_config.py and
# jupyterhub_outpost_test_config.py after their example config.
import os

c = get_config()  # noqa: F821

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
