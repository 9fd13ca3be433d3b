//go:build tools

// Package tools pins Tilt, built by `hack/tools.sh tilt` when the release binary cannot be downloaded
// (TILT_FROM_SOURCE=1, OFFLINE=1, or no network). `go install github.com/tilt-dev/tilt/cmd/tilt@v0.37.6` is
// refused: tilt's own go.sum has a docker/buildx v0.32.1 hash that the checksum database does not confirm. Built from
// this module, the checksum database decides, and go.sum here pins the result.
package tools

import (
	_ "github.com/tilt-dev/tilt/cmd/tilt"
)
