package export

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/beamctl/beamctl/internal/journal"
)

const (
	gelfChunkSize = 1420 // fits any path MTU; Graylog accepts up to 8192, some readers only 1420
	gelfMaxChunks = 128
)

var gelfFieldName = regexp.MustCompile(`[^\w.\-]`)

type gelfSender struct {
	s        *stream
	hostname string
}

func newGELF(o Options) (*gelfSender, error) {
	s, err := newStream(o.Protocol, o.Address)
	if err != nil {
		return nil, err
	}
	return &gelfSender{s: s, hostname: o.Hostname}, nil
}

// message is one GELF 1.1 message: the text, the source host, the time,
// the syslog level, and the cluster, node, kind and fields as additional
// fields (_cluster, _node, _kind, _<field>).
func (g *gelfSender) message(n journal.Notification) ([]byte, error) {
	hostname := g.hostname
	if hostname == "" {
		hostname = host(n.Node)
	}
	m := map[string]any{
		"version": "1.1", "host": hostname, "short_message": n.Text,
		"timestamp": float64(n.Time.UnixMicro()) / 1e6, "level": syslogSeverity(n.Severity),
	}
	for k, v := range n.Fields {
		m["_"+gelfFieldName.ReplaceAllString(k, "_")] = v
	}
	m["_cluster"], m["_node"], m["_kind"], m["_severity"], m["_notification_id"] = n.Cluster, n.Node, n.Kind, n.Severity, n.ID
	return json.Marshal(m)
}

func (g *gelfSender) send(ctx context.Context, ns []journal.Notification) error {
	var msgs [][]byte
	for _, n := range ns {
		b, err := g.message(n)
		if err != nil {
			return fmt.Errorf("gelf: %w", err)
		}
		switch {
		case g.s.protocol == "tcp":
			msgs = append(msgs, append(b, 0)) // null-byte framing
		case len(b) <= gelfChunkSize:
			msgs = append(msgs, b)
		default:
			chunks, err := gelfChunks(b)
			if err != nil {
				return err
			}
			msgs = append(msgs, chunks...)
		}
	}
	return g.s.write(ctx, msgs)
}

func (g *gelfSender) close() error { return g.s.close() }

// gelfChunks splits a message into GELF chunks: magic 0x1e 0x0f, an
// 8-byte message id, the sequence number and the count, then the data.
func gelfChunks(b []byte) ([][]byte, error) {
	const data = gelfChunkSize - 12
	count := (len(b) + data - 1) / data
	if count > gelfMaxChunks {
		return nil, fmt.Errorf("gelf: a message of %d bytes needs more than %d chunks", len(b), gelfMaxChunks)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	out := make([][]byte, 0, count)
	for i := range count {
		c := append([]byte{0x1e, 0x0f}, id[:]...)
		c = append(c, byte(i), byte(count))
		out = append(out, append(c, b[i*data:min(len(b), (i+1)*data)]...))
	}
	return out, nil
}
