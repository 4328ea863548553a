// Package grafana holds beamctl's Grafana dashboards (overview.json and
// node.json, for beamctl serve as a Prometheus data source; docs/serve.md,
// "Grafana"), embedded so that a test runs every query in them against a
// server watching real nodes.
package grafana

import "embed"

// Dashboards are the dashboard files, by name (overview.json, node.json).
//
//go:embed *.json
var Dashboards embed.FS
