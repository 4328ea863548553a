package inspect

import (
	"context"
	"fmt"

	"github.com/beamctl/beamctl/internal/etf"
)

// Table is one ETS table.
type Table struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Owner       string `json:"owner"`
	Type        string `json:"type"`
	Size        int64  `json:"size"`
	MemoryBytes int64  `json:"memory_bytes"`
	Protection  string `json:"protection"`
}

// ETS lists the n largest tables by "size" (objects) or "memory", whose
// name contains match. The listing runs on the node (beamctl_agent).
func ETS(ctx context.Context, c Conn, sortBy string, n int, match string) ([]Table, error) {
	if sortBy != "size" && sortBy != "memory" {
		return nil, fmt.Errorf("cannot sort tables by %q; choose size or memory", sortBy)
	}
	if _, err := EnsureAgent(ctx, c); err != nil {
		return nil, err
	}
	r, err := c.Call(ctx, AgentModule, "ets", etf.Atom(sortBy), n, []byte(match))
	if err != nil {
		return nil, err
	}
	l, err := etf.ToList(r)
	if err != nil {
		return nil, fmt.Errorf("ets: %w", err)
	}
	node := c.Node()
	out := make([]Table, 0, len(l))
	for _, e := range l {
		t, err := etf.ToTuple(e, 7)
		if err != nil {
			return nil, fmt.Errorf("ets: %w", err)
		}
		size, _ := etf.ToInt64(t[4])
		mem, _ := etf.ToInt64(t[5])
		out = append(out, Table{
			ID: text(t[0], node), Name: text(t[1], node), Owner: text(t[2], node), Type: text(t[3], node),
			Size: size, MemoryBytes: mem, Protection: text(t[6], node),
		})
	}
	return out, nil
}
