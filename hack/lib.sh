# shellcheck shell=bash
# Sourced by the hack/*.sh scripts: paths, pinned tools first on PATH, sandbox.json / defaults.json lookups.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_BIN="${TOOLS_BIN:-$ROOT/.tools/bin}"
export PATH="$TOOLS_BIN:$PATH"
# What `sj` reads: the sandbox's layout (ports, registry, pinned images), and the names the package uses at run
# time (namespace, our images, Spark, MinIO endpoint), which ship in the wheel.
SANDBOX_JSON="$ROOT/stack/sandbox/sandbox.json"
DEFAULTS_JSON="$ROOT/src/airwave/cluster/defaults.json"
# Builds that outlive a checkout (Go binaries, image inputs), keyed on pinned versions.
AIRWAVE_CACHE="${AIRWAVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/airwave}"
PYTHON="${PYTHON:-python3}"

# sj KEY.PATH -> the value from sandbox.json, else from defaults.json (a section such as minio is split between
# the two; no key is in both, tests/stack checks). Lists are printed space-separated.
sj() {
  "$PYTHON" - "$1" "$SANDBOX_JSON" "$DEFAULTS_JSON" <<'PY'
import json, sys
key, *files = sys.argv[1:]
for f in files:
    v = json.load(open(f))
    for k in key.split("."):
        v = v.get(k) if isinstance(v, dict) else None
    if v is not None:
        print(" ".join(map(str, v)) if isinstance(v, list) else v)
        sys.exit()
sys.exit(f"sj: {key} is in neither {' nor '.join(files)}")
PY
}

# upstream_image NAME -> the pinned image, or the env var named in sandbox.json's env_overrides.
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
