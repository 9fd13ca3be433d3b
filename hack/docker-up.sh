#!/usr/bin/env bash
# A Docker engine for CI machines that have none running (Debian, root): installs docker.io and debootstrap from
# apt when missing, starts dockerd on a private socket unless one answers there, and prints the line to eval:
#   eval "$(hack/docker-up.sh)"        -> export DOCKER_HOST=unix:///run/airwave-docker.sock
# Data lives outside the checkout (AIRWAVE_DOCKER_ROOT, default /var/lib/airwave-docker), so image layers stay
# cached between runs. Where the machine lacks CAP_SYS_RESOURCE (our CI), dockerd's default runtime is
# hack/docker/runc-wrapper, so that `--privileged` containers (kind nodes) can start.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DATA="${AIRWAVE_DOCKER_ROOT:-/var/lib/airwave-docker}"
SOCK="${AIRWAVE_DOCKER_SOCK:-/run/airwave-docker.sock}"
export DOCKER_HOST="unix://$SOCK"

if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || die "starting dockerd needs root"
  if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
    log "apt-get install docker.io debootstrap"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io debootstrap >&2
  fi
  mkdir -p "$DATA"
  runtime=()
  capbnd="$(awk '/^CapBnd:/ {print $2}' /proc/self/status)"
  if (( (0x$capbnd >> 24 & 1) == 0 )); then   # bit 24 = CAP_SYS_RESOURCE
    install -m 0755 "$ROOT/hack/docker/runc-wrapper" "$DATA/runc-wrapper"   # outlives this checkout
    runtime=(--add-runtime "airwave-runc=$DATA/runc-wrapper" --default-runtime airwave-runc)
  fi
  log "starting dockerd on $SOCK (data in $DATA)"
  setsid dockerd --host "$DOCKER_HOST" --data-root "$DATA/data" --exec-root "$DATA/exec" \
    --pidfile "$DATA/dockerd.pid" "${runtime[@]}" >"$DATA/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || die "dockerd did not start: $(tail -5 "$DATA/dockerd.log")"
fi
echo "export DOCKER_HOST=$DOCKER_HOST"
