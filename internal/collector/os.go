package collector

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/beamctl/beamctl/internal/etf"
)

func init() { registerCollector("os", true, func() Collector { return osCollector{} }) }

// osCollector reads /proc through the node (file:read_file/1 runs on the
// node, so /proc/self is the node's own VM): load average, host memory, the
// VM's resident and virtual memory and threads, open file descriptors
// against their limit, and the host's TCP counters. One round trip; with
// the agent only the lines read and the descriptors' count cross the
// network. Nodes without /proc (not Linux) report ErrNoData.
type osCollector struct{}

// procFiles are the files read, with the prefixes of the lines the
// collector parses (none: every line); the agent sends only those lines.
var procFiles = []struct {
	path string
	keep []string
}{
	{"/proc/loadavg", nil},
	{"/proc/meminfo", []string{"MemTotal:", "MemAvailable:"}},
	{"/proc/self/status", []string{"VmRSS:", "VmSize:", "Threads:"}},
	{"/proc/self/limits", []string{"Max open files"}},
	{"/proc/net/snmp", []string{"Tcp:"}},
}

// osCalls are the collector's calls without the agent, the same every
// round: the files and the descriptors' directory in one round trip.
// osAgentArgs is beamctl_agent:os_stats/1's argument.
var osCalls, osAgentArgs = func() ([]MFA, etf.List) {
	files := make(etf.List, len(procFiles))
	args := make(etf.List, len(procFiles))
	for i, f := range procFiles {
		files[i] = []byte(f.path)
		keep := make(etf.List, len(f.keep))
		for j, k := range f.keep {
			keep[j] = []byte(k)
		}
		args[i] = etf.Tuple{[]byte(f.path), keep}
	}
	return []MFA{{"lists", "map", etf.List{etf.Export{Module: "file", Function: "read_file", Arity: 1}, files}},
		{"file", "list_dir", etf.List{[]byte("/proc/self/fd")}}}, args
}()

// kbFields are the "Key: value [kB]" fields read from /proc/meminfo (file
// 1) and /proc/self/status (file 2).
var kbFields = []struct {
	file       int
	key        string
	name, help string
}{
	{1, "MemTotal", "erlang_vm_os_memory_total_bytes", "Host memory (/proc/meminfo MemTotal)."},
	{1, "MemAvailable", "erlang_vm_os_memory_available_bytes", "Host memory (/proc/meminfo MemAvailable)."},
	{2, "VmRSS", "erlang_vm_os_resident_memory_bytes", "Resident memory of the VM process (VmRSS)."},
	{2, "VmSize", "erlang_vm_os_virtual_memory_bytes", "Virtual memory of the VM process (VmSize)."},
	{2, "Threads", "erlang_vm_os_threads", "OS threads of the VM process."},
}

// osReading is what the node answered: each file's text ("" where it
// could not be read) and the open descriptors, if they could be counted.
type osReading struct {
	text  []string
	fds   int
	hasFD bool
}

func (osCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	read := osByCalls
	if agentLoaded(c) {
		read = osByAgent
	}
	r, err := read(ctx, c)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(r.text, func(t string) bool { return t != "" }) {
		return ErrNoData
	}
	text := r.text
	if f := strings.Fields(text[0]); len(f) >= 3 {
		for i, name := range []string{"erlang_vm_os_load1", "erlang_vm_os_load5", "erlang_vm_os_load15"} {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				dst.Add(Sample{Name: name, Help: "Host load average (/proc/loadavg).", Value: v})
			}
		}
	}
	for _, f := range kbFields {
		if v, ok := kbField(text[f.file], f.key); ok {
			dst.Add(Sample{Name: f.name, Help: f.help, Value: v})
		}
	}
	for line := range strings.Lines(text[3]) {
		if strings.HasPrefix(line, "Max open files") {
			if f := strings.Fields(line[len("Max open files"):]); len(f) >= 1 {
				if v, err := strconv.ParseFloat(f[0], 64); err == nil {
					dst.Add(Sample{Name: "erlang_vm_os_max_fds", Help: "Open file descriptor limit of the VM process (soft).", Value: v})
				}
			}
		}
	}
	tcpCounters(text[4], dst)
	if r.hasFD {
		dst.Add(Sample{Name: "erlang_vm_os_open_fds", Help: "Open file descriptors of the VM process.", Value: float64(r.fds)})
	}
	return nil
}

