//go:build tools

// Package tools pins the Kubernetes binaries built by `hack/tools.sh apiserver` (the API-server tests) and
// `hack/node-image/build.sh` (our kind node image). kubernetes' own go.mod replaces its staging modules with local
// paths, so `go install k8s.io/kubernetes/cmd/...` is refused; this module requires k8s.io/kubernetes and replaces
// each staging module with its published v0.X.Y twin.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
