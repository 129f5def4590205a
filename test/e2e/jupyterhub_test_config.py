# The e2e test's hub: examples/jupyterhub_config.py as it is, plus what a test
# on one machine needs (ports, state in a temporary folder, the dummy
# authenticator) and the one change for the simulated nodes: the single-user
# server of a pod listens on 127.0.0.1 at a port of its own (test/e2e/singleuser.ts
# runs it), instead of at the Kubernetes Service <id>:8888.
import os

from jupyterhub.utils import random_port

c = get_config()  # noqa: F821
load_subconfig(os.environ["K8SMGR_EXAMPLE_CONFIG"])  # noqa: F821
load_subconfig(os.path.join(os.path.dirname(__file__), "jupyterhub_test_common.py"))  # noqa: F821

c.EventBackendSpawner.service_address = "127.0.0.1"
c.EventBackendSpawner.ip = "127.0.0.1"
c.EventBackendSpawner.custom_port = lambda spawner: random_port()
c.EventBackendSpawner.poll_interval = 2_000
c.EventBackendSpawner.http_timeout = 180
