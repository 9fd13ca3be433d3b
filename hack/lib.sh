# shellcheck shell=bash
# Sourced by the hack/*.sh scripts: paths, pinned tools first on PATH, stack.json lookups.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_BIN="${TOOLS_BIN:-$ROOT/.tools/bin}"
export PATH="$TOOLS_BIN:$PATH"
STACK_JSON="$ROOT/src/airwave/stack.json"
# Builds that outlive a checkout (Go binaries, image inputs), keyed on pinned versions.
AIRWAVE_CACHE="${AIRWAVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/airwave}"
PYTHON="${PYTHON:-python3}"

# sj KEY.PATH -> value from src/airwave/stack.json (lists are printed space-separated).
sj() {
  "$PYTHON" - "$STACK_JSON" "$1" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[k]
print(" ".join(map(str, v)) if isinstance(v, list) else v)
PY
}

# upstream_image NAME -> the pinned image, or the env var named in stack.json's env_overrides.
upstream_image() {
  local var; var="$(sj "upstream_images.env_overrides.$1")"
  if [ -n "${!var:-}" ]; then echo "${!var}"; else sj "upstream_images.$1"; fi
}

KUBE_CONTEXT="kind-$(sj cluster_name)"
NS="$(sj namespace)"
KUBECTL="${KUBECTL:-kubectl}"
kc() { "$KUBECTL" --context "$KUBE_CONTEXT" -n "$NS" "$@"; }

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
