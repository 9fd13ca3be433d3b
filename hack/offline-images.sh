#!/usr/bin/env bash
# Every image the kind sandbox needs, built here from pinned sources, for machines that reach package registries
# but no container registry (our CI). Users with internet never need this: `make up` pulls the pinned images.
#   hack/offline-images.sh            build what is missing or out of date (idempotent), print the node image
#   hack/offline-images.sh binaries   only the Go binaries
#   hack/offline-images.sh list       the images and their upstream names (node-image: only the node's)
# Builds: Go binaries with `go install` / the hack/kubernetes wrapper module (cached in $AIRWAVE_CACHE/bin, keyed
# on the version); a Debian bookworm base by debootstrap; the system images kind's node needs during `kind create
# cluster` (control plane, etcd, CoreDNS, pause, CNI, storage), preloaded into our node image; and the images
# the sandbox itself pulls (registry), tagged with the upstream names our files use. An image is rebuilt only when
# the hash of its inputs (pins + our files) changes: its label airwave.inputs holds it.
# Needs root, Docker (hack/docker-up.sh), Go, gcc;
# installs the Debian packages it builds with when missing (debootstrap, libseccomp-dev, pkg-config, busybox-static).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

eval "$(grep -E '^(K8S|MINIO)_VERSION=' "$ROOT/hack/tools.sh")"   # pinned there: Kubernetes, the MinIO server make test runs
ETCD_TAG=3.6.8-0                 # kubeadm v1.36.1's etcd; hack/kubernetes/go.mod builds etcd server v3.6.8
COREDNS_VERSION=v1.14.2          # kubeadm v1.36.1's CoreDNS
PAUSE_TAG=3.10.2                 # kubeadm v1.36.1's pause; our containerd config names it as sandbox image
CONTAINERD_VERSION=v2.3.4        # Kubernetes 1.36 needs containerd 2.x
RUNC_VERSION=v1.4.2
CNI_PLUGINS_VERSION=v1.9.1
CRICTL_VERSION=v1.36.0
LOCAL_PATH_VERSION=v0.0.30       # the newest local-path-provisioner the Go proxy serves
REGISTRY_VERSION=v3.1.1          # distribution, for sandbox.json's registry image
AIRWAVE_CNI_VERSION=v0.1.0       # stack/images/cni (ours)
MC_VERSION=v0.0.0-20250313080218-cf909e1063a9   # the newest mc the Go proxy serves (its RELEASE tags are not semver)
PG_SUITE=trixie                  # PostgreSQL 17 (bookworm has 15)
SUITE=bookworm                   # systemd 252 still boots on cgroup v1 hosts (trixie's 257 refuses by default)
DEBIAN_MIRROR="${DEBIAN_MIRROR:-}"   # empty: debootstrap's own default
NODE_IMAGE="${OFFLINE_NODE_IMAGE:-kindest/node:$K8S_VERSION-offline}"
BASE_IMAGE=localhost/airwave-node-base:$SUITE
PY_BASE=localhost/airwave-py-base:$SUITE     # python3 + git: the Airflow stand-in and git-sync
PG_BASE=localhost/airwave-pg-base:$PG_SUITE
BIN="$AIRWAVE_CACHE/bin"
DOCKER="${DOCKER:-docker}"
NODE_FILES="$ROOT/stack/images/kind-node"

# ---- Go binaries, one folder per pinned version -----------------------------------------------------------------
gobin() {  # gobin NAME-VERSION CMD...: run CMD with GOBIN set, unless that folder is already complete
  local dir="$BIN/$1"; shift
  [ -f "$dir/.done" ] && return 0
  log "go build $(basename "$dir")"
  rm -rf "$dir"; mkdir -p "$dir"
  GOBIN="$dir" GOFLAGS=-buildvcs=false "$@"
  touch "$dir/.done"
}

