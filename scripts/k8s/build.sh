#!/usr/bin/env bash
# Build the pinned Kubernetes tools from Go modules (no prebuilt binaries are downloaded).
#
#   bash scripts/k8s/build.sh [GROUP...]     GROUP: core controllers kwok kustomize helm all (default all)
#   bash scripts/k8s/build.sh --regen        rewrite modules/control-plane/go.mod for K8S_VERSION
#   bash scripts/k8s/build.sh --print-cache  print the cache folder of the control-plane binaries
#
# Groups and what they build (versions in scripts/k8s/versions.env):
#   core         kube-apiserver, etcd                         (what envtest runs)
#   controllers  kube-controller-manager, kube-scheduler, kubectl
#   kwok         kwok (simulated nodes and pods)
#   kustomize    kustomize
#   helm         helm
#
# Binaries are cached OUTSIDE the repository, keyed by version, so a fresh clone only copies them:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/airflow-delivery/k8s/<K8S_VERSION>/   control plane + kwok
#   ${XDG_CACHE_HOME:-$HOME/.cache}/airflow-delivery/tools/<name>-<version>
# A binary already in the cache is never rebuilt. Go's module and build caches make a rebuild
# after a version bump cheaper. Progress goes to stderr; one summary line goes to stdout.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$HERE/versions.env"

export GOTOOLCHAIN=local
export CGO_ENABLED=0
export GOFLAGS=-mod=mod
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/airflow-delivery"
K8S_CACHE="$CACHE_ROOT/k8s/$K8S_VERSION"
TOOLS_CACHE="$CACHE_ROOT/tools"
BUILD_ROOT="$CACHE_ROOT/k8s/build"
LDFLAGS="-s -w"
# What hack/lib/version.sh stamps into a release build: without it the binaries report
# v0.0.0-master, and version checks against the server (Helm's kubeVersion, kubectl skew) fail.
k8s_version_ldflags() {
  local minor="${K8S_VERSION#v1.}"
  minor="${minor%%.*}"
  local pkg flags=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

log() { echo "k8s-build: $*" >&2; }

staging_version() { # v1.36.3 -> v0.36.3
  echo "v0.${K8S_VERSION#v1.}"
}

regen_control_plane_mod() {
  local gomod
  gomod="$(go list -m -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
  local sv
  sv="$(staging_version)"
  {
    echo "// Throwaway module that builds the Kubernetes control plane (kube-apiserver, kube-controller-manager,"
    echo "// kube-scheduler, kubectl) and etcd from Go modules. k8s.io/kubernetes is not meant to be used as a"
    echo "// module: its own go.mod replaces every k8s.io/* staging module with ./staging/src/..., which a"
    echo "// dependent module ignores, so every staging module is pinned here to the matching v0.X.Y."
    echo "// Regenerate with: bash scripts/k8s/build.sh --regen (after changing K8S_VERSION in versions.env)."
    echo "module delivery.local/k8s-control-plane"
    echo
    echo "go $(sed -n 's/^go //p' "$gomod")"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    grep -oE '^\s+k8s.io/[a-z-]+ => ./staging' "$gomod" | awk -v v="$sv" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } >"$HERE/modules/control-plane/go.mod"
  rm -f "$HERE/modules/control-plane/go.sum"
  log "rewrote modules/control-plane/go.mod for $K8S_VERSION; etcd there: $(grep 'go.etcd.io/etcd/server/v3 ' "$gomod" | awk '{print $2}')"
}

# build_module MODULE OUTDIR NAME=PACKAGE...: build the missing binaries of one throwaway module
# in one `go build` (so shared packages compile once) and move them into OUTDIR atomically.
build_module() {
  local module="$1" outdir="$2"
  shift 2
  local names=() pkgs=() spec
  for spec in "$@"; do
    if [ ! -x "$outdir/${spec%%=*}" ]; then
      names+=("${spec%%=*}")
      pkgs+=("${spec#*=}")
    fi
  done
  [ "${#names[@]}" -eq 0 ] && return 0
  local dir="$BUILD_ROOT/$module-$K8S_VERSION"
  mkdir -p "$dir" "$outdir"
  cp "$HERE/modules/$module/go.mod" "$dir/go.mod"
  if [ -f "$HERE/modules/$module/go.sum" ]; then cp "$HERE/modules/$module/go.sum" "$dir/go.sum"; fi
  local tmp
  tmp="$(mktemp -d "$outdir/.build.XXXXXX")"
  local start=$SECONDS
  log "building ${names[*]} (module $module; the first cold build takes several minutes)"
  # One `go build` for all of them: packages shared by several binaries compile once, and one
  # binary links while the next one's packages compile. `-o DIR` names each binary after the
  # last element of its import path without a /vN suffix (go.etcd.io/etcd/server/v3 -> server).
  local ldflags="$LDFLAGS"
  [ "$module" = control-plane ] && ldflags+="$(k8s_version_ldflags)"
  (cd "$dir" && go build -trimpath -ldflags="$ldflags" -o "$tmp/" "${pkgs[@]}") || {
    log "FAILED: (cd $dir && GOFLAGS=$GOFLAGS GOTOOLCHAIN=local go build -trimpath -ldflags='$ldflags' -o $tmp/ ${pkgs[*]})"
    rm -rf "$tmp"
    return 1
  }
  local i base
  for i in "${!names[@]}"; do
    base="${pkgs[$i]%/v[0-9]*}"
    base="${base##*/}"
    mv -f "$tmp/$base" "$outdir/${names[$i]}"
  done
  log "built ${names[*]} in $(( SECONDS - start ))s"
  rm -rf "$tmp"
  # Keep the resolved go.sum next to the template (it grows as more binaries are built): the next
  # build verifies the same hashes.
  local kept="$HERE/modules/$module/go.sum"
  if [ -w "$HERE/modules/$module" ] && [ "$(wc -l <"$dir/go.sum")" -gt "$(cat "$kept" 2>/dev/null | wc -l)" ]; then
    cp "$dir/go.sum" "$kept" 2>/dev/null || true
  fi
}

# go_install NAME PACKAGE VERSION [LDFLAGS]: a tool whose go.mod has no replace directives.
go_install() {
  local name="$1" pkg="$2" version="$3" extra="${4:-}"
  local out="$TOOLS_CACHE/$name-$version"
  [ -x "$out" ] && return 0
  mkdir -p "$TOOLS_CACHE"
  local tmp start=$SECONDS
  tmp="$(mktemp -d "$TOOLS_CACHE/.build.XXXXXX")"
  log "building $name $version"
  (cd "$tmp" && GOBIN="$tmp" go install -trimpath -ldflags="$LDFLAGS$extra" "$pkg@$version") || {
    log "FAILED: GOBIN=$tmp go install -trimpath -ldflags='$LDFLAGS$extra' $pkg@$version"
    rm -rf "$tmp"
    return 1
  }
  mv -f "$tmp/$name" "$out"
  rm -rf "$tmp"
  log "built $name $version ($(( SECONDS - start ))s)"
}

# kwok needs Stage objects in its config to act like a kubelet. These are the default stages of
# `kwokctl create cluster` (node-fast, node heartbeat, pod-fast), taken from the pinned kwok
# module's source. The heartbeat is the status one (every 20-25 s), not the lease one: the lease
# variant also needs a KwokConfiguration, and a node whose status is not refreshed within the
# controller-manager's grace period turns NotReady and gets its Pods evicted.
kwok_stages() {
  local out="$K8S_CACHE/kwok-stages.yaml"
  [ -s "$out" ] && return 0
  local src
  src="$(cd "$BUILD_ROOT/kwok-$K8S_VERSION" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage"
  local f first=1
  {
    echo "# Generated by scripts/k8s/build.sh from sigs.k8s.io/kwok@$KWOK_VERSION kustomize/stage (kwokctl's defaults)."
    for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
             pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      [ "$first" = 1 ] || echo "---"
      first=0
      cat "$src/$f"
    done
  } >"$out.tmp" && mv -f "$out.tmp" "$out"
  log "wrote $out"
}

build_group() {
  case "$1" in
    core)
      build_module control-plane "$K8S_CACHE" \
        kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
        etcd=go.etcd.io/etcd/server/v3 || return 1
      # etcd's version comes from kubernetes' go.mod: say so if versions.env disagrees.
      local etcd_version
      etcd_version="$("$K8S_CACHE/etcd" --version | sed -n 's/^etcd Version: /v/p')"
      [ "$etcd_version" = "$ETCD_VERSION" ] ||
        log "WARNING: built etcd $etcd_version but versions.env says ETCD_VERSION=$ETCD_VERSION (kubernetes $K8S_VERSION's go.mod decides)" ;;
    controllers)
      build_module control-plane "$K8S_CACHE" \
        kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
        kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler \
        kubectl=k8s.io/kubernetes/cmd/kubectl ;;
    kwok)
      build_module kwok "$K8S_CACHE" kwok=sigs.k8s.io/kwok/cmd/kwok && kwok_stages ;;
    kustomize) go_install kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION" ;;
    helm)
      # As helm's Makefile: its version, and the Kubernetes version `helm template` assumes
      # (.Capabilities.KubeVersion) from the client-go it is built with (v0.37 -> 1.37).
      local h=helm.sh/helm/v3
      go_install helm "$h/cmd/helm" "$HELM_VERSION" \
        " -X $h/internal/version.version=$HELM_VERSION -X $h/internal/version.gitTreeState=clean
          -X $h/pkg/chartutil.k8sVersionMajor=1 -X $h/pkg/chartutil.k8sVersionMinor=$HELM_K8S_MINOR
          -X $h/pkg/lint/rules.k8sVersionMajor=1 -X $h/pkg/lint/rules.k8sVersionMinor=$HELM_K8S_MINOR" ;;
    *) echo "unknown group '$1': use core, controllers, kwok, kustomize, helm or all" >&2; return 2 ;;
  esac
}

