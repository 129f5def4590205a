#!/usr/bin/env bash
# Builds the binaries of the test environment from source with `go build`:
#   controlplane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler  (module testenv/)
#   kwok:         kwok                                                           (module testenv/kwok/)
#   kubectl:      kubectl                                                        (module testenv/)
#   helm:         helm                                                           (module testenv/helm/)
# into ${K8SMGR_CACHE:-$HOME/.cache/k8smgr}/testenv/<release>/bin/, where
# <release> is e.g. v1.37.2-etcd3.7.3 (read from testenv/go.mod).
#
# Idempotent: each group of binaries is rebuilt only when one is missing or when
# its stamp (version + sha256 of its module's go.mod/go.sum) differs, so a second
# run is a no-op. The Go build cache (go env GOCACHE) and module cache (go env
# GOMODCACHE) make a rebuild after a change of flags mostly a link step.
#
# Usage: testenv/build.sh [--print-bin-dir] [--force] [GROUP...]
#   GROUP: controlplane, kwok, kubectl, helm; default: all of them.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${K8SMGR_CACHE:-$HOME/.cache/k8smgr}"

modversion() { # modversion <go.mod> <module path>
  awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1"
}

kube_version="$(modversion "$here/go.mod" k8s.io/kubernetes)"
etcd_version="$(modversion "$here/go.mod" go.etcd.io/etcd/server/v3)"
kwok_version="$(modversion "$here/kwok/go.mod" sigs.k8s.io/kwok)"
helm_module="$(awk '$1 ~ /^helm\.sh\/helm\/v[0-9]+$/ { print $1; exit } $1 == "require" && $2 ~ /^helm\.sh\/helm\/v[0-9]+$/ { print $2; exit }' "$here/helm/go.mod")"
helm_version="$(modversion "$here/helm/go.mod" "$helm_module")"
if [[ -z "$kube_version" || -z "$etcd_version" || -z "$kwok_version" || -z "$helm_version" ]]; then
  echo "build.sh: cannot read module versions from testenv/go.mod, testenv/kwok/go.mod and testenv/helm/go.mod" >&2
  exit 1
fi
release="${kube_version}-etcd${etcd_version#v}"
bin="$cache/testenv/$release/bin"

all_groups=(controlplane kwok kubectl helm)
force=0
groups=()
for arg in "$@"; do
  case "$arg" in
    --print-bin-dir) echo "$bin"; exit 0 ;;
    --force) force=1 ;;
    controlplane|kwok|kubectl|helm) groups+=("$arg") ;;
    *) echo "usage: $0 [--print-bin-dir] [--force] [${all_groups[*]}]..." >&2; exit 2 ;;
  esac
