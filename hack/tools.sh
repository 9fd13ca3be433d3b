#!/usr/bin/env bash
# Pinned tools into the project-local .tools/bin (override the folder with TOOLS_BIN).
#   hack/tools.sh [all|kind|kubectl|tilt|kustomize|minio|apiserver|kubernetes|jars|versions]
# Each step is skipped when its result is already in place, so a machine that has the tools and jars
# (e.g. offline, prepared earlier) never downloads anything. Point KIND/KUBECTL/TILT/KUSTOMIZE at
# your own binaries to use those instead (make and the scripts honour them).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KIND_VERSION=v0.32.0          # go install from the Go module proxy
KUBECTL_VERSION=v1.36.1       # matches the kind node image (sandbox.json upstream_images.kind_node); offline: built
TILT_VERSION=0.37.6           # release binary, or built from hack/tilt (= its go.mod) without the web UI
KUSTOMIZE_VERSION=v5.8.1      # go install; v5.8.3 needs a newer Go than 1.26
# MinIO server for the host-side S3 tests (make test): the final commit of the archived repo. Its tags are not
# semver, so the proxy serves it by pseudo-version only. The cluster runs the last published image instead.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
# s3a support for pyspark 4.3.0 (hadoop-client 3.5.0): matching hadoop-aws and AWS SDK v2 bundle.
HADOOP_AWS_VERSION=3.5.0
HADOOP_AWS_SHA256=66bd9eefb938b1a1657487324b63c13df2d8b17164a1dd24e0ef37b905bc5baa
AWS_SDK_VERSION=2.35.4
AWS_SDK_SHA256=db4b55f24ad1b4e70f17eb1717a4de76a8dadc5a27d764be7c44ff67b2c1c677
# hadoop-aws >= 3.4.2 also needs the (shaded, dependency-free) Analytics Accelerator Library at run time:
# without it the first s3a read fails with ClassNotFoundException ...analyticsaccelerator.request.ObjectClient.
AAL_VERSION=1.3.1             # hadoop-project-3.5.0.pom: amazon-s3-analyticsaccelerator-s3.version
AAL_SHA256=4959a9747cbb479c73c3ffbcd479bee5b014f8b2880994585a8693fb9d24675e
MAVEN_REPO="${MAVEN_REPO:-}"  # empty: Maven's own default repository (or your settings.xml mirror)
JARS_DIR="$ROOT/stack/images/spark/jars"

OS="$(uname -s | tr '[:upper:]' '[:lower:]')"
ARCH="$(uname -m)"; case "$ARCH" in x86_64) ARCH=amd64;; aarch64|arm64) ARCH=arm64;; esac

have() { [ -x "$TOOLS_BIN/$1" ]; }
go_install() {  # go_install NAME MODULE@VERSION
  have "$1" && return 0
  command -v go >/dev/null || die "$1 needs Go to install ($2); install Go or put $1 in $TOOLS_BIN"
  log "go install $2"
  GOBIN="$TOOLS_BIN" GOFLAGS=-buildvcs=false go install "$2"
}

install_kind() { go_install kind "sigs.k8s.io/kind@$KIND_VERSION"; }
install_kustomize() { go_install kustomize "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"; }
install_minio() { go_install minio "github.com/minio/minio@$MINIO_VERSION"; }

# Kubernetes binaries from hack/kubernetes/go.mod (versions and go.sum pinned there): kube-apiserver + etcd for
# tests/stack/test_apiserver.py, kubectl where it cannot be downloaded, all of them for our kind node image
# (hack/offline-images.sh). ~10 min of compiling on 2 cores for the API server, ~25 min for all; Go's cache keeps it.
K8S_VERSION=v1.36.1           # = the kind node image; hack/kubernetes/go.mod requires k8s.io/kubernetes at it
K8S_CACHE="$AIRWAVE_CACHE/bin/kubernetes-$K8S_VERSION"
kube_build() {  # kube_build OUT_DIR NAME... (NAME: a k8s.io/kubernetes/cmd/NAME, or etcd)
  local out="$1" ld="-s -w" kv minor="${K8S_VERSION#v1.}" pkgs=() n; shift; minor="${minor%%.*}"
  command -v go >/dev/null || die "$* need Go to build; install Go or put them in $out"
  for kv in gitVersion=$K8S_VERSION gitMajor=1 gitMinor=$minor gitTreeState=clean; do
    ld="$ld -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"  # kubeadm derives its
  done                                                                                  # supported versions from it
  for n in "$@"; do [ "$n" = etcd ] && pkgs+=(./etcd) || pkgs+=("k8s.io/kubernetes/cmd/$n"); done
  log "go build $* $K8S_VERSION (hack/kubernetes)"
  mkdir -p "$out"
  (cd "$ROOT/hack/kubernetes" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "$ld" \
     -o "$out/" "${pkgs[@]}")
}
install_apiserver() { if ! { have kube-apiserver && have etcd; }; then kube_build "$TOOLS_BIN" kube-apiserver etcd; fi; }
install_kubernetes() {  # everything our node image needs, into the cache (outlives the checkout)
  [ -f "$K8S_CACHE/.done" ] && return 0
  kube_build "$K8S_CACHE" kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubeadm kubectl kubelet etcd
  touch "$K8S_CACHE/.done"
}

