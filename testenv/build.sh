#!/usr/bin/env bash
# Builds the binaries of the test environment from source with `go build`:
#   controlplane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler  (module testenv/)
#   kwok:         kwok                                                           (module testenv/kwok/)
#   kubectl:      kubectl                                                        (module testenv/)
#   helm:         helm                                                           (module testenv/helm/)
#
# Each group goes into a folder of its own, named after what it holds (a hash of its
# version and of its module's go.mod/go.sum):
#   ${K8SMGR_CACHE:-$HOME/.cache/k8smgr}/testenv/<release>/<group>-<hash>/
# built in a temporary folder and renamed into place when complete (scripts/cache.sh:
# one build at a time under a lock, the others wait; a half-made folder is never used).
# bin/ beside them holds a symlink per binary to the current group folder, so that
# `--print-bin-dir` names one folder with all of them. <release> is e.g.
# v1.37.2-etcd3.7.3 (read from testenv/go.mod).
#
# Idempotent: a group whose folder is complete is not built again (a no-op, no lock).
# The Go build cache (go env GOCACHE) and module cache (go env GOMODCACHE) make a
# rebuild of the same sources mostly a link step. Each build's output goes to
# <group>-<hash>.log beside its folder; a failed build prints its tail and what to do.
#
# Usage: testenv/build.sh [--print-bin-dir] [--force] [GROUP...]
#   GROUP: controlplane, kwok, kubectl, helm; default: all of them.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/cache.sh
source "$here/../scripts/cache.sh"
CACHE_PREFIX=build.sh
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
  echo "build.sh: cannot read module versions from testenv/go.mod, testenv/kwok/go.mod and testenv/helm/go.mod (step: testenv build); restore them from git" >&2
  exit 1
fi
release="${kube_version}-etcd${etcd_version#v}"
root="$cache/testenv/$release"
bin="$root/bin"

all_groups=(controlplane kwok kubectl helm)
groups=()
for arg in "$@"; do
  case "$arg" in
    --print-bin-dir) echo "$bin"; exit 0 ;;
    --force) export CACHE_FORCE=1 ;;
    controlplane|kwok|kubectl|helm) groups+=("$arg") ;;
    *) echo "usage: $0 [--print-bin-dir] [--force] [${all_groups[*]}]..." >&2; exit 2 ;;
  esac
