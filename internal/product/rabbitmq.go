package product

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/beamctl/beamctl/internal/etf"
)

// ErrNotRunning means the product does not run on the node.
var ErrNotRunning = errors.New("not running on this node")

// RabbitMQ is one RabbitMQ node as RabbitMQ describes it.
type RabbitMQ struct {
	Cluster     string `json:"cluster"`
	Queues      int64  `json:"cluster_queues"` // in the whole cluster (rabbit_queue)
	VHosts      int64  `json:"vhosts"`
	Connections int64  `json:"connections"` // on this node, as the next three
	Channels    int64  `json:"channels"`
	Consumers   int64  `json:"consumers"`
	// Alarms are the node's resource alarms: memory, disk,
	// file_descriptor_limit.
	Alarms []string `json:"alarms"`
	// Partitions are the nodes this one is partitioned from, as
	// rabbit_node_monitor reports them.
	Partitions []string `json:"partitions"`
	// Scan is the queue scan (nil when beamctl_agent may not be used).
	Scan *QueueScan `json:"queue_scan,omitempty"`
}

// QueueScan is what the agent's scan of the node's queues found.
type QueueScan struct {
	// Source is stats (read from rabbit_core_metrics: the broker collects
	// statistics) or calls (each queue was asked, as rabbitmqctl
	// list_queues does).
	Source     string `json:"source"`
	Scanned    int64  `json:"scanned"`
	Unanswered int64  `json:"unanswered"`
	Ready      int64  `json:"messages_ready"`
	Unacked    int64  `json:"messages_unacked"`
	Consumers  int64  `json:"consumers"`
	Memory     int64  `json:"memory_bytes"`
	// Top is the union of the largest queues by messages, ready,
	// unacked, consumers and memory, largest messages first.
	Top []Queue `json:"top"`
}

// Queue is one queue.
type Queue struct {
	VHost     string `json:"vhost"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	Ready     int64  `json:"messages_ready"`
	Unacked   int64  `json:"messages_unacked"`
	Consumers int64  `json:"consumers"`
	Memory    int64  `json:"memory_bytes"`
}

// Messages is ready plus unacked.
func (q Queue) Messages() int64 { return q.Ready + q.Unacked }

// RabbitOptions bound a read.
type RabbitOptions struct {
	// Agent says whether beamctl_agent is loaded; without it there is no
	// queue scan.
	Agent bool
	// Top is how many queues each ranking keeps (default 10).
	Top int
	// Limit is how many queues the scan looks at (default 100,000).
	Limit int
	// Budget bounds the scan when it asks each queue (default 500 ms), and
	// CallTimeout each question (default 1 s).
	Budget, CallTimeout time.Duration
}

func (o *RabbitOptions) defaults() {
	if o.Top <= 0 {
		o.Top = 10
	}
	if o.Limit <= 0 {
		o.Limit = 100_000
	}
	if o.Budget <= 0 {
		o.Budget = 500 * time.Millisecond
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = time.Second
	}
}

// ReadRabbitMQ reads a RabbitMQ node: ErrNotRunning when rabbit_sup is not
// registered there. Cost: one whereis, then one round trip of ETS sizes
// (rabbit_queue, rabbit_vhost and rabbit_core_metrics' connection, channel
// and consumer tables), the node's local alarms (a gen_event call),
// partitions and the cluster name, and with the agent the queue scan:
// about 1 µs per queue from the statistics tables, or one call to each
// queue process when the broker collects none (collect_statistics = none,
// its default without the management and prometheus plugins): measured
// 11 µs of the node's CPU (225 reductions) per queue, so the 500 ms
// budget covers some 40,000 queues a round and costs at most about 5 % of
// a scheduler at the 10 s interval (BenchmarkProductCollectionCost).
func ReadRabbitMQ(ctx context.Context, c Conn, o RabbitOptions) (*RabbitMQ, error) {
	o.defaults()
	ok, err := Running(ctx, c, "rabbit_sup")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("RabbitMQ is %w (no process registered as rabbit_sup)", ErrNotRunning)
	}
	size := func(tab etf.Atom) call { return call{"ets", "info", []etf.Term{tab, etf.Atom("size")}} }
	calls := []call{
		size("rabbit_queue"), size("rabbit_vhost"), size("connection_created"), size("channel_created"), size("consumer_created"),
		{"rabbit_alarm", "get_local_alarms", nil},
		{"rabbit_node_monitor", "partitions", nil},
		{"rabbit_nodes", "cluster_name", nil},
	}
	if o.Agent {
		calls = append(calls, call{"beamctl_agent", "rabbit_queues", []etf.Term{int64(o.Top), int64(o.Limit),
			o.Budget.Milliseconds(), o.CallTimeout.Milliseconds()}})
	}
	r, err := applyAll(ctx, c, calls)
	if err != nil {
		return nil, fmt.Errorf("RabbitMQ: %w", err)
	}
	out := &RabbitMQ{
		Queues: count(r[0]), VHosts: count(r[1]), Connections: count(r[2]), Channels: count(r[3]), Consumers: count(r[4]),
		Alarms: rabbitAlarms(r[5]), Partitions: []string{}, Cluster: text(r[7]),
	}
	parts, _ := etf.ToList(r[6])
	for _, p := range parts {
		out.Partitions = append(out.Partitions, text(p))
	}
	if o.Agent {
		if out.Scan, err = parseQueueScan(r[8]); err != nil {
			return nil, fmt.Errorf("RabbitMQ queue scan: %w", err)
		}
	}
	return out, nil
}

// rabbitAlarms reads rabbit_alarm:get_local_alarms():
// [{{resource_limit, memory | disk, Node}, []} | {file_descriptor_limit, []}].
func rabbitAlarms(t etf.Term) []string {
	out := []string{}
	l, _ := etf.ToList(t)
	for _, e := range l {
		a, err := etf.ToTuple(e, 2)
		if err != nil {
			continue
		}
		switch k := a[0].(type) {
		case etf.Tuple:
			if len(k) == 3 && k[0] == etf.Atom("resource_limit") {
				out = append(out, text(k[1]))
			}
		case etf.Atom:
			out = append(out, string(k))
		}
	}
	sort.Strings(out)
	return out
}

func parseQueueScan(t etf.Term) (*QueueScan, error) {
	v, err := etf.ToTuple(t, 5)
	if err != nil {
		return nil, err
	}
	sums, err := etf.ToTuple(v[3], 4)
	if err != nil {
		return nil, err
	}
	s := &QueueScan{Source: text(v[0]), Scanned: count(v[1]), Unanswered: count(v[2]),
		Ready: count(sums[0]), Unacked: count(sums[1]), Consumers: count(sums[2]), Memory: count(sums[3]), Top: []Queue{}}
	top, err := etf.ToList(v[4])
	if err != nil {
		return nil, err
	}
	for _, e := range top {
		q, err := etf.ToTuple(e, 7)
		if err != nil {
			return nil, err
		}
		s.Top = append(s.Top, Queue{VHost: text(q[0]), Name: text(q[1]), Type: text(q[2]),
			Ready: count(q[3]), Unacked: count(q[4]), Consumers: count(q[5]), Memory: count(q[6])})
	}
	sort.Slice(s.Top, func(i, j int) bool {
		if a, b := s.Top[i].Messages(), s.Top[j].Messages(); a != b {
			return a > b
		}
		return s.Top[i].VHost+"/"+s.Top[i].Name < s.Top[j].VHost+"/"+s.Top[j].Name
	})
	return s, nil
}
