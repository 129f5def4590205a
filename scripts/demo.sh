#!/usr/bin/env bash
# Runs the manager with a working default setup: the cluster of $KUBECONFIG, or
# a local control plane started for you; the example templates of examples/;
# and the demo credential "demo" (password $DEMO_USER_PASS, default "demo").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
if [[ -z "${KUBECONFIG:-}" ]]; then
  npx tsx testenv/cluster.ts up
  KUBECONFIG="$(realpath "${K8SMGR_TESTENV_DIR:-.testenv}")/kubeconfig"
  export KUBECONFIG
fi
export CONFIG_PATH="${CONFIG_PATH:-$PWD/examples/config.json}"
export STAGE="${STAGE:-demo}"
export DEMO_USER_PASS="${DEMO_USER_PASS:-demo}"
export DEPLOYMENT_NAMESPACE="${DEPLOYMENT_NAMESPACE:-default}"
export PORT="${PORT:-8080}" HOST="${HOST:-127.0.0.1}"
exec node bin/k8smgr.js serve --demo-credential demo
