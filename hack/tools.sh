#!/usr/bin/env bash
# Pinned tools into the project-local .tools/bin (override the folder with TOOLS_BIN).
#   hack/tools.sh [all|kind|kubectl|tilt|kustomize|minio|apiserver|jars|versions]
# Each step is skipped when its result is already in place, so a machine that has the tools and jars
# (e.g. offline, prepared earlier) never downloads anything. Point KIND/KUBECTL/TILT/KUSTOMIZE at
# your own binaries to use those instead (make and the scripts honour them).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KIND_VERSION=v0.32.0          # go install from the Go module proxy
KUBECTL_VERSION=v1.36.1       # matches the kind node image (stack.json upstream_images.kind_node)
TILT_VERSION=0.37.6           # release binary; tilt's web UI is not part of its Go module
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
MAVEN_REPO="${MAVEN_REPO:-https://repo1.maven.org/maven2}"
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

# kube-apiserver + etcd for tests/stack/test_apiserver.py (the manifests and RBAC checked by a real API server).
# Built from hack/apiserver/go.mod (versions and go.sum pinned there); ~10 min of compiling on 2 cores, once.
APISERVER_VERSION=v1.36.1     # = the kind node image; hack/apiserver/go.mod requires k8s.io/kubernetes at it
install_apiserver() {
  have kube-apiserver && have etcd && return 0
  command -v go >/dev/null || die "kube-apiserver needs Go to build; install Go or put kube-apiserver and etcd in $TOOLS_BIN"
  local ld="-s -w" kv minor="${APISERVER_VERSION#v1.}"; minor="${minor%%.*}"
  for kv in gitVersion=$APISERVER_VERSION gitMajor=1 gitMinor=$minor gitTreeState=clean; do
    ld="$ld -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"  # else it reports v0.0.0
  done
  log "go build kube-apiserver $APISERVER_VERSION and etcd (hack/apiserver)"
  (cd "$ROOT/hack/apiserver" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "$ld" \
     -o "$TOOLS_BIN/" k8s.io/kubernetes/cmd/kube-apiserver ./etcd)
}

install_kubectl() {
  have kubectl && return 0
  local url="https://dl.k8s.io/release/$KUBECTL_VERSION/bin/$OS/$ARCH/kubectl" tmp
  log "download kubectl $KUBECTL_VERSION"
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' RETURN
  curl -fsSLo "$tmp/kubectl" "$url"
  curl -fsSLo "$tmp/kubectl.sha256" "$url.sha256"          # published next to the binary
  echo "$(cat "$tmp/kubectl.sha256")  $tmp/kubectl" | sha256sum -c - >/dev/null
  install -m 0755 "$tmp/kubectl" "$TOOLS_BIN/kubectl"
}

install_tilt() {
  have tilt && return 0
  local a; case "$ARCH" in amd64) a=x86_64;; *) a="$ARCH";; esac
  local base="https://github.com/tilt-dev/tilt/releases/download/v$TILT_VERSION"
  local o="$OS"; [ "$o" = darwin ] && o=mac
  local file="tilt.$TILT_VERSION.$o.$a.tar.gz" tmp
  log "download tilt $TILT_VERSION"
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' RETURN
  curl -fsSLo "$tmp/$file" "$base/$file"
  curl -fsSLo "$tmp/checksums.txt" "$base/checksums.txt"
  (cd "$tmp" && grep " $file\$" checksums.txt | sha256sum -c - >/dev/null)
  tar -xzf "$tmp/$file" -C "$tmp" tilt
  install -m 0755 "$tmp/tilt" "$TOOLS_BIN/tilt"
}

fetch_jar() {  # fetch_jar GROUP_PATH ARTIFACT VERSION SHA256
  local out="$JARS_DIR/$2-$3.jar"
  if [ -f "$out" ] && echo "$4  $out" | sha256sum -c - >/dev/null 2>&1; then return 0; fi
  log "download $2-$3.jar from $MAVEN_REPO"
  curl -fsSLo "$out.part" "$MAVEN_REPO/$1/$2/$3/$2-$3.jar"
  echo "$4  $out.part" | sha256sum -c - >/dev/null || { rm -f "$out.part"; die "sha256 mismatch for $2-$3.jar"; }
  mv "$out.part" "$out"
}
install_jars() {
  mkdir -p "$JARS_DIR"
  fetch_jar org/apache/hadoop hadoop-aws "$HADOOP_AWS_VERSION" "$HADOOP_AWS_SHA256"
  fetch_jar software/amazon/awssdk bundle "$AWS_SDK_VERSION" "$AWS_SDK_SHA256"   # ~690 MB
  fetch_jar software/amazon/s3/analyticsaccelerator analyticsaccelerator-s3 "$AAL_VERSION" "$AAL_SHA256"
}

versions() {
  echo "kind $KIND_VERSION | kubectl $KUBECTL_VERSION | tilt $TILT_VERSION | kustomize $KUSTOMIZE_VERSION | minio $MINIO_VERSION | kube-apiserver $APISERVER_VERSION"
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
  jars) install_jars ;;
  versions) versions ;;
  *) die "unknown tool: $1 (all|kind|kubectl|tilt|kustomize|minio|apiserver|jars|versions)" ;;
esac
