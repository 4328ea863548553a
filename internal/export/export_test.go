package export

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Graylog2/go-gelf/gelf"
	"github.com/stretchr/testify/require"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/beamctl/beamctl/internal/journal"
)

// record runs a target against a fresh recorder and records ns.
func record(t *testing.T, tg *Target, ns ...journal.Notification) context.CancelFunc {
	t.Helper()
	s, err := journal.Open(t.TempDir(), journal.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	rec := journal.NewRecorder(s, nil, journal.RecorderOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tg.Run(ctx, rec, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, func() bool { return rec.Subscribers() == 1 }, 10*time.Second, time.Millisecond, "the target subscribed")
	require.NoError(t, rec.Record(context.Background(), ns...))
	return cancel
}

var sample = []journal.Notification{
	{Time: time.Date(2026, 12, 1, 10, 0, 0, 123456000, time.UTC), Cluster: "chat", Node: "chat1@host1", Kind: "crash_report",
		Severity: journal.Error, Text: `crasher: initial call: my_server:init/1, error: {badarg,"x]"}`,
		Fields: map[string]string{"mfa": "{proc_lib,crash_report,4}", "pid": "<0.90.0>"}},
	{Time: time.Date(2026, 12, 1, 10, 0, 1, 0, time.UTC), Cluster: "chat", Node: "chat2@host2", Kind: "node_down",
		Severity: journal.Warning, Text: "Node chat2@host2 is down: connection closed."},
}

func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		require.NoError(t, err)
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestSyslogToRsyslog sends notifications over UDP and TCP to a real
// rsyslogd (Debian package rsyslog, installed by make test) that writes
// the fields it parsed to a file.
func TestSyslogToRsyslog(t *testing.T) {
	rsyslogd, err := exec.LookPath("rsyslogd")
	if err != nil {
		rsyslogd = "/usr/sbin/rsyslogd"
	}
	_, err = os.Stat(rsyslogd)
	require.NoError(t, err, "rsyslogd not found: install the rsyslog package (make test does)")
	dir := t.TempDir()
	udp, tcp := freePort(t, "udp"), freePort(t, "tcp")
	out := filepath.Join(dir, "out.log")
	conf := fmt.Sprintf(`global(workDirectory="%s")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="%d")
input(type="imtcp" address="127.0.0.1" port="%d")
template(name="fields" type="string" string="%%syslogseverity-text%%|%%syslogfacility-text%%|%%hostname%%|%%app-name%%|%%msgid%%|%%structured-data%%|%%msg%%\n")
*.* action(type="omfile" file="%s" template="fields")
`, dir, udp, tcp, out)
	confFile := filepath.Join(dir, "rsyslog.conf")
	require.NoError(t, os.WriteFile(confFile, []byte(conf), 0o600))
	cmd := exec.Command(rsyslogd, "-n", "-f", confFile, "-i", filepath.Join(dir, "rsyslogd.pid"))
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	require.Eventually(t, func() bool { // listening
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tcp))
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "rsyslogd did not start: %s", &stderr)

	for _, proto := range []string{"udp", "tcp"} {
		port := udp
		if proto == "tcp" {
			port = tcp
		}
		tg, err := New(Options{Format: "syslog", Protocol: proto, Address: fmt.Sprintf("127.0.0.1:%d", port), Facility: "local3"})
		require.NoError(t, err)
		ns := make([]journal.Notification, len(sample))
		copy(ns, sample)
		ns[0].Text += " via " + proto
		record(t, tg, ns...)
		var lines []string
		require.Eventually(t, func() bool {
			b, _ := os.ReadFile(out)
			lines = nil
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				if strings.Contains(l, "via "+proto) || (strings.Contains(l, "node_down") && len(lines) > 0) {
					lines = append(lines, l)
				}
			}
			return len(lines) == 2
		}, 10*time.Second, 50*time.Millisecond, "rsyslog received (%s): %s", proto, &stderr)
		require.Equal(t, `err|local3|host1|beamctl|crash_report|[beamctl@32473 cluster="chat" id="1" mfa="{proc_lib,crash_report,4}" node="chat1@host1" pid="<0.90.0>" severity="error"]|`+
			`crasher: initial call: my_server:init/1, error: {badarg,"x]"} via `+proto, lines[0])
		require.Equal(t, `warning|local3|host2|beamctl|node_down|[beamctl@32473 cluster="chat" id="2" node="chat2@host2" severity="warning"]|Node chat2@host2 is down: connection closed.`, lines[1])
		require.Eventually(t, func() bool { return tg.Sent.Load() == 2 }, 5*time.Second, 10*time.Millisecond)
	}
}

