#!/usr/bin/env bash
# Builds the binaries of the test control plane from source with `go build`:
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler  (module testenv/)
#   kwok                                                           (module testenv/kwok/)
# into ${K8SMGR_CACHE:-$HOME/.cache/k8smgr}/testenv/<release>/bin/, where
# <release> is e.g. v1.37.2-etcd3.7.3 (read from testenv/go.mod).
#
# Idempotent: each group of binaries is rebuilt only when one is missing or when
# its stamp (release string + sha256 of go.mod/go.sum) differs. The Go build
# cache (go env GOCACHE) and module cache (go env GOMODCACHE) make a rebuild
# after a change of flags mostly a link step.
#
# Usage: testenv/build.sh [--print-bin-dir] [--force]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${K8SMGR_CACHE:-$HOME/.cache/k8smgr}"

modversion() { # modversion <go.mod> <module path>
  awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1"
}

kube_version="$(modversion "$here/go.mod" k8s.io/kubernetes)"
etcd_version="$(modversion "$here/go.mod" go.etcd.io/etcd/server/v3)"
kwok_version="$(modversion "$here/kwok/go.mod" sigs.k8s.io/kwok)"
if [[ -z "$kube_version" || -z "$etcd_version" || -z "$kwok_version" ]]; then
  echo "build.sh: cannot read module versions from testenv/go.mod and testenv/kwok/go.mod" >&2
  exit 1
fi
release="${kube_version}-etcd${etcd_version#v}"
bin="$cache/testenv/$release/bin"

force=0
for arg in "$@"; do
  case "$arg" in
    --print-bin-dir) echo "$bin"; exit 0 ;;
    --force) force=1 ;;
    *) echo "usage: $0 [--print-bin-dir] [--force]" >&2; exit 2 ;;
  esac
done

command -v go >/dev/null || { echo "build.sh: go is not on PATH (Go >= 1.26 is needed)" >&2; exit 1; }

hash_of() { cat "$@" | sha256sum | cut -c1-16; }
cp_stamp="controlplane ${release} $(hash_of "$here/go.mod" "$here/go.sum")"
kwok_stamp="kwok ${kwok_version} $(hash_of "$here/kwok/go.mod" "$here/kwok/go.sum")"

mkdir -p "$bin"

# needs_build <stamp file> <stamp> <binary>...
needs_build() {
  local stampfile="$1" stamp="$2"; shift 2
  [[ $force == 1 ]] && return 0
  [[ -f "$stampfile" && "$(cat "$stampfile")" == "$stamp" ]] || return 0
  local b
  for b in "$@"; do [[ -x "$bin/$b" ]] || return 0; done
  return 1
}

# go_build <module dir> <stamp file> <stamp> <ldflags> <name=package>...
go_build() {
  local dir="$1" stampfile="$2" stamp="$3" ldflags="$4"; shift 4
  local tmp; tmp="$(mktemp -d "$bin/.build.XXXXXX")"
  trap 'rm -rf "$tmp"' RETURN
  local pkgs=() names=() spec
  for spec in "$@"; do names+=("${spec%%=*}"); pkgs+=("${spec#*=}"); done
  echo "build.sh: building ${names[*]} (${stamp}) into $bin ..."
  local start=$SECONDS
  # One `go build` for all packages of a module: shared packages compile once, in parallel.
  (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}")
  local i
  for i in "${!pkgs[@]}"; do
    local out; out="$(basename "${pkgs[$i]}")"
    # go names the binary of .../server/v3 after "server", not after the major version.
    [[ "$out" =~ ^v[0-9]+$ ]] && out="$(basename "$(dirname "${pkgs[$i]}")")"
    mv -f "$tmp/$out" "$bin/${names[$i]}"
  done
  echo "$stamp" >"$stampfile"
  echo "build.sh: built ${names[*]} in $((SECONDS - start)) s"
}

cp_bins=(etcd kube-apiserver kube-controller-manager kube-scheduler)
if needs_build "$bin/.stamp-controlplane" "$cp_stamp" "${cp_bins[@]}"; then
  minor="${kube_version#v*.}"; minor="${minor%%.*}"
  major="${kube_version#v}"; major="${major%%.*}"
  vpkg=k8s.io/component-base/version
  ldflags="-s -w -X ${vpkg}.gitVersion=${kube_version} -X ${vpkg}.gitMajor=${major} -X ${vpkg}.gitMinor=${minor}"
  ldflags+=" -X ${vpkg}.gitTreeState=clean -X ${vpkg}.buildDate=1970-01-01T00:00:00Z"
  # etcd's main package is go.etcd.io/etcd/server/v3, whose binary go names "server".
  go_build "$here" "$bin/.stamp-controlplane" "$cp_stamp" "$ldflags" \
    etcd=go.etcd.io/etcd/server/v3 \
    kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
    kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
    kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler
else
  echo "build.sh: ${cp_bins[*]} ${release} up to date in $bin"
fi

if needs_build "$bin/.stamp-kwok" "$kwok_stamp" kwok; then
  go_build "$here/kwok" "$bin/.stamp-kwok" "$kwok_stamp" \
    "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${kwok_version#v}" \
    kwok=sigs.k8s.io/kwok/cmd/kwok
else
  echo "build.sh: kwok ${kwok_version} up to date in $bin"
fi
