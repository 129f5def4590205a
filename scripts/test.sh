#!/usr/bin/env bash
# The whole test suite: type check, lint, then every unit, integration and end-to-end
# test against a real control plane. The control plane is the cluster of $KUBECONFIG
# when set, else the local one (`npm run cluster -- up`, built on the first run; stopped
# again at the end if this script started it). Prints how long each step and each test
# file took.
#
# Test files run side by side, $TEST_CONCURRENCY (default 3) at a time, in two runs:
#   1. the end-to-end and integration files, longest first (scripts/run-tests.ts, by the
#      times of the last run in node_modules/.cache/k8smgr/test-times.json; files without
#      a time first), so that no long file starts last and ends late;
#   2. the files that must not overlap with those of run 1: resilience.test.ts (it kills
#      and restarts the apiserver of a second control plane, whose restart has starved
#      managers of other files of CPU until they missed their readiness deadline), beside
#      the unit tests, which start no manager and need no cluster.
# shellcheck disable=SC2317  # (functions called through step and trap)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

timings=()
# step <name> <command...>: a set-up step, timed; a failure says which step failed.
step() {
  local name=$1 start=$SECONDS
  shift
  echo "== $name"
  if ! "$@"; then
    echo "test.sh: FAILED at the step \"$name\": its output above says why; fix that and run \`npm test\` again" >&2
    exit 1
  fi
  timings+=("$name $((SECONDS - start)) s")
}

# The type check and the lint, side by side (one core each); the output of one that fails.
checks() {
  local out status=0
  out=$(mktemp -d)
  npx tsc --noEmit >"$out/type-check" 2>&1 &
  local tsc=$!
  npx eslint --max-warnings=0 . >"$out/lint" 2>&1 &
  local eslint=$!
  wait "$tsc" || { echo "type check (tsc --noEmit) FAILED:"; cat "$out/type-check"; status=1; }
  wait "$eslint" || { echo "lint (eslint --max-warnings=0 .) FAILED:"; cat "$out/lint"; status=1; }
  rm -rf "$out"
  return "$status"
}

step "setup (apt packages, npm ci)" bash scripts/setup.sh
step "type check and lint" checks

started_cluster=0
times=$(mktemp -d)
cleanup() {
  rm -rf "$times"
  if ((started_cluster)) && [[ -z "${K8SMGR_KEEP_CLUSTER:-}" ]]; then npx tsx testenv/cluster.ts down || true; fi
}
trap cleanup EXIT
if [[ -z "${KUBECONFIG:-}" ]]; then
  if ! npx tsx testenv/cluster.ts status >/dev/null 2>&1; then started_cluster=1; fi
  step "control plane (built on the first run)" npx tsx testenv/cluster.ts up
  KUBECONFIG="$(realpath "${K8SMGR_TESTENV_DIR:-.testenv}")/kubeconfig"
  export KUBECONFIG
fi
# helm and kubectl for the chart tests (built on the first run, then cached).
step "helm and kubectl" bash testenv/build.sh kubectl helm
# The end-to-end tests' JupyterHub venv, made once here rather than by the first test file that needs it.
step "JupyterHub venv" bash scripts/hub-venv.sh

status=0
record=node_modules/.cache/k8smgr/test-times.json
run_tests() { # run_tests <name> <file>...
  local name=$1 start=$SECONDS
  shift
  echo "== $name"
  node --import tsx scripts/run-tests.ts --concurrency "${TEST_CONCURRENCY:-3}" --record "$record" --times "$times/$name.jsonl" "$@" || status=$?
  timings+=("$name $((SECONDS - start)) s")
}

alone=test/integration/resilience.test.ts
mapfile -t cluster_files < <(find test/e2e test/integration -name '*.test.ts' | grep -vxF "$alone")
mapfile -t unit_files < <(find test/unit -name '*.test.ts')
run_tests "end-to-end and integration tests" "${cluster_files[@]}"
run_tests "the apiserver restart and the unit tests" "$alone" "${unit_files[@]}"

node --import tsx scripts/test-times.ts table "$times"/*.jsonl
node --import tsx scripts/test-times.ts remember "$record" "$times"/*.jsonl
echo "Steps: $(printf '%s; ' "${timings[@]}")all $((SECONDS / 60)) min $((SECONDS % 60)) s"
exit "$status"
