#!/usr/bin/env bash
# The kind cluster and its local registry (kind's documented local-registry recipe).
#   hack/cluster.sh up      registry container + cluster + registry wiring (idempotent)
#   hack/cluster.sh down    delete the cluster and the registry container: nothing keeps running
#   hack/cluster.sh status  what exists
#   hack/cluster.sh check-registry  the registry answers and is advertised in the cluster
#   hack/cluster.sh dump DIR        what explains a failure: pods, events, every pod's logs, `kind export logs`
# AIRWAVE_PROFILE=lite creates a single-node cluster (see docs/stack.md). OFFLINE=1 (machines that reach no
# container registry, e.g. our CI): the node image is ours (hack/offline-images.sh, KIND_NODE_IMAGE) and pulls from
# docker.io, quay.io and registry.k8s.io are served by the local registry (stack/registry/mirror-hosts.toml).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KIND="${KIND:-kind}"
DOCKER="${DOCKER:-docker}"
CLUSTER="$(sj cluster_name)"
REG_NAME="$(sj registry.name)"
REG_HOST_PORT="$(sj registry.host_port)"
REG_PORT="$(sj registry.container_port)"
REG_HOST="$(sj registry.host)"
MIRRORED="docker.io quay.io registry.k8s.io"
if [ "${OFFLINE:-}" = 1 ] && [ -z "${KIND_NODE_IMAGE:-}" ]; then
  KIND_NODE_IMAGE="$("$ROOT/hack/offline-images.sh" node-image)"; export KIND_NODE_IMAGE
fi

# node_file NODE PATH: stdin becomes PATH on a kind node
node_file() { $DOCKER exec "$1" mkdir -p "$(dirname "$2")" && $DOCKER exec -i "$1" cp /dev/stdin "$2"; }

registry_up() {
  if [ "$($DOCKER inspect -f '{{.State.Running}}' "$REG_NAME" 2>/dev/null || true)" != true ]; then
    $DOCKER rm -f -v "$REG_NAME" >/dev/null 2>&1 || true
    log "starting registry $REG_NAME on 127.0.0.1:$REG_HOST_PORT"
    $DOCKER run -d --restart=always --name "$REG_NAME" \
      -p "127.0.0.1:$REG_HOST_PORT:$REG_PORT" "$(upstream_image registry)" >/dev/null
  fi
}

# OFFLINE=1: the images our workloads pull (hack/offline-images.sh cluster-images), pushed under their full upstream
# name, e.g. localhost:5001/quay.io/minio/minio:TAG, which the nodes' mirror config serves for quay.io/minio/minio:TAG.
push_offline_images() {
  local img
  for _ in $(seq 30); do curl -fsS "http://$REG_HOST/v2/" >/dev/null 2>&1 && break; sleep 1; done
  for img in $("$ROOT/hack/offline-images.sh" cluster-images); do
    $DOCKER image inspect "$img" >/dev/null 2>&1 || die "$img missing: run make offline-images"
    $DOCKER tag "$img" "$REG_HOST/$img"
    $DOCKER push -q "$REG_HOST/$img" >/dev/null || die "pushing $REG_HOST/$img failed"
  done
  log "offline images pushed to $REG_HOST"
}