done
((${#groups[@]})) || groups=("${all_groups[@]}")

if ! command -v go >/dev/null; then
  echo "build.sh: go is not on PATH (step: building the test control plane). Install Go >= 1.26 (https://go.dev/dl/) and run again." >&2
  exit 1
fi

hash_of() { cat "$@" | cache_hash; }
cp_hash="$(hash_of "$here/go.mod" "$here/go.sum")"

# The control plane and kubectl: one module, one version stamp in their binaries.
minor="${kube_version#v*.}"; minor="${minor%%.*}"
major="${kube_version#v}"; major="${major%%.*}"
kube_ldflags="-s -w"
for vpkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X ${vpkg}.gitVersion=${kube_version} -X ${vpkg}.gitMajor=${major} -X ${vpkg}.gitMinor=${minor}"
  kube_ldflags+=" -X ${vpkg}.gitTreeState=clean -X ${vpkg}.buildDate=1970-01-01T00:00:00Z"
done

# go_group <module dir> <ldflags> <name=package>... <target dir>
# One `go build` for all packages of a group: shared packages compile once, in parallel.
go_group() {
  local dir="$1" ldflags="$2"; shift 2
  local target="${!#}"
  local specs=("${@:1:$#-1}") pkgs=() spec
  for spec in "${specs[@]}"; do pkgs+=("${spec#*=}"); done
  mkdir "$target/.out"
  (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$target/.out/" "${pkgs[@]}")
  for spec in "${specs[@]}"; do
    local pkg="${spec#*=}" out
    out="$(basename "$pkg")"
    # go names the binary of .../server/v3 after "server", not after the major version.
    [[ "$out" =~ ^v[0-9]+$ ]] && out="$(basename "$(dirname "$pkg")")"
    mv "$target/.out/$out" "$target/${spec%%=*}"
  done
  rmdir "$target/.out"
}

# adopt_or_build <group> <key> <go_group args...> <target dir>
# Binaries of the layout before per-group folders (all in bin/, stamps bin/.stamp-<group>)
# that match the key are hard-linked instead of built again.
adopt_or_build() {
  local group="$1" key="$2"; shift 2
  local target="${!#}" specs=("${@:3:$#-3}") spec
  if [[ -f "$bin/.stamp-$group" && "$(<"$bin/.stamp-$group")" == "$key" ]]; then
    local ok=1
    for spec in "${specs[@]}"; do [[ -f "$bin/${spec%%=*}" && ! -L "$bin/${spec%%=*}" ]] || ok=0; done
    if ((ok)); then
      for spec in "${specs[@]}"; do ln "$bin/${spec%%=*}" "$target/${spec%%=*}" 2>/dev/null || cp -p "$bin/${spec%%=*}" "$target/${spec%%=*}"; done
      echo "taken over from $bin (built before per-group folders)"
      return 0
    fi
  fi
  go_group "$@"
}

up_to_date=()
# group <group> <key> <description> <first build time> <module dir> <ldflags> <name=package>...
group() {
  local g="$1" key="$2" what="$3" about="$4"; shift 4
  local dir; dir="$root/$g-$(printf '%s' "$key" | cache_hash)"
  local hint="it needs Go >= 1.26 and the Go module proxy (check \`go version\` and \`go env GOPROXY GOFLAGS\`); see the log, then run \`bash testenv/build.sh $g\` again"
  if cache_complete "$dir" "$key" && [[ ${CACHE_FORCE:-0} != 1 ]]; then
    up_to_date+=("$g")
  else
    CACHE_ABOUT="$about" cache_fill "$what" "$dir" "$key" move "$hint" adopt_or_build "$g" "$key" "$@"
  fi
  # bin/<name> -> ../<group>-<hash>/<name>, each replaced by a rename (never missing).
  mkdir -p "$bin"
  local spec name rel
  for spec in "${@:3}"; do
    name="${spec%%=*}"
    rel="../$(basename "$dir")/$name"
    [[ -L "$bin/$name" && "$(readlink "$bin/$name")" == "$rel" ]] && continue
    ln -sfn "$rel" "$bin/.$name.$$"
    mv -T "$bin/.$name.$$" "$bin/$name"
  done
}

for g in "${groups[@]}"; do
  case "$g" in
    controlplane)
      group controlplane "controlplane ${release} ${cp_hash}" \
        "the control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler)" "a first build takes about 6 minutes" \
        "$here" "$kube_ldflags" \
        etcd=go.etcd.io/etcd/server/v3 \
        kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
        kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
        kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler
      ;;
    kubectl)
      group kubectl "kubectl ${kube_version} ${cp_hash}" "kubectl" "about 20 s after the control plane" "$here" "$kube_ldflags" kubectl=k8s.io/kubernetes/cmd/kubectl
      ;;
    kwok)
      group kwok "kwok ${kwok_version} $(hash_of "$here/kwok/go.mod" "$here/kwok/go.sum")" "kwok" "about 1 minute" \
        "$here/kwok" "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${kwok_version#v}" kwok=sigs.k8s.io/kwok/cmd/kwok
      ;;
    helm)
      hpkg="${helm_module}/internal/version"
      group helm "helm ${helm_version} $(hash_of "$here/helm/go.mod" "$here/helm/go.sum")" "helm" "about 1 minute" \
        "$here/helm" "-s -w -X ${hpkg}.version=${helm_version} -X ${hpkg}.gitTreeState=clean" "helm=${helm_module}/cmd/helm"
      ;;
  esac
done
((${#up_to_date[@]} == 0)) || echo "build.sh: ${up_to_date[*]} up to date in $root"
