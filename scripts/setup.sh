#!/usr/bin/env bash
# Installs what the manager, its tests and the demo need on a fresh Debian
# machine: system packages (when missing) and the npm dependencies (when the
# lock file changed). Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# openssl: test cluster certificates. openssh: userjobs tests. rsyslog: syslog handler tests.
# haproxy: the load balancer in front of several manager replicas in tests (test/helpers/balancer.ts).
# chromium: the browser that drives the admin page tests (test/helpers/browser.ts).
APT_PACKAGES=(openssl openssh-client openssh-server rsyslog haproxy chromium)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v go >/dev/null || { echo "setup: Go (>= 1.26) is needed to build the test control plane" >&2; exit 1; }
command -v node >/dev/null || { echo "setup: Node.js 20 is needed" >&2; exit 1; }

stamp=node_modules/.package-lock.sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -d node_modules ]]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
elif [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  # An existing tree is updated in place, not wiped: running processes keep their files.
  echo "setup: npm install (package-lock.json changed)"
  npm install --no-audit --no-fund --loglevel=error
  sha256sum package-lock.json | cut -d' ' -f1 > "$stamp"
fi