cluster_up() {
  if ! $KIND get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    config="$ROOT/kind-config.yaml"                  # global: the EXIT trap below outlives this function
    if [ "${AIRWAVE_PROFILE:-}" = lite ]; then   # drop the worker node: one node runs everything
      config="$(mktemp)"; trap 'rm -f "$config"' EXIT
      sed '/^  - role: worker/,$d' "$ROOT/kind-config.yaml" > "$config"
    fi
    log "creating kind cluster $CLUSTER"
    $KIND create cluster --config "$config" --image "$(upstream_image kind_node)" --wait 120s
  fi
  # Every node resolves localhost:5001 to the registry container on the kind network.
  for node in $($KIND get nodes --name "$CLUSTER"); do
    sed "s|kind-registry:5000|$REG_NAME:$REG_PORT|" "$ROOT/stack/registry/hosts.toml" |
      node_file "$node" "/etc/containerd/certs.d/$REG_HOST/hosts.toml"
    if [ "${OFFLINE:-}" = 1 ]; then
      for upstream in $MIRRORED; do
        sed -e "s|kind-registry:5000|$REG_NAME:$REG_PORT|" -e "s|UPSTREAM|$upstream|g" \
          "$ROOT/stack/registry/mirror-hosts.toml" | node_file "$node" "/etc/containerd/certs.d/$upstream/hosts.toml"
      done
    fi
  done
  if [ "$($DOCKER inspect -f '{{json .NetworkSettings.Networks.kind}}' "$REG_NAME")" = null ]; then
    $DOCKER network connect kind "$REG_NAME"
  fi
  "$KUBECTL" --context "$KUBE_CONTEXT" apply -f "$ROOT/stack/registry/local-registry-hosting.yaml" >/dev/null
  # kind --wait covers the control plane only: every node and cluster DNS must be up before anything deploys.
  "$KUBECTL" --context "$KUBE_CONTEXT" wait --for=condition=Ready nodes --all --timeout=180s >/dev/null
  "$KUBECTL" --context "$KUBE_CONTEXT" -n kube-system rollout status deployment/coredns --timeout=180s >/dev/null
}

case "${1:-}" in
  up) registry_up; [ "${OFFLINE:-}" != 1 ] || push_offline_images; cluster_up; log "cluster $CLUSTER ready (context $KUBE_CONTEXT), registry $REG_HOST" ;;
  down)
    $KIND delete cluster --name "$CLUSTER" || true
    $DOCKER rm -f -v "$REG_NAME" >/dev/null 2>&1 || true
    # kind leaves its docker network behind; remove it unless another kind cluster still uses it.
    if [ -z "$($DOCKER network inspect kind -f '{{range .Containers}}{{.Name}} {{end}}' 2>/dev/null)" ]; then
      $DOCKER network rm kind >/dev/null 2>&1 || true
    fi
    log "cluster $CLUSTER, registry $REG_NAME and network kind removed" ;;
  status)
    echo "cluster:  $($KIND get clusters 2>/dev/null | grep -x "$CLUSTER" || echo absent)"
    echo "registry: $($DOCKER inspect -f '{{.State.Status}}' "$REG_NAME" 2>/dev/null || echo absent)"
    if $KIND get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
      "$KUBECTL" --context "$KUBE_CONTEXT" get nodes
      kc get pods -o wide 2>/dev/null || true
    fi ;;
  check-registry)   # used by Tilt's `registry` resource
    catalog="$(curl -fsS "http://$REG_HOST/v2/_catalog")" ||
      die "registry $REG_HOST does not answer: run hack/cluster.sh up"
    "$KUBECTL" --context "$KUBE_CONTEXT" -n kube-public get configmap local-registry-hosting >/dev/null ||
      die "local-registry-hosting ConfigMap missing: run hack/cluster.sh up"
    echo "registry $REG_HOST: $catalog" ;;
  dump)
    dir="${2:?usage: $0 dump DIR}"; mkdir -p "$dir/pods"
    "$KUBECTL" --context "$KUBE_CONTEXT" get nodes,pods -A -o wide > "$dir/pods.txt" 2>&1 || true
    "$KUBECTL" --context "$KUBE_CONTEXT" get events -A --sort-by=.lastTimestamp > "$dir/events.txt" 2>&1 || true
    for pod in $(kc get pods -o name 2>/dev/null); do
      kc logs "$pod" --all-containers --prefix --previous=false > "$dir/pods/${pod#pod/}.log" 2>&1 || true
    done
    $KIND export logs --name "$CLUSTER" "$dir/kind" >/dev/null 2>&1 || true
    log "logs of $CLUSTER in $dir" ;;
  *) die "usage: $0 up|down|status|check-registry|dump DIR" ;;
esac
