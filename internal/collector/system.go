package collector

import (
	"context"

	"github.com/beamctl/beamctl/internal/etf"
)

func init() { registerCollector("system", true, func() Collector { return systemCollector{} }) }

// systemCollector reports counts, limits and scheduler settings from
// erlang:system_info/1, and the release as an info metric, in one round trip.
// Names keep prometheus.erl's stems but follow the Prometheus naming rules
// (promtool check metrics): erlang_vm_process_count is erlang_vm_processes
// here, and so on; the ETS table count comes from the ets collector.
type systemCollector struct{}

var systemGauges = []struct{ item, name, help string }{
	{"process_count", "erlang_vm_processes", "Processes alive (process_count)."},
	{"process_limit", "erlang_vm_process_limit", "Maximum number of processes (+P)."},
	{"port_count", "erlang_vm_ports", "Ports open (port_count)."},
	{"port_limit", "erlang_vm_port_limit", "Maximum number of ports (+Q)."},
	{"atom_count", "erlang_vm_atoms", "Atoms in the atom table (atom_count)."},
	{"atom_limit", "erlang_vm_atom_limit", "Size of the atom table (+t)."},
	{"ets_limit", "erlang_vm_ets_limit", "Maximum number of ETS tables."},
	{"schedulers", "erlang_vm_schedulers", "Scheduler threads."},
	{"schedulers_online", "erlang_vm_schedulers_online", "Schedulers online."},
	{"dirty_cpu_schedulers", "erlang_vm_dirty_cpu_schedulers", "Dirty CPU scheduler threads."},
	{"dirty_cpu_schedulers_online", "erlang_vm_dirty_cpu_schedulers_online", "Dirty CPU schedulers online."},
	{"dirty_io_schedulers", "erlang_vm_dirty_io_schedulers", "Dirty I/O scheduler threads."},
	{"thread_pool_size", "erlang_vm_thread_pool_size", "Async thread pool size (+A)."},
	{"wordsize", "erlang_vm_wordsize_bytes", "Word size of the emulator."},
	{"logical_processors", "erlang_vm_logical_processors", "Logical processors the VM detected."},
	{"logical_processors_available", "erlang_vm_logical_processors_available", "Logical processors available to the VM."},
}

func (systemCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	items := make([]etf.Term, 0, len(systemGauges)+2)
	for _, g := range systemGauges {
		items = append(items, etf.Atom(g.item))
	}
	items = append(items, etf.Atom("otp_release"), etf.Atom("version"))
	vals, err := mapCall(ctx, c, "erlang", "system_info", items)
	if err != nil {
		return err
	}
	for i, g := range systemGauges {
		if v, ok := num(vals[i]); ok { // "unknown" where the VM cannot tell
			dst.Add(Sample{Name: g.name, Help: g.help, Value: v})
		}
	}
	rel, _ := etf.ToString(vals[len(systemGauges)])
	erts, _ := etf.ToString(vals[len(systemGauges)+1])
	dst.Add(Sample{Name: "erlang_vm_info", Help: "The node's OTP release and ERTS version (value 1).",
		Labels: []Label{{"otp_release", rel}, {"erts_version", erts}}, Value: 1})
	return nil
}