install_kubectl() {
  have kubectl && return 0
  if [ "${OFFLINE:-}" = 1 ] || ! download_kubectl; then   # no release downloads here: the same version from source
    if [ -x "$K8S_CACHE/kubectl" ]; then install -m 0755 "$K8S_CACHE/kubectl" "$TOOLS_BIN/kubectl"
    else kube_build "$TOOLS_BIN" kubectl; fi
  fi
}
download_kubectl() {
  local url="https://dl.k8s.io/release/$KUBECTL_VERSION/bin/$OS/$ARCH/kubectl" tmp
  log "download kubectl $KUBECTL_VERSION"
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' RETURN
  curl -fsSLo "$tmp/kubectl" "$url" && curl -fsSLo "$tmp/kubectl.sha256" "$url.sha256" || return 1  # sha256 beside it
  echo "$(cat "$tmp/kubectl.sha256")  $tmp/kubectl" | sha256sum -c - >/dev/null || return 1
  install -m 0755 "$tmp/kubectl" "$TOOLS_BIN/kubectl"
}

# Tilt: the release binary when it can be downloaded (it has the web UI). With TILT_FROM_SOURCE=1 or OFFLINE=1, or
# when the download fails, built from the wrapper module hack/tilt instead (cached in $AIRWAVE_CACHE/bin, keyed on
# the version, so a clean checkout does not rebuild).
install_tilt() {
  have tilt && return 0
  if [ "${TILT_FROM_SOURCE:-}" != 1 ] && [ "${OFFLINE:-}" != 1 ]; then
    download_tilt && return 0
    log "tilt download failed; building it from source instead"
  fi
  build_tilt
  ln -f "$TILT_CACHE/tilt" "$TOOLS_BIN/tilt" 2>/dev/null || cp -f "$TILT_CACHE/tilt" "$TOOLS_BIN/tilt"
}

download_tilt() {  # non-zero when the release cannot be fetched or verified (set -e is off in a caller's `&&`)
  local a; case "$ARCH" in amd64) a=x86_64;; *) a="$ARCH";; esac
  local base="https://github.com/tilt-dev/tilt/releases/download/v$TILT_VERSION"
  local o="$OS"; [ "$o" = darwin ] && o=mac
  local file="tilt.$TILT_VERSION.$o.$a.tar.gz"
  log "download tilt $TILT_VERSION"
  ( tmp="$(mktemp -d)" && trap 'rm -rf "$tmp"' EXIT &&
    curl -fsSL --connect-timeout 20 -o "$tmp/$file" "$base/$file" &&
    curl -fsSL --connect-timeout 20 -o "$tmp/checksums.txt" "$base/checksums.txt" &&
    (cd "$tmp" && grep " $file\$" checksums.txt | sha256sum -c - >/dev/null) &&
    tar -xzf "$tmp/$file" -C "$tmp" tilt &&
    install -m 0755 "$tmp/tilt" "$TOOLS_BIN/tilt" )
}

