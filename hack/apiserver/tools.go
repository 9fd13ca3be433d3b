//go:build tools

// Package tools pins the Kubernetes API server built by `hack/tools.sh apiserver`. kubernetes' own go.mod
// replaces its staging modules with local paths, so `go install k8s.io/kubernetes/cmd/...` is refused; this
// module requires k8s.io/kubernetes and replaces each staging module with its published v0.X.Y twin.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