// TestGELF sends a small and a chunked message over UDP to go-gelf's
// reader (Graylog's own Go library), and over TCP.
func TestGELF(t *testing.T) {
	r, err := gelf.NewReader("127.0.0.1:0")
	require.NoError(t, err)
	tg, err := New(Options{Format: "gelf", Protocol: "udp", Address: r.Addr()})
	require.NoError(t, err)
	big := sample[1]
	big.Text = strings.Repeat("long text ", 2000) // 20 kB: 15 chunks
	record(t, tg, sample[0], big)
	for _, want := range []journal.Notification{sample[0], big} {
		m, err := r.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, "1.1", m.Version)
		require.Equal(t, host(want.Node), m.Host)
		require.Equal(t, want.Text, m.Short)
		require.InDelta(t, float64(want.Time.UnixMicro())/1e6, m.TimeUnix, 1e-6)
		require.Equal(t, int32(syslogSeverity(want.Severity)), m.Level)
		require.Equal(t, want.Kind, m.Extra["_kind"])
		require.Equal(t, want.Cluster, m.Extra["_cluster"])
		for k, v := range want.Fields {
			require.Equal(t, v, m.Extra["_"+k])
		}
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	tg, err = New(Options{Format: "gelf", Protocol: "tcp", Address: l.Addr().String()})
	require.NoError(t, err)
	record(t, tg, sample...)
	c, err := l.Accept()
	require.NoError(t, err)
	defer c.Close()
	br := bufio.NewReader(c)
	for _, want := range sample {
		frame, err := br.ReadBytes(0)
		require.NoError(t, err)
		var m gelf.Message
		require.NoError(t, m.UnmarshalJSON(frame[:len(frame)-1]))
		require.Equal(t, want.Text, m.Short)
		require.Equal(t, want.Node, m.Extra["_node"])
	}
}

// TestOTLP posts notifications to an OTLP/HTTP endpoint that decodes them
// with OpenTelemetry's own protobuf definitions (LogsData, the request's
// shape); a failing endpoint is
// retried.
func TestOTLP(t *testing.T) {
	got := make(chan *logspb.LogsData, 10)
	fail := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail { // the first attempt fails: it must be retried
			fail = false
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.Equal(t, "secret", r.Header.Get("Authorization"))
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		var req logspb.LogsData
		require.NoError(t, protojson.Unmarshal(b, &req), "%s", b)
		got <- &req
	}))
	defer srv.Close()
	tg, err := New(Options{Format: "otlp", URL: srv.URL + "/v1/logs", Headers: map[string]string{"Authorization": "secret"}})
	require.NoError(t, err)
	record(t, tg, sample...)
	var req *logspb.LogsData
	select {
	case req = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("nothing arrived")
	}
	recs := req.ResourceLogs[0].ScopeLogs[0].LogRecords
	require.Len(t, recs, 2)
	require.Equal(t, "service.name", req.ResourceLogs[0].Resource.Attributes[0].Key)
	require.Equal(t, uint64(sample[0].Time.UnixNano()), recs[0].TimeUnixNano)
	require.Equal(t, "ERROR", recs[0].SeverityText)
	require.EqualValues(t, 17, recs[0].SeverityNumber)
	require.Equal(t, sample[0].Text, recs[0].Body.GetStringValue())
	attrs := map[string]string{}
	for _, a := range recs[0].Attributes {
		attrs[a.Key] = a.Value.GetStringValue()
	}
	require.Equal(t, "chat1@host1", attrs["beamctl.node"])
	require.Equal(t, "crash_report", attrs["beamctl.kind"])
	require.Equal(t, "<0.90.0>", attrs["beamctl.pid"])
	require.Equal(t, "WARN", recs[1].SeverityText)
	require.Equal(t, uint64(1), tg.Failed.Load(), "one failed attempt, then retried")
	require.Eventually(t, func() bool { return tg.Sent.Load() == 2 }, 5*time.Second, 10*time.Millisecond, "counted once answered")
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		o    Options
		want string
	}{
		{Options{Format: "xml"}, `export format "xml" is not syslog, gelf or otlp`},
		{Options{Format: "syslog", Protocol: "sctp", Address: "h:1"}, `export protocol "sctp" is not udp or tcp`},
		{Options{Format: "syslog", Address: "nohost"}, `export address "nohost": address nohost: missing port in address`},
		{Options{Format: "syslog", Address: "h:1", Facility: "local9"}, `syslog facility "local9" is not one of kern … local7`},
		{Options{Format: "otlp", URL: "ftp://x"}, `otlp url "ftp://x" is not an http(s) URL such as http://localhost:4318/v1/logs`},
	}
	for _, tc := range tests {
		_, err := New(tc.o)
		require.EqualError(t, err, tc.want)
	}
}
