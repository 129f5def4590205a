//go:build tools

// Package kwok pins kwok (Kubernetes WithOut Kubelet), which simulates the
// nodes and pods of the test control plane. It is its own module so that
// kwok's k8s.io/* versions do not fight with the control plane's.
package kwok

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