done
((${#groups[@]})) || groups=("${all_groups[@]}")
wanted() { local g; for g in "${groups[@]}"; do [[ $g == "$1" ]] && return 0; done; return 1; }

command -v go >/dev/null || { echo "build.sh: go is not on PATH (Go >= 1.26 is needed)" >&2; exit 1; }

hash_of() { cat "$@" | sha256sum | cut -c1-16; }
cp_hash="$(hash_of "$here/go.mod" "$here/go.sum")"
cp_stamp="controlplane ${release} ${cp_hash}"
kubectl_stamp="kubectl ${kube_version} ${cp_hash}"
kwok_stamp="kwok ${kwok_version} $(hash_of "$here/kwok/go.mod" "$here/kwok/go.sum")"
helm_stamp="helm ${helm_version} $(hash_of "$here/helm/go.mod" "$here/helm/go.sum")"

mkdir -p "$bin"
# One build at a time per bin directory (`cluster up` and tests may start one together):
# the second waits, then finds the stamps fresh.
if command -v flock >/dev/null; then
  exec 9>"$bin/.lock"
  flock 9
fi

# needs_build <stamp file> <stamp> <binary>...
needs_build() {
  local stampfile="$1" stamp="$2"; shift 2
  [[ $force == 1 ]] && return 0
  [[ -f "$stampfile" && "$(cat "$stampfile")" == "$stamp" ]] || return 0
  local b
  for b in "$@"; do [[ -x "$bin/$b" ]] || return 0; done
  return 1
}

# go_build <module dir> <ldflags> <stamp file>=<stamp>... -- <name=package>...
go_build() {
  local dir="$1" ldflags="$2"; shift 2
  local stamps=()
  while [[ $1 != -- ]]; do stamps+=("$1"); shift; done
  shift
  local tmp; tmp="$(mktemp -d "$bin/.build.XXXXXX")"
  trap 'rm -rf "$tmp"' RETURN
  local pkgs=() names=() spec
  for spec in "$@"; do names+=("${spec%%=*}"); pkgs+=("${spec#*=}"); done
  echo "build.sh: building ${names[*]} into $bin ..."
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
  for spec in "${stamps[@]}"; do echo "${spec#*=}" >"${spec%%=*}"; done
  echo "build.sh: built ${names[*]} in $((SECONDS - start)) s"
}

# The control plane and kubectl: one module, one version stamp in their binaries.
minor="${kube_version#v*.}"; minor="${minor%%.*}"
major="${kube_version#v}"; major="${major%%.*}"
kube_ldflags="-s -w"
for vpkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X ${vpkg}.gitVersion=${kube_version} -X ${vpkg}.gitMajor=${major} -X ${vpkg}.gitMinor=${minor}"
  kube_ldflags+=" -X ${vpkg}.gitTreeState=clean -X ${vpkg}.buildDate=1970-01-01T00:00:00Z"
done
cp_bins=(etcd kube-apiserver kube-controller-manager kube-scheduler)
# etcd's main package is go.etcd.io/etcd/server/v3, whose binary go names "server".
cp_pkgs=(
  etcd=go.etcd.io/etcd/server/v3
  kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver
  kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager
  kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler
)
kubectl_pkg=kubectl=k8s.io/kubernetes/cmd/kubectl

build_cp=0 build_kubectl=0
if wanted controlplane; then
  if needs_build "$bin/.stamp-controlplane" "$cp_stamp" "${cp_bins[@]}"; then build_cp=1
  else echo "build.sh: ${cp_bins[*]} ${release} up to date in $bin"; fi
fi
if wanted kubectl; then
  if needs_build "$bin/.stamp-kubectl" "$kubectl_stamp" kubectl; then build_kubectl=1
  else echo "build.sh: kubectl ${kube_version} up to date in $bin"; fi
fi
if ((build_cp && build_kubectl)); then
  go_build "$here" "$kube_ldflags" "$bin/.stamp-controlplane=$cp_stamp" "$bin/.stamp-kubectl=$kubectl_stamp" -- \
    "${cp_pkgs[@]}" "$kubectl_pkg"
elif ((build_cp)); then
  go_build "$here" "$kube_ldflags" "$bin/.stamp-controlplane=$cp_stamp" -- "${cp_pkgs[@]}"
elif ((build_kubectl)); then
  go_build "$here" "$kube_ldflags" "$bin/.stamp-kubectl=$kubectl_stamp" -- "$kubectl_pkg"
fi

if wanted kwok; then
  if needs_build "$bin/.stamp-kwok" "$kwok_stamp" kwok; then
    go_build "$here/kwok" "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${kwok_version#v}" "$bin/.stamp-kwok=$kwok_stamp" -- \
      kwok=sigs.k8s.io/kwok/cmd/kwok
  else
    echo "build.sh: kwok ${kwok_version} up to date in $bin"
  fi
fi

if wanted helm; then
  if needs_build "$bin/.stamp-helm" "$helm_stamp" helm; then
    hpkg="${helm_module}/internal/version"
    go_build "$here/helm" "-s -w -X ${hpkg}.version=${helm_version} -X ${hpkg}.gitTreeState=clean" "$bin/.stamp-helm=$helm_stamp" -- \
      "helm=${helm_module}/cmd/helm"
  else
    echo "build.sh: helm ${helm_version} up to date in $bin"
  fi
fi