# Everything runs from main(), so bash has read the whole file before running any of it (editing
# the script during a long build cannot break the build).
main() {
  case "${1:-all}" in
    --regen) regen_control_plane_mod; exit 0 ;;
    --print-cache) echo "$K8S_CACHE"; exit 0 ;;
  esac
  command -v go >/dev/null || { echo "k8s-build: Go is not installed (need Go >= 1.26 on PATH)" >&2; exit 3; }

  groups=("$@")
  [ "${#groups[@]}" -eq 0 ] && groups=(all)
  [ "${groups[*]}" = all ] && groups=(core kustomize helm controllers kwok)

  mkdir -p "$CACHE_ROOT"
  # Two builds at once (a developer and CI on the same machine) would only waste the two cores.
  exec 9>"$CACHE_ROOT/k8s-build.lock"
  flock 9
  start=$SECONDS
  failed=()
  for g in "${groups[@]}"; do
    build_group "$g" || failed+=("$g")
  done
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "k8s-build: FAILED groups: ${failed[*]} (see the lines above); built the rest in $(( SECONDS - start ))s"
    exit 1
  fi
  echo "k8s-build: ${groups[*]} ready for Kubernetes $K8S_VERSION in $K8S_CACHE ($(( SECONDS - start ))s)"
}

main "$@"
exit $?
