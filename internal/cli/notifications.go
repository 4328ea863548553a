package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/journal"
)

type notificationsCmd struct {
	cluster, node, kind, since, grep string
	limit                            int
	follow                           bool
}

func registerNotifications(app *kingpin.Application, register func(string, command)) {
	c := &notificationsCmd{}
	cmd := app.Command("notifications", "Show what a beamctl server recorded about its nodes (lifecycle, logs, "+
		"crash reports, code and application changes), newest last; needs --server.")
	cmd.Flag("cluster", "Only this cluster.").StringVar(&c.cluster)
	cmd.Flag("node", "Only this node.").StringVar(&c.node)
	cmd.Flag("kind", "Only this kind (node_down, log, crash_report, code_reloaded, ...).").StringVar(&c.kind)
	cmd.Flag("since", "Only the last DURATION (e.g. 1h) or since a time (RFC 3339).").StringVar(&c.since)
	cmd.Flag("grep", "Only notifications whose text or fields hold every one of these words.").StringVar(&c.grep)
	cmd.Flag("limit", "At most this many (the newest).").Default("100").IntVar(&c.limit)
	cmd.Flag("follow", "Keep printing new notifications as they are recorded, until interrupted.").Short('f').BoolVar(&c.follow)
	register(cmd.FullCommand(), c)
}

func (c *notificationsCmd) untimed() bool { return c.follow }

func (c *notificationsCmd) params() url.Values {
	p := url.Values{}
	for k, v := range map[string]string{"cluster": c.cluster, "node": c.node, "kind": c.kind, "since": c.since, "grep": c.grep} {
		if v != "" {
			p.Set(k, v)
		}
	}
	return p
}

func (c *notificationsCmd) run(ctx context.Context, e *env) error {
	if e.g.server == "" {
		return errors.New("notifications are kept by beamctl serve: give its URL with --server")
	}
	p := c.params()
	p.Set("limit", strconv.Itoa(c.limit))
	var ns []journal.Notification
	if err := e.apiGet(ctx, "/api/v1/notifications", p, &ns); err != nil {
		return err
	}
	for i, j := 0, len(ns)-1; i < j; i, j = i+1, j-1 { // oldest first, as a log reads
		ns[i], ns[j] = ns[j], ns[i]
	}
	asJSON := e.g.output == "json"
	if asJSON && !c.follow {
		return writeJSON(e.stdout, ns)
	}
	if err := printNotifications(e.stdout, ns, asJSON); err != nil {
		return err
	}
	if !c.follow {
		return nil
	}
	var last int64
	if len(ns) > 0 {
		last = ns[len(ns)-1].ID
	}
	return c.stream(ctx, e, last, asJSON)
}

// stream follows /api/v1/notifications/stream from after the last id
// printed, reconnecting if the server goes away.
func (c *notificationsCmd) stream(ctx context.Context, e *env, last int64, asJSON bool) error {
	for {
		err := c.streamOnce(ctx, e, &last, asJSON)
		if ctx.Err() != nil {
			return nil // interrupted: the normal end
		}
		e.logger.Warn("Notification stream ended; reconnecting", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
}

func (c *notificationsCmd) streamOnce(ctx context.Context, e *env, last *int64, asJSON bool) error {
	p := c.params()
	p.Del("since")
	if *last > 0 {
		p.Set("after_id", strconv.FormatInt(*last, 10))
	}
	u := strings.TrimSuffix(e.g.server, "/") + "/api/v1/notifications/stream?" + p.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("server URL: %w", err)
	}
	if err := e.authorize(req); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("ask the server: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("server: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var n journal.Notification
		if err := json.Unmarshal([]byte(data), &n); err != nil {
			return fmt.Errorf("the server's stream: %w", err)
		}
		*last = n.ID
		if err := printNotifications(e.stdout, []journal.Notification{n}, asJSON); err != nil {
			return err
		}
	}
	return sc.Err()
}

// printNotifications prints one line per notification, or one JSON
// object per line.
func printNotifications(w io.Writer, ns []journal.Notification, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, n := range ns {
			if err := enc.Encode(n); err != nil {
				return fmt.Errorf("write json: %w", err)
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, n := range ns {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.Time.Local().Format("2006-01-02 15:04:05.000"), n.Node, n.Kind, n.Severity, n.Text)
	}
	return tw.Flush()
}
