#!/usr/bin/env bash
# Installs what the manager, its tests and the demo need on a fresh Debian
# machine: system packages (when missing) and the npm dependencies (when the
# lock file changed). Safe to run again: it only does what is missing. Quiet when
# it works; a failed step says which one, shows its output and what to do.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# quietly <step> <what to do if it fails> <command...>: the command's output goes to a
# log, shown (its end) only when it fails.
quietly() {
  local step=$1 hint=$2 log
  shift 2
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    echo "setup: FAILED: $step. Last lines of its output:" >&2
    tail -n 20 "$log" | sed 's/^/    /' >&2
    echo "setup: what to do: $hint" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
}

# openssl: test cluster certificates. openssh: userjobs tests. rsyslog: syslog handler tests.
# haproxy: the load balancer in front of several manager replicas in tests (test/helpers/balancer.ts).
# chromium: the browser that drives the admin page tests (test/helpers/browser.ts).
APT_PACKAGES=(openssl openssh-client openssh-server rsyslog haproxy chromium)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]} (apt, about a minute)"
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: FAILED: installing ${missing[*]} needs root: run as root, or install sudo, or run \`apt-get install ${missing[*]}\` as root yourself" >&2; exit 1; }
    SUDO=(sudo)
  fi
  quietly "apt-get update" "check the machine's apt sources and network (\`apt-get update\` as root shows the error), then run again" \
    "${SUDO[@]}" apt-get update
  quietly "apt-get install ${missing[*]}" "run \`apt-get install ${missing[*]}\` as root to see why, then run again" \
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

if ! command -v go >/dev/null; then
  echo "setup: FAILED: Go (>= 1.26) is needed to build the test control plane: install it (https://go.dev/dl/, or Debian's golang package if it is new enough) and put it on PATH" >&2
  exit 1
fi
if ! command -v node >/dev/null || ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "setup: FAILED: Node.js >= 20.19 is needed (found: $(node --version 2>/dev/null || echo none)): install it (https://nodejs.org/) and put it on PATH" >&2
  exit 1
fi

stamp=node_modules/.package-lock.sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
npm_hint="check that the npm registry answers (npm's proxy settings; \`npm ci\` shows the error), then run again"
if [[ ! -d node_modules ]]; then
  echo "setup: npm ci (about 20 s)"
  quietly "npm ci" "$npm_hint" npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
elif [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  # An existing tree is updated in place, not wiped: running processes keep their files.
  echo "setup: npm install (package-lock.json changed)"
  quietly "npm install" "$npm_hint" npm install --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
