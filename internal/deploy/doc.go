// Package deploy is beamctl's slow roll (docs/deploy.md): a plan of waves cut
// by node labels (one canary node, a slice of one DC, that DC, a slice of
// every other DC, everything), hot loads of compiled modules wave by wave
// with ectl's purge semantics, health gates while each wave bakes (new
// alarms; error and crash rates of the wave's nodes against nodes not yet
// deployed; PromQL), and automatic rollback to the object code each node
// ran before. Its state is in SQLite, so a restart resumes a deploy.
package deploy
