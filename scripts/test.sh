#!/usr/bin/env bash
# The whole test suite: type check, lint, then every unit and integration test
# in one node:test run against a real control plane. The control plane is the
# cluster of $KUBECONFIG when set, else the local one (`npm run cluster -- up`,
# built on the first run; stopped again at the end if this script started it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh

echo "== type check"; npx tsc --noEmit
echo "== lint"; npx eslint --max-warnings=0 .

started_cluster=0
if [[ -z "${KUBECONFIG:-}" ]]; then
  if ! npx tsx testenv/cluster.ts status >/dev/null 2>&1; then started_cluster=1; fi
  npx tsx testenv/cluster.ts up
  export KUBECONFIG="$PWD/.testenv/kubeconfig"
else
  # Another cluster: the chart tests still need helm and kubectl (built once, then cached).
  bash testenv/build.sh kubectl helm
fi
cleanup() { if ((started_cluster)) && [[ -z "${K8SMGR_KEEP_CLUSTER:-}" ]]; then npx tsx testenv/cluster.ts down || true; fi; }
trap cleanup EXIT

echo "== tests"
# Tests that restart the shared control plane's apiserver run alone, after the others:
# a file that starts a manager while the apiserver is down would fail for no fault of its own.
alone="test/integration/resilience.test.ts"
files=$(find test -name '*.test.ts' | sort | grep -vxF "$alone")
status=0
# shellcheck disable=SC2086
node --import tsx --test --test-reporter=spec --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout=900000 $files || status=$?
echo "== tests that restart the apiserver (alone)"
node --import tsx --test --test-reporter=spec --test-concurrency=1 --test-timeout=900000 "$alone" || status=$?
exit "$status"
