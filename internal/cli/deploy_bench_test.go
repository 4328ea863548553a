package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/deploy"
	"github.com/beamctl/beamctl/internal/testnode"
)

// BenchmarkDeploy (make bench-deploy) deploys BEAMCTL_DEPLOY_MODULES
// modules (default 10) to BEAMCTL_DEPLOY_NODES real nodes (default 6) in
// two DCs, with a bake of 1s per wave, and, as the anchor in the same run,
// loads the same modules node by node with beamctl load (one command per
// module, over every node, as an operator would by hand). It reports the
// deploy's time loading (backups, loads, md5 checks: its waves minus their
// bakes), its whole time, the anchor's time, and a bad build's detection
// and rollback latency.
func BenchmarkDeploy(b *testing.B) {
	nodes := envInt(b, "BEAMCTL_DEPLOY_NODES", 6)
	mods := envInt(b, "BEAMCTL_DEPLOY_MODULES", 10)
	f := startFleet(b, nodes)
	// build compiles the modules (prefix dep_bench, the first being
	// dep_work, which the workload calls; the anchor's are dep_anchor:
	// code loaded by beamctl load is code a deploy could not roll back to,
	// so the two never share a module).
	build := func(prefix string, v int, bad bool) string {
		dir := b.TempDir()
		for i := range mods {
			body := "ok"
			if bad && i == 0 {
				body = "erlang:error(bad_build)"
			}
			name := fmt.Sprintf("%s%d", prefix, i)
			if prefix == "dep_bench" && i == 0 {
				name = "dep_work"
			}
			src := testnode.Compile(b, name, fmt.Sprintf("-module(%s).\n-export([version/0, work/0]).\nversion() -> %d.\nwork() -> %s.\n", name, v, body))
			copyFile(b, filepath.Join(src, name+".beam"), filepath.Join(dir, name+".beam"))
		}
		return dir
	}
	var names []string
	for _, n := range f.nodes {
		names = append(names, n.Name)
	}
	cookie := cookieFile(b, f.nodes[0].Cookie)
	b.ResetTimer()
	var load, whole, anchor, detect, rollback time.Duration
	for i := range b.N {
		dir := build("dep_bench", 10+i, false)
		d := f.planClean(b, "--bake", "1s", dir)
		start := time.Now()
		_, code, stderr := f.deployJSON(b, "start", d.ID)
		require.Zero(b, code, stderr)
		d = f.wait(b, d.ID)
		whole += time.Since(start)
		require.Equal(b, deploy.Succeeded, d.State, "%+v", d.Failure)
		for _, w := range d.Waves {
			load += w.Loaded.Sub(*w.Start)
		}
		// The anchor: beamctl load of each module over every node.
		anchorDir := build("dep_anchor", 10+i, false)
		files, err := filepath.Glob(filepath.Join(anchorDir, "*.beam"))
		require.NoError(b, err)
		start = time.Now()
		for _, file := range files {
			code, _, stderr := run(b, append([]string{"--cookie-file", cookie, "--timeout", "10m", "load", "--beam", file}, names...)...)
			require.Zero(b, code, stderr)
		}
		anchor += time.Since(start)
		md5s := f.md5s(b, "dep_anchor0")
		require.Equal(b, same(nodes, md5s[0]), md5s, "every node has the anchor's last load")

		// A bad build: detection after the canary's load, and rollback.
		bad := f.planClean(b, "--bake", "30s", build("dep_bench", 1000+i, true)) // once the anchor's mismatch clears
		_, code, _ = f.deployJSON(b, "start", bad.ID)
		require.Zero(b, code)
		bad = f.wait(b, bad.ID)
		require.Equal(b, deploy.Failed, bad.State)
		detect += bad.Failure.At.Sub(*bad.Waves[0].Loaded)
		last := bad.Events[len(bad.Events)-1]
		require.Contains(b, last.Text, "Rolled back")
		rollback += last.Time.Sub(bad.Failure.At)
	}
	n := float64(b.N)
	b.ReportMetric(load.Seconds()/n, "deploy_load_s")
	b.ReportMetric(whole.Seconds()/n, "deploy_total_s")
	b.ReportMetric(anchor.Seconds()/n, "beamctl_load_s")
	b.ReportMetric(load.Seconds()/anchor.Seconds(), "load_x_vs_beamctl_load")
	b.ReportMetric(detect.Seconds()/n, "bad_detect_s")
	b.ReportMetric(rollback.Seconds()/n, "bad_rollback_s")
	b.ReportMetric(float64(nodes), "nodes")
	b.ReportMetric(float64(mods), "modules")
}

func envInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 {
		b.Fatalf("%s=%q is not a positive number", name, s)
	}
	return n
}
