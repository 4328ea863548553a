package collector

import (
	"context"
	"errors"
	"fmt"

	"github.com/beamctl/beamctl/internal/product"
)

func init() { registerCollector("rabbitmq", true, func() Collector { return rabbitmqCollector{} }) }

// rabbitmqCollector reports a RabbitMQ node under the names of RabbitMQ's
// own Prometheus plugin (rabbitmq_prometheus), so that its dashboards'
// queries carry over: the aggregated rabbitmq_queue_* of the node, the top
// queues as rabbitmq_detailed_queue_* (the plugin's per-object names),
// connections, channels, consumers, resource alarms and partitions. On a
// node without RabbitMQ it costs one erlang:whereis/1; on a RabbitMQ node
// one more round trip, plus the queue scan, which needs beamctl_agent:
// about 11 µs of the node's CPU per queue asked when RabbitMQ collects no
// statistics, at most a 500 ms budget a round (product.ReadRabbitMQ).
type rabbitmqCollector struct{}

func (rabbitmqCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	r, err := product.ReadRabbitMQ(ctx, c, product.RabbitOptions{Agent: agentLoaded(c)})
	if errors.Is(err, product.ErrNotRunning) {
		return fmt.Errorf("%w: %w", ErrNoData, err)
	}
	if err != nil {
		return err
	}
	g := func(name, help string, v int64, lbl ...Label) {
		dst.Add(Sample{Name: name, Help: help, Labels: lbl, Value: float64(v)})
	}
	g("rabbitmq_identity_info", "RabbitMQ's cluster name (value 1).", 1, Label{"rabbitmq_cluster", r.Cluster})
	g("rabbitmq_cluster_queues", "Queues in the whole RabbitMQ cluster.", r.Queues)
	g("rabbitmq_vhosts", "RabbitMQ virtual hosts.", r.VHosts)
	g("rabbitmq_connections", "AMQP connections on this node.", r.Connections)
	g("rabbitmq_channels", "Channels on this node.", r.Channels)
	g("rabbitmq_consumers", "Consumers on this node.", r.Consumers)
	has := map[string]bool{}
	for _, a := range r.Alarms {
		has[a] = true
	}
	for _, a := range []struct{ name, alarm string }{
		{"rabbitmq_alarms_memory_used_watermark", "memory"},
		{"rabbitmq_alarms_free_disk_space_watermark", "disk"},
		{"rabbitmq_alarms_file_descriptor_limit", "file_descriptor_limit"},
	} {
		v := int64(0)
		if has[a.alarm] {
			v = 1
		}
		g(a.name, "Whether RabbitMQ's "+a.alarm+" alarm is set on this node (1): publishers are blocked.", v)
	}
	g("rabbitmq_partitions", "Nodes this node is partitioned from, as RabbitMQ reports them.", int64(len(r.Partitions)))
	s := r.Scan
	if s == nil {
		return nil
	}
	g("rabbitmq_queues", "Queues on this node (up to the scan's bounds).", s.Scanned+s.Unanswered)
	g("rabbitmq_queue_scan_unanswered", "Queues that did not answer the last scan in time.", s.Unanswered)
	g("rabbitmq_queue_messages_ready", "Messages ready in the queues of this node.", s.Ready)
	g("rabbitmq_queue_messages_unacked", "Messages delivered and not yet acknowledged in the queues of this node.", s.Unacked)
	g("rabbitmq_queue_messages", "Messages in the queues of this node (ready and unacked).", s.Ready+s.Unacked)
	g("rabbitmq_queue_consumers", "Consumers of the queues of this node.", s.Consumers)
	g("rabbitmq_queue_process_memory_bytes", "Memory of the queue processes of this node.", s.Memory)
	for _, q := range s.Top {
		lbl := []Label{{"vhost", q.VHost}, {"queue", q.Name}}
		g("rabbitmq_detailed_queue_messages_ready", "Messages ready in the largest queues.", q.Ready, lbl...)
		g("rabbitmq_detailed_queue_messages_unacked", "Messages unacked in the largest queues.", q.Unacked, lbl...)
		g("rabbitmq_detailed_queue_messages", "Messages in the largest queues.", q.Messages(), lbl...)
		g("rabbitmq_detailed_queue_consumers", "Consumers of the largest queues.", q.Consumers, lbl...)
		g("rabbitmq_detailed_queue_process_memory_bytes", "Memory of the largest queues' processes.", q.Memory, lbl...)
	}
	return nil
}
