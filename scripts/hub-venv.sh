#!/usr/bin/env bash
# Creates (or reuses) the Python venv with a real JupyterHub, the BackendSpawner and the
# OutpostSpawner that the end-to-end tests (test/e2e/) run against K8s Manager.
# Prints the venv's path as its last line.
#
#   bash scripts/hub-venv.sh            # create if needed, print the path
#   K8SMGR_CACHE=/somewhere bash scripts/hub-venv.sh
#
# The venv is ${K8SMGR_CACHE:-$HOME/.cache/k8smgr}/hub-venv-<hash>, the hash of the
# Python it is made with and of the pins below: a change of either makes a new venv, and
# a complete venv is never changed. Safe to run several times at once (test files do):
# one creates it under a lock while the others wait (scripts/cache.sh); a venv is not
# relocatable, so it is built in its final folder and only a completion stamp, written
# last, makes it usable. Old hub-venv-* folders are not removed: delete them when no
# test runs. It needs a Python >= 3.9 (python3.11 preferred; $PYTHON to choose another)
# and PyPI. configurable-http-proxy, the hub's proxy, is an npm devDependency of this
# repo (node_modules/.bin/configurable-http-proxy), not part of the venv.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/cache.sh
source "$here/cache.sh"
CACHE_PREFIX=hub-venv

# Pinned versions: change them here; the hash of the folder makes every machine follow.
PINS=(
  "jupyterhub==6.1.1"
  "jupyterhub-backendspawner==0.4.0"
  # The Outpost API's client (test/e2e/outpost*.test.ts); it brings jupyterhub-forwardbasespawner 2.1.2.
  "jupyterhub-outpostspawner==2.2.13"
  # backendspawner's EventBackendSpawner imports it but does not declare it.
  "async_generator==1.10"
  # jupyterhub-singleuser needs a Jupyter server (the e2e tests run it as the
  # "container" of the simulated pods).
  "jupyter_server==2.21.1"
)

python=${PYTHON:-}
if [[ -z $python ]]; then
  for candidate in python3.11 python3.12 python3.13 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python=$candidate; break; fi
  done
fi
if [[ -z $python ]] || ! pyinfo=$("$python" -c 'import sys; assert sys.version_info >= (3, 9); print(sys.executable, sys.version.split()[0])' 2>/dev/null); then
  echo "hub-venv: no Python >= 3.9 found (step: the JupyterHub venv for the end-to-end tests). Install python3 (Debian: apt-get install python3 python3-venv) or set PYTHON=/path/to/python3.x" >&2
  exit 1
fi

cache=${K8SMGR_CACHE:-$HOME/.cache/k8smgr}
key="$pyinfo ${PINS[*]}"
venv=$cache/hub-venv-$(printf '%s' "$key" | cache_hash)

make_venv() { # make_venv <venv>
  "$python" -m venv "$1"
  "$1/bin/python" -m pip install --disable-pip-version-check --no-input --progress-bar off "${PINS[@]}"
  "$1/bin/python" -c 'import jupyterhub, backendspawner, outpostspawner, jupyter_server'
  [[ -x $1/bin/jupyterhub && -x $1/bin/jupyterhub-singleuser ]]
}

cache_fill "the JupyterHub venv ($python, jupyterhub ${PINS[0]#*==}; about 30 s)" "$venv" "$key" inplace \
  "check that $python can create a venv (Debian: apt-get install python3-venv) and that PyPI answers (pip's proxy settings); then run \`bash scripts/hub-venv.sh\` again" \
  make_venv
echo "$venv"
