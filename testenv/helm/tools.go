//go:build tools

// Package helm pins Helm, with which the tests lint and render the chart in
// deploy/chart/k8smgr. It is its own module so that Helm's dependencies do not
// move the versions the control plane is built with (testenv/go.mod).
package helm

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
