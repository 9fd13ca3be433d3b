#!/usr/bin/env bash
# Push the working tree's DAGs (dags/) and the airwave package they import (src/) to the in-cluster
# git server; git-sync in Airflow picks the commit up within seconds. Tilt runs this on every change
# (resource `dags-push`). A persistent mirror repo in .tools/dags-repo keeps pushes incremental.
#   hack/push-dags.sh [REMOTE_URL]     default: http://localhost:<git_server.host_port>/<repo>
set -euo pipefail
. "$(dirname "$0")/lib.sh"

remote="${1:-http://localhost:$(sj git_server.host_port)/$(sj git_server.repo)}"
branch="$(sj git_server.branch)"
mirror="${DAGS_MIRROR:-$ROOT/.tools/dags-repo}"
g() { git -C "$mirror" -c user.name=airwave -c user.email=airwave@localhost "$@"; }

# One push at a time: Tilt's dags-push fires on the same file change a user pushes by hand, and two runs in one mirror
# delete each other's copy of dags/ or trip on git's index.lock (a CI `make e2e` failed on that).
mkdir -p "$mirror"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$mirror.lock"
  flock -w 300 9 || { echo "another push-dags.sh has held $mirror.lock for 5 min" >&2; exit 1; }
else  # macOS has no flock(1): a lock folder, taken over after 60 s in case a killed push left it behind
  for _ in $(seq 300); do mkdir "$mirror.lock.d" 2>/dev/null && break; sleep 0.2; done
  trap 'rmdir "$mirror.lock.d" 2>/dev/null || true' EXIT
fi
[ -d "$mirror/.git" ] || git init -q -b "$branch" "$mirror"
rm -rf "$mirror/dags" "$mirror/src"
mkdir -p "$mirror/dags"
cp -r "$ROOT/dags/." "$mirror/dags/" 2>/dev/null || true   # no dags/ yet: push an empty DAG folder
cp -r "$ROOT/src" "$mirror/src"
touch "$mirror/dags/.keep"                                   # git does not track empty folders
find "$mirror/dags" "$mirror/src" \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +
g add -A
g diff --cached --quiet || g commit -q -m "sync from working tree $(date -u +%FT%TZ)"
# --force: the server's repo is derived state (emptyDir); ours is the truth. Retried: right after the git-server pod
# turns Ready, its NodePort can still answer with an empty reply for a few seconds (seen once in a CI `make up`).
for try in 1 2 3 4 5 6 7 8 9 10 11 12; do
  g push -q --force "$remote" "HEAD:$branch" && break
  [ "$try" -lt 12 ] || { echo "push to $remote failed 12 times" >&2; exit 1; }
  echo "push to $remote failed (try $try); retrying in 5 s" >&2
  sleep 5
done
echo "pushed $(g rev-parse --short HEAD) to $remote ($branch) at $(date -u +%T)"