# From source: `go install github.com/tilt-dev/tilt/cmd/tilt@v0.37.6` is refused (tilt's go.sum disagrees with the
# checksum database on docker/buildx), and the module has no web UI: pkg/assets embeds an empty build/ (releases
# fill it with yarn), so a version-stamped build refuses to start ("running in prod mode, but JS/CSS files are not
# available"). go build -overlay may not touch files in GOMODCACHE, so tilt's module is copied to a temp folder with
# build/ holding only our hack/tilt/index.html, and a temp copy of hack/tilt replaces tilt with that folder.
TILT_CACHE="$AIRWAVE_CACHE/bin/tilt-v$TILT_VERSION"
build_tilt() {
  [ -x "$TILT_CACHE/tilt" ] && return 0
  command -v go >/dev/null || die "tilt needs Go to build; install Go or put tilt in $TOOLS_BIN"
  command -v "${CC:-gcc}" >/dev/null || die "tilt needs a C compiler to build (cgo: go-tree-sitter); install gcc"
  log "go build tilt $TILT_VERSION (hack/tilt; ~10 min cold on 2 cores, once; the web UI is a stub page)"
  mkdir -p "$TILT_CACHE"
  ( tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
    cd "$ROOT/hack/tilt"
    go mod download github.com/tilt-dev/tilt
    src="$(go list -m -f '{{.Dir}}' github.com/tilt-dev/tilt)"
    date="$(go list -m -f '{{.Time.Format "2006-01-02T15:04:05Z07:00"}}' github.com/tilt-dev/tilt)"  # reproducible
    cp -r "$src" "$tmp/tilt"; chmod -R u+w "$tmp/tilt"
    rm -rf "$tmp/tilt/pkg/assets/build"; mkdir "$tmp/tilt/pkg/assets/build"   # not even their robots.txt
    cp index.html "$tmp/tilt/pkg/assets/build/"
    mkdir "$tmp/main"; cp go.mod go.sum tools.go "$tmp/main/"; cd "$tmp/main"
    go mod edit -replace github.com/tilt-dev/tilt=../tilt   # relative: no temp path in the binary
    # release flags (.goreleaser.yml): -X main.version makes it a release build (web mode prod: the embedded page)
    CGO_ENABLED=1 GOFLAGS=-buildvcs=false go build -trimpath -tags osusergo -o "$TILT_CACHE/tilt.part$$" \
      -ldflags "-s -w -X main.version=$TILT_VERSION -X main.date=$date" github.com/tilt-dev/tilt/cmd/tilt
    mv "$TILT_CACHE/tilt.part$$" "$TILT_CACHE/tilt" )   # $$: two concurrent runs do not share a file
}

fetch_jar() {  # fetch_jar GROUP ARTIFACT VERSION SHA256: through Maven (its cache outlives the checkout)
  local out="$JARS_DIR/$2-$3.jar" m2="$AIRWAVE_CACHE/m2"
  if [ -f "$out" ] && echo "$4  $out" | sha256sum -c - >/dev/null 2>&1; then return 0; fi
  if ! command -v mvn >/dev/null; then   # Debian as root (CI): install it, as make does for Java
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
      die "the Spark jars come through Maven: install it (apt-get install maven)"
    apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q maven >&2
  fi
  log "mvn dependency:get $1:$2:$3"
  mvn -q -B -Dmaven.repo.local="$m2" dependency:get -Dartifact="$1:$2:$3" -Dtransitive=false \
    ${MAVEN_REPO:+-DremoteRepositories="$MAVEN_REPO"} >&2
  local jar="$m2/${1//.//}/$2/$3/$2-$3.jar"
  echo "$4  $jar" | sha256sum -c - >/dev/null || die "sha256 mismatch for $2-$3.jar"
  cp "$jar" "$out.part" && mv "$out.part" "$out"
}
install_jars() {
  mkdir -p "$JARS_DIR"
  fetch_jar org.apache.hadoop hadoop-aws "$HADOOP_AWS_VERSION" "$HADOOP_AWS_SHA256"
  fetch_jar software.amazon.awssdk bundle "$AWS_SDK_VERSION" "$AWS_SDK_SHA256"   # ~690 MB
  fetch_jar software.amazon.s3.analyticsaccelerator analyticsaccelerator-s3 "$AAL_VERSION" "$AAL_SHA256"
}

versions() {
  echo "kind $KIND_VERSION | kubectl $KUBECTL_VERSION | tilt $TILT_VERSION | kustomize $KUSTOMIZE_VERSION | minio $MINIO_VERSION | kubernetes $K8S_VERSION"
  echo "hadoop-aws $HADOOP_AWS_VERSION | aws-sdk bundle $AWS_SDK_VERSION | analyticsaccelerator-s3 $AAL_VERSION"
}

mkdir -p "$TOOLS_BIN"
case "${1:-all}" in
  all) install_kind; install_kubectl; install_tilt; install_kustomize ;;
  kind) install_kind ;;
  kubectl) install_kubectl ;;
  tilt) install_tilt ;;
  kustomize) install_kustomize ;;
  minio) install_minio ;;
  apiserver) install_apiserver ;;
  kubernetes) install_kubernetes ;;
  jars) install_jars ;;
  versions) versions ;;
  *) die "unknown tool: $1 (all|kind|kubectl|tilt|kustomize|minio|apiserver|kubernetes|jars|versions)" ;;
esac
