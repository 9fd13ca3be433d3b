#!/usr/bin/env bash
# Preflight for `make up`: every check prints OK or what is wrong plus the command that fixes it.
# Exit status = number of failed checks (0 = ready). AIRWAVE_PROFILE=lite lowers the budget.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
DOCKER="${DOCKER:-docker}"
fails=0
ok()   { printf '  ok    %s\n' "$1"; }
bad()  { printf '  FAIL  %s\n        fix: %s\n' "$1" "$2"; fails=$((fails + 1)); }
warn() { printf '  warn  %s\n        hint: %s\n' "$1" "$2"; }

# CPUs: both profiles run on 2 (our CI does the default profile there); 4 make the default profile's runs faster.
if [ "${AIRWAVE_PROFILE:-}" = lite ]; then need_mem_gb=7; need_cpus=2; want_cpus=2; need_disk_gb=20
else need_mem_gb=12; need_cpus=2; want_cpus=4; need_disk_gb=30; fi

echo "docker"
if ! command -v "$DOCKER" >/dev/null; then
  bad "docker CLI not found" "install Docker Desktop / docker engine: https://docs.docker.com/engine/install/"
elif ! $DOCKER info >/dev/null 2>&1; then
  bad "docker daemon not reachable" "start Docker (Docker Desktop, or: sudo systemctl start docker)"
else
  ok "docker $($DOCKER version -f '{{.Server.Version}}' 2>/dev/null)"
  mem_gb=$(( $($DOCKER info -f '{{.MemTotal}}') / 1024 / 1024 / 1024 ))
  cpus=$($DOCKER info -f '{{.NCPU}}')
  [ "$mem_gb" -ge "$need_mem_gb" ] && ok "memory for containers: ${mem_gb} GiB" ||
    bad "memory for containers: ${mem_gb} GiB < ${need_mem_gb} GiB" \
        "give Docker more memory (Docker Desktop > Settings > Resources), or: make up AIRWAVE_PROFILE=lite"
  if [ "$cpus" -lt "$need_cpus" ]; then
    bad "CPUs for containers: $cpus < $need_cpus" "give Docker more CPUs (Docker Desktop > Settings > Resources)"
  elif [ "$cpus" -lt "$want_cpus" ]; then
    warn "CPUs for containers: $cpus (runs work, but $want_cpus make them faster)" "give Docker more CPUs, or: make up AIRWAVE_PROFILE=lite"
  else ok "CPUs for containers: $cpus"; fi
  root_dir="$($DOCKER info -f '{{.DockerRootDir}}')"
  free_gb=$(df -Pk "$root_dir" 2>/dev/null | awk 'NR==2 {print int($4/1024/1024)}')
  if [ -z "$free_gb" ]; then warn "cannot read free disk of $root_dir (Docker VM?)" "keep >= ${need_disk_gb} GB free for images"
  elif [ "$free_gb" -ge "$need_disk_gb" ]; then ok "free disk for images: ${free_gb} GB"
  else bad "free disk for images: ${free_gb} GB < ${need_disk_gb} GB" "docker system prune -a  (removes unused images)"; fi
fi

echo "tools (pinned, in ${TOOLS_BIN#"$ROOT"/})"
eval "$(grep -E '^(KIND|KUBECTL|TILT|KUSTOMIZE)_VERSION=' "$ROOT/hack/tools.sh")"   # the pins
for t in kind kubectl tilt kustomize; do
  var="$(echo "$t" | tr '[:lower:]' '[:upper:]')"; bin="${!var:-$t}"; pin_var="${var}_VERSION"
  if ! command -v "$bin" >/dev/null; then bad "$t missing" "hack/tools.sh $t"; continue; fi
  case "$t" in
    kind) v="$("$bin" version 2>/dev/null)" ;;
    kubectl) v="$("$bin" version --client 2>/dev/null | head -n1)" ;;
    tilt) v="$("$bin" version 2>/dev/null)" ;;
    kustomize) v="$("$bin" version 2>/dev/null)" ;;
  esac
  if [[ "$v" == *"${!pin_var#v}"* ]]; then ok "$t ${!pin_var} ($(command -v "$bin"))"
  else warn "$t is not the pinned ${!pin_var}: ${v:-unknown} ($(command -v "$bin"))" \
            "rm -f $TOOLS_BIN/$t && hack/tools.sh $t  (make uses .tools/bin first; or keep yours at your own risk)"; fi
done
command -v git >/dev/null && ok "git" || bad "git missing" "install git"
command -v "$PYTHON" >/dev/null && ok "python3" || bad "python3 missing" "install Python 3"
ls "$ROOT"/stack/images/spark/jars/hadoop-aws-*.jar "$ROOT"/stack/images/spark/jars/bundle-*.jar >/dev/null 2>&1 &&
  ok "Spark s3a jars present" || bad "Spark s3a jars missing" "hack/tools.sh jars"

if [ "${OFFLINE:-}" = 1 ]; then
  echo "offline images (OFFLINE=1)"
  node_image="${KIND_NODE_IMAGE:-$("$ROOT/hack/offline-images.sh" node-image)}"
  $DOCKER image inspect "$node_image" >/dev/null 2>&1 && ok "node image $node_image" ||
    bad "node image $node_image missing" "make offline-images"
  for img in $("$ROOT/hack/offline-images.sh" cluster-images); do
    $DOCKER image inspect "$img" >/dev/null 2>&1 && ok "$img (stand-in)" || bad "$img missing" "make offline-images"
  done
fi

echo "ports on 127.0.0.1 (free, or already ours)"
cluster_up=false
command -v kind >/dev/null && kind get clusters 2>/dev/null | grep -qx "$(sj cluster_name)" && cluster_up=true
for port in "$(sj registry.host_port)" "$(sj airflow.host_port)" "$(sj minio.host_port)" \
            "$(sj minio.console_host_port)" "$(sj git_server.host_port)"; do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then ok "port $port free"
  elif $cluster_up; then ok "port $port in use (by the running airwave cluster)"
  elif [ "$port" = "$(sj registry.host_port)" ] &&
       [ "$($DOCKER inspect -f '{{.State.Running}}' "$(sj registry.name)" 2>/dev/null)" = true ]; then
    ok "port $port in use (by our registry container)"
  else bad "port $port in use by another program" "find it: lsof -iTCP:$port -sTCP:LISTEN  (or ss -ltnp | grep :$port)"; fi
done

echo "kubernetes context"
if $cluster_up; then
  "$KUBECTL" --context "$KUBE_CONTEXT" get nodes >/dev/null 2>&1 && ok "cluster reachable ($KUBE_CONTEXT)" ||
    bad "cluster $KUBE_CONTEXT exists but does not answer" "make down && make up"
else ok "no cluster yet (make up creates $KUBE_CONTEXT)"; fi

[ "$fails" -eq 0 ] && echo "doctor: all good" || echo "doctor: $fails problem(s)"
exit "$fails"
