#!/usr/bin/env bash
# The Go toolchain our builds pin (the go.mod files say go 1.26.8), for CI machines that lack it. Prints the line to
# eval:   eval "$(hack/ensure-go.sh)"        -> export PATH=<that toolchain>/bin:$PATH   (nothing when go is fine)
# `go` on PATH at GO_VERSION or newer is used as it is. Otherwise the go command fetches exactly GO_VERSION through
# its own default module proxy and checksum database (which verify the zip), and this script
# also checks the module hash pinned below. A machine with no Go at all first gets Debian's golang-go from trixie
# (bookworm's 1.19 predates toolchain downloads), from the same mirror its bookworm packages come from.
set -euo pipefail
log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

GO_VERSION=1.26.8
GO_BOOTSTRAP=golang-1.24-go GO_BOOTSTRAP_DIR=go-1.24  # trixie's Go, only to fetch GO_VERSION
# h1: hashes of golang.org/toolchain@v0.0.1-go$GO_VERSION.linux-$arch (`go mod download -json` prints them).
declare -A GO_SUM=(
  [amd64]="h1:ZOmGe1OnfREDMIdb1Qi4G9JSuDPBLGExZMQ4nis1RXM="
  [arm64]="h1:sYL/O6MqS68ML0kjsQ36WoYIpJqkw60TxizWUYUKQMc="
)

have() { command -v go >/dev/null && [ "$(printf '%s\n' "$GO_VERSION" "$(go env GOVERSION | sed 's/^go//')" | sort -V | head -1)" = "$GO_VERSION" ]; }
have && exit 0

case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) die "no pinned Go toolchain for $(uname -m)" ;; esac

# Toolchain downloads need go >= 1.21 to do them.
if ! command -v go >/dev/null || [ "$(printf '%s\n' 1.21 "$(go env GOVERSION | sed 's/^go//')" | sort -V | head -1)" != 1.21 ]; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "install Go $GO_VERSION (https://go.dev/doc/install)"
  src=/etc/apt/sources.list.d/debian.sources
  uri="$( { [ -f "$src" ] && sed -n 's/^URIs: *//p' "$src"; sed -n 's/^deb \(\[[^]]*\] \)\?\([^ ]*\) bookworm .*/\2/p' /etc/apt/sources.list 2>/dev/null || true; } | head -1)"
  [ -n "$uri" ] || die "no bookworm apt source to take the trixie mirror from; install Go $GO_VERSION"
  log "apt-get install $GO_BOOTSTRAP (trixie, $uri) to fetch Go $GO_VERSION"
  printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" >/etc/apt/sources.list.d/airwave-trixie.sources
  # Only what we ask for by name comes from trixie.
  printf 'Package: *\nPin: release n=trixie\nPin-Priority: 50\n' >/etc/apt/preferences.d/airwave-trixie
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$GO_BOOTSTRAP" >&2
  export PATH="/usr/lib/${GO_BOOTSTRAP_DIR}/bin:$PATH"
fi

mod="golang.org/toolchain@v0.0.1-go$GO_VERSION.linux-$arch"
out="$(cd /tmp && GOTOOLCHAIN=local go mod download -json "$mod")" || die "go mod download $mod: $out"
sum="$(sed -n 's/.*"Sum": "\(.*\)".*/\1/p' <<<"$out")"
[ "$sum" = "${GO_SUM[$arch]}" ] || die "Go toolchain $mod: hash $sum, pinned ${GO_SUM[$arch]}"
# The go command's own switch sets the executable bits that a plain module download leaves off.
root="$(cd /tmp && GOTOOLCHAIN="go$GO_VERSION" go env GOROOT)"
"$root/bin/go" version >&2
echo "export PATH=$root/bin:\$PATH"
