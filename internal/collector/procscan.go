package collector

import (
	"context"
	"fmt"

	"github.com/beamctl/beamctl/internal/etf"
)

// The message_queues and shells collectors read one walk of the process
// table (beamctl_agent:proc_scan/2): both make the same call, and a round's
// batch sends identical calls once (batch.flush), so a full round walks the
// table once. Each collector alone still works (its own call).
const (
	// procScanLimit bounds the processes one walk looks at (compiled code
	// on the node: about 50 ms of one scheduler per million processes).
	procScanLimit = 1_000_000
	// shellMinBytes is the memory from which a shell process is reported.
	shellMinBytes = 1 << 20
)

// procScan returns the walk's two parts: the message queue summary (a
// 6-tuple) and the shells list.
func procScan(ctx context.Context, c Conn) (etf.Tuple, []etf.Term, error) {
	r, err := c.Call(ctx, agentModule, "proc_scan", int64(procScanLimit), int64(shellMinBytes))
	if err != nil {
		return nil, nil, err
	}
	t, err := etf.ToTuple(r, 2)
	if err != nil {
		return nil, nil, fmt.Errorf("beamctl_agent:proc_scan: %w", err)
	}
	mq, err := etf.ToTuple(t[0], 6)
	if err != nil {
		return nil, nil, fmt.Errorf("beamctl_agent:proc_scan: %w", err)
	}
	shells, err := etf.ToList(t[1])
	if err != nil {
		return nil, nil, fmt.Errorf("beamctl_agent:proc_scan: %w", err)
	}
	return mq, shells, nil
}
