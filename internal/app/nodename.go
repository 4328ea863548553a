package app

import (
	"context"
	"fmt"
	"time"

	"github.com/beamctl/beamctl/internal/dist"
)

// lockName takes the server's node name, beamctl_<user>_srv<N>, the first
// free of dist.NameSlots on this host, and holds it until Stop: every
// connection and reconnection to every node uses it, so that the server
// adds one atom to a node in its whole life, not one per connection.
func (a *App) lockName(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	l, err := dist.LockName(ctx, "srv")
	if err != nil {
		return fmt.Errorf("take the server's node name: %w", err)
	}
	a.name = l
	return nil
}
