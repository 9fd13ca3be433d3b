#!/usr/bin/env bash
# Build (and push) one of our images under the fixed name in src/airwave/cluster/defaults.json
# (images.*:images.tag), or under REF.
#   hack/image.sh airflow|spark [--push]
#   hack/image.sh airflow|spark --tag REF     (Tilt's custom_build: REF is $EXPECTED_REF; Tilt tags by content, pushes)
# Base images: stack/sandbox/sandbox.json upstream_images.{airflow,spark}_base, or AIRFLOW_BASE_IMAGE /
# SPARK_BASE_IMAGE. PIP_INDEX_URL is passed on to the Spark build when set; BUILD_CA_CERT (default: PIP_CERT) is a
# CA bundle file pip trusts inside the Spark build (TLS-intercepting proxies). DOCKER_BUILD_ARGS: extra `docker
# build` flags, e.g. "--network host" where the default bridge network has no route out.
# Offline (no registry): build a base first with hack/base-image.sh and point SPARK_BASE_IMAGE at it.
# The build context is staged in a temp dir with only what the image needs (no .venv, no .git).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DOCKER="${DOCKER:-docker}"
which="${1:-}"; push="${2:-}"
ref="$(sj "images.$which" 2>/dev/null || die "usage: $0 airflow|spark [--push|--tag REF]"):$(sj images.tag)"
if [ "$push" = --tag ]; then ref="${3:?usage: $0 airflow|spark --tag REF}"; push=; fi
ctx="$(mktemp -d)"; trap 'rm -rf "$ctx"' EXIT
cp -r "$ROOT/stack/images/$which/." "$ctx/"
args=()
case "$which" in
  airflow) args+=(--build-arg "AIRFLOW_BASE_IMAGE=$(upstream_image airflow_base)") ;;
  spark)
    ls "$ctx"/jars/hadoop-aws-*.jar "$ctx"/jars/bundle-*.jar >/dev/null 2>&1 ||
      die "Spark jars missing in stack/images/spark/jars: run hack/tools.sh jars"
    cp "$ROOT/pyproject.toml" "$ROOT/constraints.txt" "$ctx/"
    if [ -f "$ROOT/README.md" ]; then cp "$ROOT/README.md" "$ctx/"; else echo "# airwave" > "$ctx/README.md"; fi
    cp -r "$ROOT/src" "$ctx/src"
    find "$ctx/src" -name __pycache__ -prune -exec rm -rf {} +
    args+=(--build-arg "SPARK_BASE_IMAGE=$(upstream_image spark_base)")
    [ -n "${PIP_INDEX_URL:-}" ] && args+=(--build-arg "PIP_INDEX_URL=$PIP_INDEX_URL")
    ca="${BUILD_CA_CERT:-${PIP_CERT:-}}"
    if [ -n "$ca" ]; then
      [ -f "$ca" ] || die "BUILD_CA_CERT/PIP_CERT is not a file: $ca"
      cp "$ca" "$ctx/build-ca.pem"
    else
      : > "$ctx/build-ca.pem"
    fi ;;
  *) die "usage: $0 airflow|spark [--push|--tag REF]" ;;
esac
log "building $ref"
# shellcheck disable=SC2086  # DOCKER_BUILD_ARGS is a list of flags
$DOCKER build ${DOCKER_BUILD_ARGS:-} "${args[@]}" -t "$ref" "$ctx"
if [ "$push" = --push ]; then
  log "pushing $ref"
  $DOCKER push "$ref"
fi
# Tilt tags every build anew (tilt-<hash>): drop the tags of earlier builds of this repository, or each `make up`
# after an edit would keep another ~1-2.5 GB image on disk. Their layers shared with this build stay.
if [[ "${ref##*:}" == tilt-* ]]; then
  repo="${ref%:*}"; id="$($DOCKER image inspect -f '{{.Id}}' "$ref")"
  $DOCKER images "$repo" --format '{{.Tag}} {{.ID}}' | while read -r tag short; do
    [[ "$tag" == tilt-* && "$id" != *"$short"* ]] && $DOCKER rmi "$repo:$tag" >/dev/null 2>&1 || true
  done
fi
