package inspect

import (
	"context"
	"errors"
	"sort"

	"github.com/beamctl/beamctl/internal/product"
)

// The product views (internal/product): RabbitMQ, Mnesia and ejabberd in
// their own terms. Each is read-only, bounded and fails with a sentence
// when the product does not run on the node.
func init() {
	tools = append(tools,
		&Tool{
			Name: "rabbitmq",
			Summary: "A RabbitMQ node in RabbitMQ's terms: connections, channels, consumers, vhosts, resource alarms, " +
				"partitions, and its largest queues (ready, unacked, consumers, memory), scanned on the node (beamctl_agent) " +
				"from RabbitMQ's statistics tables or, when it collects none, by asking each queue (bounded).",
			Params: []Param{
				{Name: "by", Kind: ParamEnum, Choices: []string{"messages", "ready", "unacked", "consumers", "memory"}, Default: "messages",
					Help: "Rank queues by messages (ready and unacked), ready, unacked, consumers or memory."},
				{Name: "n", Short: 'n', Kind: ParamInt, Min: 1, Max: maxN, Default: "10", Help: "Number of queues (at most 1000)."},
			},
			Agent: LoadsAgent, Effect: ReadOnly, Web: true,
			Run: func(ctx context.Context, c Conn, a Args) (any, error) {
				return RabbitMQ(ctx, c, a.String("by"), a.Int("n"))
			},
		},
		&Tool{
			Name: "mnesia",
			Summary: "Mnesia on a node: held locks, lock queue, transactions, and each local table's storage type, " +
				"size, memory and replicas (at most 1000 tables; nothing is asked of other nodes).",
			Agent: NoAgent, Effect: ReadOnly, Web: true,
			Run: func(ctx context.Context, c Conn, _ Args) (any, error) {
				m, err := product.ReadMnesia(ctx, c)
				if err != nil {
					return nil, err
				}
				return &MnesiaResult{Node: c.Node(), Mnesia: m}, nil
			},
		},
		&Tool{
			Name:    "ejabberd",
			Summary: "An ejabberd node as ejabberdctl reports it: online sessions, s2s connections, registered users per virtual host.",
			Agent:   NoAgent, Effect: ReadOnly, Web: true,
			Run: func(ctx context.Context, c Conn, _ Args) (any, error) {
				e, err := product.ReadEjabberd(ctx, c)
				if err != nil {
					return nil, err
				}
				return &EjabberdResult{Node: c.Node(), Ejabberd: e}, nil
			},
		},
	)
}

// RabbitMQResult is what the rabbitmq tool returns.
type RabbitMQResult struct {
	Node string `json:"node"`
	By   string `json:"by"`
	*product.RabbitMQ
}

// MnesiaResult is what the mnesia tool returns.
type MnesiaResult struct {
	Node string `json:"node"`
	*product.Mnesia
}

// EjabberdResult is what the ejabberd tool returns.
type EjabberdResult struct {
	Node string `json:"node"`
	*product.Ejabberd
}

// RabbitMQ reads a RabbitMQ node with its n largest queues by by. Without
// beamctl_agent (--no-agent) it has no queue scan.
func RabbitMQ(ctx context.Context, c Conn, by string, n int) (*RabbitMQResult, error) {
	_, err := EnsureAgent(ctx, c)
	if err != nil && !errors.Is(err, ErrAgentDisabled) {
		return nil, err
	}
	r, err := product.ReadRabbitMQ(ctx, c, product.RabbitOptions{Agent: err == nil, Top: n})
	if err != nil {
		return nil, err
	}
	if s := r.Scan; s != nil {
		key := map[string]func(product.Queue) int64{
			"messages": product.Queue.Messages, "ready": func(q product.Queue) int64 { return q.Ready },
			"unacked": func(q product.Queue) int64 { return q.Unacked }, "consumers": func(q product.Queue) int64 { return q.Consumers },
			"memory": func(q product.Queue) int64 { return q.Memory },
		}[by]
		if key == nil {
			key = product.Queue.Messages
		}
		sort.SliceStable(s.Top, func(i, j int) bool { return key(s.Top[i]) > key(s.Top[j]) })
		if len(s.Top) > n {
			s.Top = s.Top[:n]
		}
	}
	return &RabbitMQResult{Node: c.Node(), By: by, RabbitMQ: r}, nil
}
