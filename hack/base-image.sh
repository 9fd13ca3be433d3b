#!/usr/bin/env bash
# Offline stand-in for the Spark base image (sandbox.json upstream_images.spark_base, Temurin JRE on Ubuntu noble).
#   sudo hack/base-image.sh [TAG]        (default localhost/airwave-spark-base:bookworm)
#   SPARK_BASE_IMAGE=localhost/airwave-spark-base:bookworm hack/image.sh spark
# Why: a CI machine without a container registry cannot pull any image, but it can reach a Debian mirror. This
# builds the same contract (Java 17+ at $JAVA_HOME, apt, python3 >= 3.11 installable) from debootstrap + docker
# import. Needs root (debootstrap). Env: SUITE (bookworm), DEBIAN_MIRROR, DOCKER (e.g. "docker -H unix://...").
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DOCKER="${DOCKER:-docker}"
SUITE="${SUITE:-bookworm}"                      # python3 3.11 (pyspark 4.3 needs >= 3.11), openjdk 17
DEBIAN_MIRROR="${DEBIAN_MIRROR:-}"             # empty: debootstrap's own default mirror
JRE_PACKAGE="${JRE_PACKAGE:-openjdk-17-jre-headless}"   # Spark 4 needs Java 17+
tag="${1:-localhost/airwave-spark-base:$SUITE}"
command -v debootstrap >/dev/null || die "debootstrap missing (apt-get install debootstrap)"
[ "$(id -u)" = 0 ] || die "debootstrap needs root"

arch="$(dpkg --print-architecture)"
rootfs="$(mktemp -d "${TMPDIR:-/var/tmp}/airwave-base.XXXXXX")"; trap 'rm -rf "$rootfs"' EXIT
log "debootstrap $SUITE ($arch) + $JRE_PACKAGE from ${DEBIAN_MIRROR:-the default mirror}"
debootstrap --variant=minbase --arch="$arch" --include="ca-certificates,$JRE_PACKAGE" \
  "$SUITE" "$rootfs" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} >&2
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs"/tmp/*
java_home="/usr/lib/jvm/java-17-openjdk-$arch"
[ -x "$rootfs$java_home/bin/java" ] || die "no java at $java_home in the rootfs"

log "importing $tag"
tar -C "$rootfs" --numeric-owner -c . | $DOCKER import \
  --change "ENV JAVA_HOME=$java_home" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["bash"]' \
  - "$tag"
