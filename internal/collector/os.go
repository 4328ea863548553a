package collector

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/beamctl/beamctl/internal/etf"
)

func init() { registerCollector("os", true, func() Collector { return osCollector{} }) }

// osCollector reads /proc through the node (file:read_file/1 runs on the
// node, so /proc/self is the node's own VM): load average, host memory, the
// VM's resident and virtual memory and threads, open file descriptors
// against their limit, and the host's TCP counters. One round trip.
// Nodes without /proc (not Linux) report ErrNoData.
type osCollector struct{}

var procFiles = []string{"/proc/loadavg", "/proc/meminfo", "/proc/self/status", "/proc/self/limits", "/proc/net/snmp"}

func (osCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	args := make([]etf.Term, len(procFiles))
	for i, p := range procFiles {
		args[i] = []byte(p)
	}
	// The files and the descriptors' directory in one round trip.
	r, err := callAll(ctx, c, mfa{"lists", "map", etf.List{etf.Export{Module: "file", Function: "read_file", Arity: 1}, etf.List(args)}},
		mfa{"file", "list_dir", etf.List{[]byte("/proc/self/fd")}})
	if err != nil {
		return err
	}
	files, err := etf.ToList(r[0])
	if err != nil || len(files) != len(procFiles) {
		return fmt.Errorf("file:read_file of %d files: unexpected reply", len(procFiles))
	}
	text := make([]string, len(files))
	found := false
	for i, f := range files {
		if t, err := etf.ToTuple(f, 2); err == nil && t[0] == etf.OK {
			b, _ := t[1].([]byte)
			text[i], found = string(b), true
		}
	}
	if !found {
		return ErrNoData
	}
	if f := strings.Fields(text[0]); len(f) >= 3 {
		for i, name := range []string{"erlang_vm_os_load1", "erlang_vm_os_load5", "erlang_vm_os_load15"} {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				dst.Add(Sample{Name: name, Help: "Host load average (/proc/loadavg).", Value: v})
			}
		}
	}
	mem := keyedKB(text[1])
	for key, name := range map[string]string{"MemTotal": "erlang_vm_os_memory_total_bytes", "MemAvailable": "erlang_vm_os_memory_available_bytes"} {
		if v, ok := mem[key]; ok {
			dst.Add(Sample{Name: name, Help: "Host memory (/proc/meminfo " + key + ").", Value: v})
		}
	}
	status := keyedKB(text[2])
	if v, ok := status["VmRSS"]; ok {
		dst.Add(Sample{Name: "erlang_vm_os_resident_memory_bytes", Help: "Resident memory of the VM process (VmRSS).", Value: v})
	}
	if v, ok := status["VmSize"]; ok {
		dst.Add(Sample{Name: "erlang_vm_os_virtual_memory_bytes", Help: "Virtual memory of the VM process (VmSize).", Value: v})
	}
	if v, ok := status["Threads"]; ok {
		dst.Add(Sample{Name: "erlang_vm_os_threads", Help: "OS threads of the VM process.", Value: v})
	}
	for _, line := range strings.Split(text[3], "\n") {
		if strings.HasPrefix(line, "Max open files") {
			if f := strings.Fields(line[len("Max open files"):]); len(f) >= 1 {
				if v, err := strconv.ParseFloat(f[0], 64); err == nil {
					dst.Add(Sample{Name: "erlang_vm_os_max_fds", Help: "Open file descriptor limit of the VM process (soft).", Value: v})
				}
			}
		}
	}
	tcpCounters(text[4], dst)

	if t, err := etf.ToTuple(r[1], 2); err == nil && t[0] == etf.OK {
		l, _ := etf.ToList(t[1])
		dst.Add(Sample{Name: "erlang_vm_os_open_fds", Help: "Open file descriptors of the VM process.", Value: float64(len(l))})
	}
	return nil
}

// keyedKB reads "Key:   123 kB" lines; values with a kB unit become bytes.
func keyedKB(s string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(s, "\n") {
		key, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && f[1] == "kB" {
			v *= 1024
		}
		out[key] = v
	}
	return out
}

// tcpCounters reads the Tcp lines of /proc/net/snmp: a header line of
// names followed by a line of values.
func tcpCounters(s string, dst *Samples) {
	var names []string
	for _, line := range strings.Split(s, "\n") {
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
			switch names[i] {
			case "CurrEstab":
				dst.Add(Sample{Name: "erlang_vm_os_tcp_connections_established", Help: "Host TCP connections established.", Value: x})
			case "ActiveOpens", "PassiveOpens", "AttemptFails", "EstabResets", "InSegs", "OutSegs", "RetransSegs", "InErrs", "OutRsts":
				dst.Add(Sample{Name: "erlang_vm_os_tcp_" + strings.ToLower(names[i]) + "_total", Help: "Host TCP counter " + names[i] + " (/proc/net/snmp).",
					Type: Counter, Value: x})
			}
		}
		return
	}
}