// osByAgent reads with beamctl_agent:os_stats/1: the lines kept and the
// descriptors' count.
func osByAgent(ctx context.Context, c Conn) (osReading, error) {
	r, err := c.Call(ctx, agentModule, "os_stats", osAgentArgs)
	if err != nil {
		return osReading{}, err
	}
	t, err := etf.ToTuple(r, 2)
	if err != nil {
		return osReading{}, fmt.Errorf("beamctl_agent:os_stats/1: %w", err)
	}
	text, err := fileTexts(t[0])
	if err != nil {
		return osReading{}, fmt.Errorf("beamctl_agent:os_stats/1: %w", err)
	}
	out := osReading{text: text}
	if ok, err := etf.ToTuple(t[1], 2); err == nil && ok[0] == etf.OK {
		n, isInt := ok[1].(int64)
		out.fds, out.hasFD = int(n), isInt
	}
	return out, nil
}

// osByCalls reads the whole files and lists the descriptors' directory.
func osByCalls(ctx context.Context, c Conn) (osReading, error) {
	r, err := CallAll(ctx, c, osCalls...)
	if err != nil {
		return osReading{}, err
	}
	text, err := fileTexts(r[0])
	if err != nil {
		return osReading{}, fmt.Errorf("file:read_file: %w", err)
	}
	out := osReading{text: text}
	if t, err := etf.ToTuple(r[1], 2); err == nil && t[0] == etf.OK {
		l, _ := etf.ToList(t[1])
		out.fds, out.hasFD = len(l), true
	}
	return out, nil
}

// fileTexts reads a list of {ok, Binary} | {error, Reason}, one for each of
// procFiles.
func fileTexts(t etf.Term) ([]string, error) {
	files, err := etf.ToList(t)
	if err != nil {
		return nil, err
	}
	if len(files) != len(procFiles) {
		return nil, fmt.Errorf("%d files in the reply, want %d", len(files), len(procFiles))
	}
	text := make([]string, len(files))
	for i, f := range files {
		if t, err := etf.ToTuple(f, 2); err == nil && t[0] == etf.OK {
			b, _ := t[1].([]byte)
			text[i] = string(b)
		}
	}
	return text, nil
}

// kbField reads the value of key's "Key:   123 kB" line in s; a kB unit
// makes bytes.
func kbField(s, key string) (float64, bool) {
	for line := range strings.Lines(s) {
		rest, ok := strings.CutPrefix(line, key)
		if !ok || !strings.HasPrefix(rest, ":") {
			continue
		}
		num, unit, _ := strings.Cut(strings.TrimSpace(rest[1:]), " ")
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, false
		}
		if strings.TrimSpace(unit) == "kB" {
			v *= 1024
		}
		return v, true
	}
	return 0, false
}

// tcpMetrics are the samples of the Tcp counters kept, by their name in
// /proc/net/snmp (built once: their names are the same every round).
var tcpMetrics = func() map[string]Sample {
	m := map[string]Sample{"CurrEstab": {Name: "erlang_vm_os_tcp_connections_established", Help: "Host TCP connections established."}}
	for _, n := range []string{"ActiveOpens", "PassiveOpens", "AttemptFails", "EstabResets", "InSegs", "OutSegs", "RetransSegs", "InErrs", "OutRsts"} {
		m[n] = Sample{Name: "erlang_vm_os_tcp_" + strings.ToLower(n) + "_total", Help: "Host TCP counter " + n + " (/proc/net/snmp).", Type: Counter}
	}
	return m
}()

// tcpCounters reads the Tcp lines of /proc/net/snmp: a header line of
// names followed by a line of values.
func tcpCounters(s string, dst *Samples) {
	var names []string
	for line := range strings.Lines(s) {
		if !strings.HasPrefix(line, "Tcp:") {
			continue
		}
		f := strings.Fields(line)[1:]
		if names == nil {
			names = f
			continue
		}
		for i, v := range f {
			if i >= len(names) {
				break
			}
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			if m, ok := tcpMetrics[names[i]]; ok {
				m.Value = x
				dst.Add(m)
			}
		}
		return
	}
}