build_binaries() {
  "$ROOT/hack/tools.sh" kubernetes   # kubelet, kubeadm, kubectl, control plane, kube-proxy, etcd
  # Static where upstream ships them static; runc needs cgo for seccomp (libseccomp-dev).
  gobin "containerd-$CONTAINERD_VERSION" env CGO_ENABLED=0 go install -trimpath \
    -tags "no_aufs no_zfs no_btrfs no_devmapper" \
    -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" \
    github.com/containerd/containerd/v2/cmd/{containerd,ctr,containerd-shim-runc-v2}@"$CONTAINERD_VERSION"
  gobin "runc-$RUNC_VERSION" env CGO_ENABLED=1 go install -trimpath -tags seccomp \
    -ldflags "-s -w -X main.version=${RUNC_VERSION#v}" "github.com/opencontainers/runc@$RUNC_VERSION"
  gobin "cni-plugins-$CNI_PLUGINS_VERSION" env CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
    github.com/containernetworking/plugins/plugins/{main/ptp,main/loopback,ipam/host-local,meta/portmap}@"$CNI_PLUGINS_VERSION"
  gobin "crictl-$CRICTL_VERSION" env CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
  gobin "coredns-$COREDNS_VERSION" env CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
    "github.com/coredns/coredns@$COREDNS_VERSION"
  gobin "local-path-provisioner-$LOCAL_PATH_VERSION" env CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
    "github.com/rancher/local-path-provisioner@$LOCAL_PATH_VERSION"
  gobin "registry-$REGISTRY_VERSION" env CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
    "github.com/distribution/distribution/v3/cmd/registry@$REGISTRY_VERSION"
  gobin "minio-$MINIO_VERSION" env CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "github.com/minio/minio@$MINIO_VERSION"
  gobin "mc-$MC_VERSION" env CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "github.com/minio/mc@$MC_VERSION"
  # Ours: built from the checkout every time (seconds; Go's cache keeps it).
  local ours="$BIN/airwave"; mkdir -p "$ours"
  (cd "$ROOT/stack/images/pause" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$ours/pause" .)
  (cd "$ROOT/stack/images/cni" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$ours/airwave-cni" .)
  (cd "$ROOT/stack/images/git-sync" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$ours/git-sync" .)
}

# ---- images -------------------------------------------------------------------------------------------------------
inputs_hash() {  # hash of the pins above and of the given files/folders
  { grep -E '^[A-Z_]+_(VERSION|TAG)=|^SUITE=' "$ROOT/hack/offline-images.sh"; for p in "$@"; do
      (cd "$ROOT" && find "${p#"$ROOT"/}" -type f -print0 | sort -z | xargs -0 sha256sum); done
  } | sha256sum | cut -c1-16   # paths relative to the checkout: a clean clone elsewhere hits the same cache
}
current() {  # current IMAGE HASH: the image exists and was built from these inputs
  [ "$($DOCKER image inspect -f '{{index .Config.Labels "airwave.inputs"}}' "$1" 2>/dev/null)" = "$2" ]
}

# image TAG HASH DOCKERFILE-TEXT FILE...: a classic `docker build` of a small context (no pull: FROM is local/scratch)
image() {
  local tag="$1" hash="$2" dockerfile="$3"; shift 3
  current "$tag" "$hash" && return 0
  log "docker build $tag"
  local ctx; ctx="$(mktemp -d)"
  cp -a "$@" "$ctx/"
  printf '%s\nLABEL airwave.inputs=%s\n' "$dockerfile" "$hash" > "$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 $DOCKER build -q ${PIP_INDEX_URL:+--build-arg "PIP_INDEX_URL=$PIP_INDEX_URL"} -t "$tag" "$ctx" >/dev/null
  rm -rf "$ctx"
}

# rootfs_image TAG SUITE PACKAGES HASH: a minbase Debian rootfs with PACKAGES (comma-separated), imported as TAG
rootfs_image() {
  local tag="$1" suite="$2" packages="$3" hash="$4"
  current "$tag" "$hash" && return 0
  command -v debootstrap >/dev/null || die "debootstrap missing (apt-get install debootstrap)"
  local rootfs; rootfs="$(mktemp -d "${TMPDIR:-/var/tmp}/airwave-rootfs.XXXXXX")"
  log "debootstrap $suite for $tag"
  debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} >&2
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
  tar -C "$rootfs" --numeric-owner -c . | $DOCKER import --change "LABEL airwave.inputs=$hash" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'ENV LANG=C.UTF-8' \
    - "$tag" >/dev/null
  rm -rf "$rootfs"
}

build_base() {  # Debian rootfs shared by the node and the images that need iptables (one layer, stored once)
  local hash; hash="$(inputs_hash "$ROOT/hack/node-image/packages")"
  current "$BASE_IMAGE" "$hash" && return 0
  command -v debootstrap >/dev/null || die "debootstrap missing (apt-get install debootstrap)"
  local rootfs; rootfs="$(mktemp -d "${TMPDIR:-/var/tmp}/airwave-node.XXXXXX")"
  log "debootstrap $SUITE node base"
  debootstrap --variant=minbase --include="$(grep -v '^#' "$ROOT/hack/node-image/packages" | paste -sd,)" \
    "$SUITE" "$rootfs" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} >&2
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
  tar -C "$rootfs" --numeric-owner -c . | $DOCKER import --change "LABEL airwave.inputs=$hash" - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
}

# System images: what kubeadm, kind's CNI/storage step and containerd start during `kind create cluster`, under
# the names they use (kubeadm v1.36.1's image list; pause as our containerd config names it).
SYSTEM_IMAGES=(
  "registry.k8s.io/kube-apiserver:$K8S_VERSION"
  "registry.k8s.io/kube-controller-manager:$K8S_VERSION"
  "registry.k8s.io/kube-scheduler:$K8S_VERSION"
  "registry.k8s.io/kube-proxy:$K8S_VERSION"
  "registry.k8s.io/etcd:$ETCD_TAG"
  "registry.k8s.io/coredns/coredns:$COREDNS_VERSION"
  "registry.k8s.io/pause:$PAUSE_TAG"
  "localhost/airwave-cni:$AIRWAVE_CNI_VERSION"
  "docker.io/rancher/local-path-provisioner:$LOCAL_PATH_VERSION"
  "localhost/airwave-busybox:1.35.0"
)
# Images the sandbox runs outside the cluster, under the names in stack/sandbox/sandbox.json.
HOST_IMAGES=("$(sj upstream_images.registry)")
# Images the sandbox's workloads pull, under the names in sandbox.json: `hack/cluster.sh up` with OFFLINE=1 pushes them
# to the local registry, which serves them to the nodes as a mirror of their upstream registry.
CLUSTER_IMAGES=("$(sj upstream_images.postgres)" "$(sj upstream_images.minio)" "$(sj upstream_images.mc)"
  "$(sj upstream_images.git_sync)")
# Base images our own images (Tilt's airwave-airflow and airwave-spark builds) start FROM.
BUILD_IMAGES=("$(sj upstream_images.airflow_base)" "$(sj upstream_images.spark_base)")

build_images() {
  local h="$1" k8s="$BIN/kubernetes-$K8S_VERSION" c
  local scratch_bin='FROM scratch
ENV PATH=/usr/local/bin'
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    image "registry.k8s.io/$c:$K8S_VERSION" "$h" "$scratch_bin
COPY $c /usr/local/bin/$c" "$k8s/$c"      # kubeadm's static pods run [$c, flags...] from PATH
  done
  image "registry.k8s.io/etcd:$ETCD_TAG" "$h" "$scratch_bin
COPY etcd /usr/local/bin/etcd" "$k8s/etcd"
  image "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" "$h" 'FROM scratch
COPY coredns /coredns
ENTRYPOINT ["/coredns"]' "$BIN/coredns-$COREDNS_VERSION/coredns"
  image "registry.k8s.io/pause:$PAUSE_TAG" "$h" 'FROM scratch
COPY pause /pause
ENTRYPOINT ["/pause"]' "$BIN/airwave/pause"
  # kube-proxy and our CNI daemon run iptables in the node's network namespace: Debian's, on the node base (the
  # same layer as the node's root, so containerd stores it once), with the node's backend selection.
  local select="$NODE_FILES/files/usr/local/bin/iptables-select"
  cp "$k8s/kube-proxy" "$AIRWAVE_CACHE/kube-proxy.bin"
  printf '#!/bin/sh\niptables-select && exec /usr/local/bin/kube-proxy.bin "$@"\n' > "$AIRWAVE_CACHE/kube-proxy"
  chmod +x "$AIRWAVE_CACHE/kube-proxy"
  image "registry.k8s.io/kube-proxy:$K8S_VERSION" "$h" "FROM $BASE_IMAGE
COPY iptables-select kube-proxy kube-proxy.bin /usr/local/bin/" \
    "$select" "$AIRWAVE_CACHE/kube-proxy" "$AIRWAVE_CACHE/kube-proxy.bin"   # kubeadm runs /usr/local/bin/kube-proxy
  image "localhost/airwave-cni:$AIRWAVE_CNI_VERSION" "$h" "FROM $BASE_IMAGE
COPY iptables-select airwave-cni /usr/local/bin/
ENTRYPOINT [\"/bin/sh\", \"-c\", \"iptables-select && exec airwave-cni\"]" "$select" "$BIN/airwave/airwave-cni"
  image "docker.io/rancher/local-path-provisioner:$LOCAL_PATH_VERSION" "$h" 'FROM scratch
COPY local-path-provisioner /local-path-provisioner
ENTRYPOINT ["/local-path-provisioner"]' "$BIN/local-path-provisioner-$LOCAL_PATH_VERSION/local-path-provisioner"
  image "localhost/airwave-busybox:1.35.0" "$h" 'FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]' /bin/busybox      # sh, mkdir, rm for the storage helper pods
  image "$(sj upstream_images.registry)" "$h" 'FROM scratch
COPY registry /bin/registry
COPY config.yml /etc/distribution/config.yml
VOLUME ["/var/lib/registry"]
EXPOSE 5000
ENTRYPOINT ["/bin/registry"]
CMD ["serve", "/etc/distribution/config.yml"]' "$BIN/registry-$REGISTRY_VERSION/registry" "$ROOT/stack/images/registry/config.yml"
}

# The sandbox's own images, each stand-in under its upstream name; what they do not reproduce is said in their files.
build_cluster_images() {
  local img="$ROOT/stack/images" ours="$BIN/airwave" h
  rootfs_image "$PY_BASE" "$SUITE" ca-certificates,python3,python3-venv,git,dumb-init "$(inputs_hash)"
  rootfs_image "$PG_BASE" "$PG_SUITE" postgresql-17 "$(inputs_hash)"
  # Airflow: 3.3.2 + our providers by pip (constraints.txt), user/home/entrypoint as the official image. pip trusts
  # BUILD_CA_CERT (default PIP_CERT) during the build, for networks whose egress proxy re-signs TLS (as hack/image.sh).
  local ca="${BUILD_CA_CERT:-${PIP_CERT:-}}"
  if [ -n "$ca" ]; then cp "$ca" "$AIRWAVE_CACHE/build-ca.pem"; else : > "$AIRWAVE_CACHE/build-ca.pem"; fi
  image "$(sj upstream_images.airflow_base)" "$(inputs_hash "$img/airflow-base")" \
    "$(cat "$img/airflow-base/Dockerfile")" "$img/airflow-base/constraints.txt" "$img/airflow-base/entrypoint" \
    "$AIRWAVE_CACHE/build-ca.pem"
  # Postgres 17 from Debian trixie with the official entrypoint's contract (POSTGRES_USER/_PASSWORD/_DB, PGDATA).
  image "$(sj upstream_images.postgres)" "$(inputs_hash "$img/postgres")" "FROM $PG_BASE
RUN rm -rf /etc/postgresql/17 /var/lib/postgresql/17   # the package's own cluster: ours is initdb'd in PGDATA
COPY docker-entrypoint.sh /usr/local/bin/
ENV PATH=/usr/lib/postgresql/17/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    PGDATA=/var/lib/postgresql/data
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT [\"docker-entrypoint.sh\"]
CMD [\"postgres\"]" "$img/postgres/docker-entrypoint.sh"
  # MinIO and mc: static Go binaries with busybox's sh (the buckets Job runs `sh -ec`), as the upstream images.
  image "$(sj upstream_images.minio)" "$(inputs_hash "$BIN/minio-$MINIO_VERSION")" 'FROM localhost/airwave-busybox:1.35.0
COPY minio /usr/bin/minio
EXPOSE 9000
ENTRYPOINT ["/usr/bin/minio"]' "$BIN/minio-$MINIO_VERSION/minio"
  image "$(sj upstream_images.mc)" "$(inputs_hash)" 'FROM localhost/airwave-busybox:1.35.0
COPY mc /usr/bin/mc
ENTRYPOINT ["/usr/bin/mc"]' "$BIN/mc-$MC_VERSION/mc"
  # git-sync: our stand-in (stack/images/git-sync) + Debian's git, as uid 65533 like the real image.
  h="$(inputs_hash "$img/git-sync")"
  image "$(sj upstream_images.git_sync)" "$h" "FROM $PY_BASE
COPY git-sync /git-sync
USER 65533:65533
ENTRYPOINT [\"/git-sync\"]" "$ours/git-sync"
  # Spark: hack/base-image.sh's bookworm + OpenJDK 17 stand-in for the Temurin base.
  $DOCKER image inspect localhost/airwave-spark-base:bookworm >/dev/null 2>&1 || "$ROOT/hack/base-image.sh" >&2
  $DOCKER tag localhost/airwave-spark-base:bookworm "$(sj upstream_images.spark_base)"
}

# The node: our files and binaries on the base, then the system images imported into its containerd the way kind
# builds its own (containerd run inside a plain container of the image, `ctr import --no-unpack`, docker commit).
build_node() {
  local h="$1" k8s="$BIN/kubernetes-$K8S_VERSION"
  current "$NODE_IMAGE" "$h" && return 0
  local ctx; ctx="$(mktemp -d)"
  cp -a "$NODE_FILES/." "$ctx/"
  mkdir -p "$ctx/bin/usr/bin" "$ctx/bin/usr/local/bin" "$ctx/bin/usr/local/sbin" "$ctx/bin/opt/cni/bin" "$ctx/bin/kind"
  cp "$k8s"/{kubelet,kubeadm,kubectl} "$ctx/bin/usr/bin/"
  cp "$BIN/containerd-$CONTAINERD_VERSION"/{containerd,ctr,containerd-shim-runc-v2} "$BIN/crictl-$CRICTL_VERSION/crictl" \
    "$ctx/bin/usr/local/bin/"
  cp "$BIN/runc-$RUNC_VERSION/runc" "$ctx/bin/usr/local/sbin/"
  cp "$BIN/cni-plugins-$CNI_PLUGINS_VERSION"/{ptp,loopback,host-local,portmap} "$ctx/bin/opt/cni/bin/"
  echo "$K8S_VERSION" > "$ctx/bin/kind/version"    # kind reads it (one line) to pick the kubeadm API
  log "docker build $NODE_IMAGE (files and binaries)"
  DOCKER_BUILDKIT=0 $DOCKER build -q --build-arg "BASE_IMAGE=$BASE_IMAGE" -t localhost/airwave-node-stage "$ctx" >/dev/null
  rm -rf "$ctx"

  log "preloading ${#SYSTEM_IMAGES[@]} system images into $NODE_IMAGE"
  local ctr="airwave-node-preload-$$" img
  $DOCKER rm -f -v "$ctr" >/dev/null 2>&1 || true
  $DOCKER run -d --init --name "$ctr" --entrypoint sleep localhost/airwave-node-stage infinity >/dev/null  # --init reaps
  $DOCKER exec "$ctr" sh -c 'containerd >/tmp/containerd.log 2>&1 &'
  for _ in $(seq 30); do $DOCKER exec "$ctr" ctr version >/dev/null 2>&1 && break; sleep 1; done
  for img in "${SYSTEM_IMAGES[@]}"; do
    $DOCKER save "$img" | $DOCKER exec -i "$ctr" ctr -n k8s.io images import --all-platforms --no-unpack \
      --label io.cri-containerd.pinned=pinned - >/dev/null 2>&1   # pinned: kept by the kubelet's image GC
  done
  local imported; imported="$($DOCKER exec "$ctr" ctr -n k8s.io images ls -q 2>/dev/null)"
  for img in "${SYSTEM_IMAGES[@]}"; do grep -qxF "$img" <<<"$imported" || die "preloading $img failed"; done
  $DOCKER exec "$ctr" sh -c 'pkill containerd; while pgrep -x containerd >/dev/null; do sleep 0.2; done; rm -rf /tmp/*'
  $DOCKER commit --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' \
    --change "LABEL airwave.inputs=$h" "$ctr" "$NODE_IMAGE" >/dev/null
  $DOCKER rm -f -v "$ctr" >/dev/null
}

build_packages() {  # what the builds below take from Debian: runc's seccomp (cgo, pkg-config), the helper's busybox
  local p missing=()
  for p in debootstrap libseccomp-dev pkg-config busybox-static; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
}

case "${1:-build}" in
  build)
    [ "$(id -u)" = 0 ] || die "needs root (debootstrap, dockerd)"
    build_packages
    eval "$("$ROOT/hack/docker-up.sh")"
    build_binaries
    build_base
    h="$(inputs_hash "$ROOT/hack/offline-images.sh" "$ROOT/hack/tools.sh" "$ROOT/hack/kubernetes" "$NODE_FILES" "$ROOT/stack/images/pause" \
         "$ROOT/stack/images/cni" "$ROOT/stack/images/registry")"
    build_images "$h"
    build_node "$h"
    build_cluster_images
    $DOCKER image prune -f --filter label=airwave.inputs >/dev/null   # the previous builds, now untagged
    log "offline images ready; node image: $NODE_IMAGE"
    echo "$NODE_IMAGE" ;;
  binaries) build_packages; build_binaries ;;
  list) printf '%s\n' "$NODE_IMAGE" "${SYSTEM_IMAGES[@]}" "${HOST_IMAGES[@]}" "${CLUSTER_IMAGES[@]}" "${BUILD_IMAGES[@]}" ;;
  cluster-images) printf '%s\n' "${CLUSTER_IMAGES[@]}" ;;
  node-image) echo "$NODE_IMAGE" ;;
  *) die "usage: $0 [build|binaries|list|cluster-images|node-image]" ;;
esac
