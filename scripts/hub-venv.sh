#!/usr/bin/env bash
# Creates (or reuses) the Python venv with a real JupyterHub and the
# BackendSpawner that the end-to-end test (test/e2e/) runs against K8s Manager.
# Idempotent: a venv whose stamp matches the pinned versions is left as it is.
# Prints the venv's path as its last line.
#
#   bash scripts/hub-venv.sh            # create/update, print the path
#   K8SMGR_CACHE=/somewhere bash scripts/hub-venv.sh
#
# The venv lives under ${K8SMGR_CACHE:-$HOME/.cache/k8smgr}/hub-venv. It needs a
# Python >= 3.9 (python3.11 preferred; $PYTHON to choose another) and PyPI.
# configurable-http-proxy, the hub's proxy, is an npm devDependency of this repo
# (node_modules/.bin/configurable-http-proxy), not part of the venv.
set -euo pipefail

# Pinned versions: change them here, the stamp makes every machine follow.
PINS=(
  "jupyterhub==6.1.1"
  "jupyterhub-backendspawner==0.4.0"
  # The Outpost API's client (test/e2e/outpost.test.ts); it brings jupyterhub-forwardbasespawner.
  "jupyterhub-outpostspawner==2.2.13"
  # backendspawner's EventBackendSpawner imports it but does not declare it.
  "async_generator==1.10"
  # jupyterhub-singleuser needs a Jupyter server (the e2e test runs it as the
  # "container" of the simulated pods).
  "jupyter_server==2.21.1"
)

cache=${K8SMGR_CACHE:-$HOME/.cache/k8smgr}
venv=$cache/hub-venv
stamp=$venv/.k8smgr-pins

python=${PYTHON:-}
if [[ -z $python ]]; then
  for candidate in python3.11 python3.12 python3.13 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python=$candidate; break; fi
  done
fi
[[ -n $python ]] || { echo "hub-venv: no python3 found (set PYTHON)" >&2; exit 1; }

want=$(printf '%s\n' "$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" "${PINS[@]}")
if [[ -x $venv/bin/jupyterhub && -x $venv/bin/jupyterhub-singleuser && -f $stamp && $(cat "$stamp") == "$want" ]]; then
  echo "$venv"
  exit 0
fi

echo "hub-venv: creating $venv with $python (${PINS[*]})" >&2
mkdir -p "$cache"
rm -rf "$venv"
"$python" -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "${PINS[@]}" >&2
"$venv/bin/python" -c 'import jupyterhub, backendspawner, jupyter_server' >&2
printf '%s\n' "$want" >"$stamp"
echo "$venv"
