#!/usr/bin/env bash
# The local Kubernetes control plane and the manifest tools, built from Go modules:
# kube-apiserver, etcd, kube-controller-manager, kube-scheduler, kubectl, kwok -> $DELIVERY_TOOLS/k8s/<version>/
# (the KUBEBUILDER_ASSETS folder), kustomize and helm -> $DELIVERY_TOOLS/bin.
# The binaries are built once into ~/.cache/airflow-delivery (scripts/k8s/build.sh) and copied from
# there, so this step is fast when nothing changed. A cold build takes minutes (see docs/kubernetes.md).
set -euo pipefail
source "$(dirname "$0")/../env.sh"
K8S_DIR="$PROJECT_ROOT/scripts/k8s"
source "$K8S_DIR/versions.env"

if ! command -v go >/dev/null 2>&1; then
  echo "k8s: Go is not installed, so no local control plane, kustomize or helm; cluster tests will skip (fail in CI) and GitOps runs plan-only. Fix: install Go >= 1.26, then rerun bash scripts/setup.d/30-k8s.sh, or set KUBECONFIG" >&2
  exit 0
fi

start=$SECONDS
build_status=0
bash "$K8S_DIR/build.sh" all >/dev/null || build_status=$?

cache="$(bash "$K8S_DIR/build.sh" --print-cache)"
tools_cache="${XDG_CACHE_HOME:-$HOME/.cache}/airflow-delivery/tools"
assets="$DELIVERY_TOOLS/k8s/$K8S_VERSION"
mkdir -p "$assets" "$DELIVERY_TOOLS/bin"

# install SRC DEST: hard link (same file system) or copy, only when it differs.
install_bin() {
  local src="$1" dest="$2"
  [ -x "$src" ] || return 1
  if [ -e "$dest" ] && cmp -s "$src" "$dest"; then return 0; fi
  rm -f "$dest"
  ln "$src" "$dest" 2>/dev/null || cp "$src" "$dest"
}

installed=() missing=()
for name in kube-apiserver etcd kube-controller-manager kube-scheduler kubectl kwok; do
  if install_bin "$cache/$name" "$assets/$name"; then installed+=("$name"); else missing+=("$name"); fi
done
# kwok's stages (what it does to simulated nodes and pods) belong with the kwok binary.
if [ -s "$cache/kwok-stages.yaml" ] && ! cmp -s "$cache/kwok-stages.yaml" "$assets/kwok-stages.yaml"; then
  cp "$cache/kwok-stages.yaml" "$assets/kwok-stages.yaml"
fi
if [ -x "$assets/kubectl" ]; then ln -sfn "../k8s/$K8S_VERSION/kubectl" "$DELIVERY_TOOLS/bin/kubectl"; fi
install_bin "$tools_cache/kustomize-$KUSTOMIZE_VERSION" "$DELIVERY_TOOLS/bin/kustomize" && installed+=("kustomize $KUSTOMIZE_VERSION") || missing+=(kustomize)
install_bin "$tools_cache/helm-$HELM_VERSION" "$DELIVERY_TOOLS/bin/helm" && installed+=("helm $HELM_VERSION") || missing+=(helm)

summary="k8s: Kubernetes $K8S_VERSION in $assets ($(IFS=,; echo "${installed[*]}")) in $(( SECONDS - start ))s"
if [ "${#missing[@]}" -gt 0 ]; then
  echo "$summary; NOT BUILT: ${missing[*]} (build.sh exit $build_status; rerun bash scripts/k8s/build.sh to see the failing command)"
  # Without kube-apiserver and etcd there is no local cluster at all: that is a failed step.
  for core in kube-apiserver etcd; do [ -x "$assets/$core" ] || exit 1; done
else
  echo "$summary"
fi
