#!/usr/bin/env bash
# make verify (and pre-commit, and CI before the tests): ruff (lint + format), mypy on the package, shellcheck on
# every shell script in the repo, and the rendered manifests against the Kubernetes schemas (offline, strict).
#   hack/verify.sh [ruff] [mypy] [shellcheck] [manifests]     (no argument: all four)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
VENV_BIN="${VENV_BIN:-$ROOT/.venv/bin}"
K8S_VERSION="${K8S_VERSION:-1.36.0}"  # the kind node's minor (kubernetes-validate ships schemas per release)
want() { [ $# -eq 0 ] || [[ " $* " == *" $STEP "* ]]; }

STEP=ruff
if want "$@"; then
  log "ruff"
  "$VENV_BIN/ruff" check .
  "$VENV_BIN/ruff" format --check .
fi
STEP=mypy
if want "$@"; then
  log "mypy"
  "$VENV_BIN/mypy"
fi
STEP=shellcheck
if want "$@"; then
  log "shellcheck"
  command -v shellcheck >/dev/null || die "shellcheck missing (apt-get install shellcheck)"
  scripts=()
  while IFS= read -r f; do
    [ -f "$f" ] || continue
    case "$f" in *.sh) scripts+=("$f"); continue ;; esac
    head -1 "$f" | grep -qE '^#!.*\b(ba)?sh\b' && scripts+=("$f")
  done < <(git ls-files)
  shellcheck -x "${scripts[@]}"
fi
STEP=manifests
if want "$@"; then
  log "manifests (kubernetes-validate $K8S_VERSION, strict)"
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  for k in stack/base stack/profiles/*/; do
    out="$tmp/$(echo "$k" | tr / _).yaml"
    "${KUSTOMIZE:-kustomize}" build "$k" >"$out"
    "$VENV_BIN/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "$out"
  done
fi
log "verify: clean${*:+ ($*)}"
