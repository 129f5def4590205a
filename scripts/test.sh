#!/usr/bin/env bash
# The whole test suite: type check, lint, then every unit, integration and end-to-end
# test against a real control plane. The control plane is the cluster of $KUBECONFIG
# when set, else the local one (`npm run cluster -- up`, built on the first run; stopped
# again at the end if this script started it). Prints how long each step and each test
# file took.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

timings=()
# step <name> <command...>: a set-up step, timed; a failure says which step failed.
step() {
  local name=$1 start=$SECONDS
  shift
  echo "== $name"
  if ! "$@"; then
    echo "test.sh: FAILED at the step \"$name\" ($*): its output above says why; fix that and run \`npm test\` again" >&2
    exit 1
  fi
  timings+=("$name $((SECONDS - start)) s")
}

step "setup (apt packages, npm ci)" bash scripts/setup.sh
step "type check" npx tsc --noEmit
step "lint" npx eslint --max-warnings=0 .

started_cluster=0
if [[ -z "${KUBECONFIG:-}" ]]; then
  if ! npx tsx testenv/cluster.ts status >/dev/null 2>&1; then started_cluster=1; fi
  step "control plane (built on the first run)" npx tsx testenv/cluster.ts up
  KUBECONFIG="$(npx tsx testenv/cluster.ts env)"
  export KUBECONFIG="${KUBECONFIG#export KUBECONFIG=}"
else
  # Another cluster: the chart tests still need helm and kubectl (built once, then cached).
  step "helm and kubectl" bash testenv/build.sh kubectl helm
fi
cleanup() { if ((started_cluster)) && [[ -z "${K8SMGR_KEEP_CLUSTER:-}" ]]; then npx tsx testenv/cluster.ts down || true; fi; }
trap cleanup EXIT
# The end-to-end tests' JupyterHub venv, made once here rather than by the first test file that needs it.
step "JupyterHub venv" bash scripts/hub-venv.sh

times=$(mktemp -d)
trap 'cleanup; rm -rf "$times"' EXIT
run_tests() { # run_tests <name> <concurrency> <file>...
  local name=$1 concurrency=$2 start=$SECONDS
  shift 2
  echo "== $name"
  node --import tsx --test --test-concurrency="$concurrency" --test-timeout=900000 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=./scripts/test-reporter.mjs --test-reporter-destination="$times/$name.jsonl" "$@" || status=$?
  timings+=("$name $((SECONDS - start)) s")
}

# Tests that restart the shared control plane's apiserver run alone, after the others:
# a file that starts a manager while the apiserver is down would fail for no fault of its own.
alone="test/integration/resilience.test.ts"
mapfile -t files < <(find test -name '*.test.ts' | sort | grep -vxF "$alone")
status=0
run_tests "tests" "${TEST_CONCURRENCY:-2}" "${files[@]}"
run_tests "tests that restart the apiserver (alone)" 1 "$alone"

node --import tsx scripts/test-times.ts "$times"/*.jsonl
echo "Steps: $(printf '%s; ' "${timings[@]}")all ${SECONDS} s ($((SECONDS / 60)) min $((SECONDS % 60)) s)"
exit "$status"
