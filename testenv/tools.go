//go:build tools

// Package testenv pins the Kubernetes control plane and etcd that the tests,
// benchmarks and the demo run, and kubectl of the same release (the chart tests
// apply with it). `go build` of the listed main packages gives the binaries;
// nothing here is shipped with the manager.
package testenv

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
