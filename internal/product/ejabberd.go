package product

import (
	"context"
	"fmt"

	"github.com/beamctl/beamctl/internal/etf"
)

// Ejabberd is one ejabberd node, as ejabberdctl's connected_users_number,
// incoming_s2s_number, outgoing_s2s_number and registered_users report it.
type Ejabberd struct {
	Sessions    int64            `json:"sessions"` // online client sessions, in the cluster
	S2SIn       int64            `json:"s2s_incoming"`
	S2SOut      int64            `json:"s2s_outgoing"`
	Registered  map[string]int64 `json:"registered_users"` // by virtual host
	HostsShown  int              `json:"hosts_shown"`
	HostsServed int              `json:"hosts"`
}

// MaxEjabberdHosts bounds the virtual hosts whose users are counted.
const MaxEjabberdHosts = 100

// ReadEjabberd reads an ejabberd node: ErrNotRunning when ejabberd_sup is not
// registered there. Cost: one whereis, one round trip for the session and
// s2s counts and the hosts (Mnesia sizes and ETS reads), one for each
// host's registered users (ejabberd_auth:count_users/1: a table size with
// the internal database; one SQL query per host with an SQL backend).
func ReadEjabberd(ctx context.Context, c Conn) (*Ejabberd, error) {
	ok, err := Running(ctx, c, "ejabberd_sup")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("ejabberd is %w (no process registered as ejabberd_sup)", ErrNotRunning)
	}
	r, err := applyAll(ctx, c, []call{
		{"ejabberd_sm", "connected_users_number", nil},
		{"ejabberd_s2s", "incoming_s2s_number", nil},
		{"ejabberd_s2s", "outgoing_s2s_number", nil},
		{"ejabberd_option", "hosts", nil},
	})
	if err != nil {
		return nil, fmt.Errorf("ejabberd: %w", err)
	}
	e := &Ejabberd{Sessions: count(r[0]), S2SIn: count(r[1]), S2SOut: count(r[2]), Registered: map[string]int64{}}
	hosts, _ := etf.ToList(r[3])
	e.HostsServed = len(hosts)
	if len(hosts) > MaxEjabberdHosts {
		hosts = hosts[:MaxEjabberdHosts]
	}
	if len(hosts) == 0 {
		return e, nil
	}
	calls := make([]call, len(hosts))
	for i, h := range hosts {
		calls[i] = call{"ejabberd_auth", "count_users", []etf.Term{h}}
	}
	n, err := applyAll(ctx, c, calls)
	if err != nil {
		return nil, fmt.Errorf("ejabberd registered users: %w", err)
	}
	for i, h := range hosts {
		e.Registered[text(h)] = count(n[i])
	}
	e.HostsShown = len(hosts)
	return e, nil
}
