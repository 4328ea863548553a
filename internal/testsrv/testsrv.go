// Package testsrv starts the real servers beamctl meets, for tests and
// benchmarks: Debian's Alertmanager. A test fails (never skips) when the
// server is missing; the README's test command installs it.
package testsrv

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Alertmanager runs a real Alertmanager (Debian package
// prometheus-alertmanager, no clustering) that routes every alert to
// webhook, grouped by alertname and node after groupWait, and returns its
// URL. It is killed when the test ends.
func Alertmanager(t testing.TB, webhook string, groupWait time.Duration) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		t.Fatalf("prometheus-alertmanager not found: install the prometheus-alertmanager package (make test does): %v", err)
	}
	dir := t.TempDir()
	conf := fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname, node]
  group_wait: %dms
  group_interval: 200ms
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
`, groupWait.Milliseconds(), webhook)
	cf := filepath.Join(dir, "am.yml")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--config.file", cf, "--storage.path", filepath.Join(dir, "data"), "--web.listen-address", addr,
		"--cluster.listen-address=")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start alertmanager: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager did not start: %s", out.String())
		}
	}
}
