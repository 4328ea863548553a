package collector

import (
	"context"
	"errors"
	"fmt"

	"github.com/beamctl/beamctl/internal/product"
)

func init() { registerCollector("ejabberd", true, func() Collector { return ejabberdCollector{} }) }

// ejabberdCollector reports ejabberd's online sessions, server-to-server
// connections and registered users per virtual host, as ejabberdctl
// reports them. One erlang:whereis/1 on a node without ejabberd (173
// reductions, measured); two more round trips where it runs
// (product.ReadEjabberd).
type ejabberdCollector struct{}

func (ejabberdCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	e, err := product.ReadEjabberd(ctx, c)
	if errors.Is(err, product.ErrNotRunning) {
		return fmt.Errorf("%w: %w", ErrNoData, err)
	}
	if err != nil {
		return err
	}
	dst.Add(Sample{Name: "ejabberd_sessions", Help: "Online client sessions in the ejabberd cluster (connected_users_number).", Value: float64(e.Sessions)})
	dst.Add(Sample{Name: "ejabberd_s2s_incoming", Help: "Incoming server-to-server connections (incoming_s2s_number).", Value: float64(e.S2SIn)})
	dst.Add(Sample{Name: "ejabberd_s2s_outgoing", Help: "Outgoing server-to-server connections (outgoing_s2s_number).", Value: float64(e.S2SOut)})
	for h, n := range e.Registered {
		dst.Add(Sample{Name: "ejabberd_registered_users", Help: "Registered users per virtual host (registered_users).",
			Labels: []Label{{"host", h}}, Value: float64(n)})
	}
	return nil
}
