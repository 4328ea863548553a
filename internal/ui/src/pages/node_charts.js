// The Node page's charts: what the collectors store about one node
// (internal/collector), as PromQL over the node's series.

// sel is the label matcher of a node's series.
export function sel(node) {
  return 'node="' + node.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

// charts returns the chart definitions (TimeChart options) for a node;
// rates are over w (a PromQL duration at least the query step).
export function charts(node, w) {
  const s = sel(node);
  const rate = m => `rate(${m}{${s}}[${w}])`;
  return [
    {title: 'Memory by kind', unit: 'bytes', queries: [
      {expr: `erlang_vm_memory_bytes{kind=~"total|processes|binary|ets|code|atom",${s}}`, label: m => m.kind}]},
    {title: 'Scheduler utilisation by type', unit: 'ratio', queries: [
      {expr: `erlang_vm_scheduler_type_utilization_ratio{${s}}`, label: m => m.type}]},
    {title: 'Reductions per second', unit: '', queries: [
      {expr: rate('erlang_vm_statistics_reductions_total'), label: () => 'reductions/s'}]},
    {title: 'Run queues', unit: '', queries: [
      {expr: `erlang_vm_statistics_run_queue_length{${s}}`, label: m => 'queue ' + m.run_queue}]},
    {title: 'Processes, ports, atoms, ETS tables vs their limits', unit: 'ratio', queries: [
      {expr: `erlang_vm_processes{${s}} / erlang_vm_process_limit{${s}}`, label: () => 'processes'},
      {expr: `erlang_vm_ports{${s}} / erlang_vm_port_limit{${s}}`, label: () => 'ports'},
      {expr: `erlang_vm_atoms{${s}} / erlang_vm_atom_limit{${s}}`, label: () => 'atoms'},
      {expr: `erlang_vm_ets_tables{${s}} / erlang_vm_ets_limit{${s}}`, label: () => 'ETS tables'}]},
    {title: 'Processes, ports and ETS tables', unit: '', queries: [
      {expr: `erlang_vm_processes{${s}}`, label: () => 'processes'},
      {expr: `erlang_vm_ports{${s}}`, label: () => 'ports'},
      {expr: `erlang_vm_ets_tables{${s}}`, label: () => 'ETS tables'}]},
    {title: 'Garbage collections per second', unit: '', queries: [
      {expr: rate('erlang_vm_statistics_garbage_collections_total'), label: () => 'collections/s'}]},
    {title: 'Words reclaimed by GC per second', unit: '', queries: [
      {expr: rate('erlang_vm_statistics_garbage_collection_words_reclaimed_total'), label: () => 'words/s'}]},
    {title: 'Port I/O (bytes per second)', unit: 'bytes', queries: [
      {expr: rate('erlang_vm_statistics_bytes_received_total'), label: () => 'received'},
      {expr: rate('erlang_vm_statistics_bytes_output_total'), label: () => 'sent'}]},
    {title: 'Distribution traffic per peer (bytes per second)', unit: 'bytes', queries: [
      {expr: rate('erlang_vm_dist_send_bytes_total'), label: m => 'to ' + m.peer},
      {expr: rate('erlang_vm_dist_recv_bytes_total'), label: m => 'from ' + m.peer}]},
    {title: 'Message queues', unit: '', queries: [
      {expr: `erlang_vm_message_queue_max_length{${s}}`, label: () => 'longest'},
      {expr: `erlang_vm_message_queue_messages{${s}}`, label: () => 'all messages queued'}]},
    {title: 'CPU: VM threads (cores) and host load', unit: '', queries: [
      {expr: rate('erlang_vm_statistics_runtime_seconds_total'), label: () => 'VM CPU (cores)'},
      {expr: `erlang_vm_os_load1{${s}}`, label: () => 'host load (1 min)'}]},
    {title: 'OS memory', unit: 'bytes', queries: [
      {expr: `erlang_vm_os_memory_total_bytes{${s}}`, label: () => 'host total'},
      {expr: `erlang_vm_os_memory_available_bytes{${s}}`, label: () => 'host available'},
      {expr: `erlang_vm_os_resident_memory_bytes{${s}}`, label: () => 'VM resident'}]},
  ];
}
