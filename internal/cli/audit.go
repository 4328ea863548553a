package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/model"

	"github.com/beamctl/beamctl/internal/audit"
	"github.com/beamctl/beamctl/internal/inspect"
)

// auditPath is the local audit log of the CLI's direct connections:
// --audit.file, else the default one.
func (e *env) auditPath() (string, error) {
	if e.g.auditFile != "" {
		return e.g.auditFile, nil
	}
	return auditPath()
}

// auditPath is the default audit log, in beamctl's state directory:
// $XDG_STATE_HOME/beamctl/audit.log, else ~/.local/state/beamctl/audit.log.
func auditPath() (string, error) {
	if d := osGetenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "beamctl", "audit.log"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home directory for the audit log (give --audit.file): %w", err)
	}
	return filepath.Join(home, ".local", "state", "beamctl", "audit.log"), nil
}

// auditBegin writes the "started" record of an action the CLI is about to
// run over a direct connection (synced to disk, chained to the records
// other beamctl processes wrote) and returns the function that records its
// outcome. When it fails, the action must not run.
func (e *env) auditBegin(action, node string, args map[string]string) (end func(error), err error) {
	p, err := e.auditPath()
	if err != nil {
		return nil, err
	}
	l, err := audit.Open(p, audit.Options{})
	if err != nil {
		return nil, err
	}
	who := "uid:" + strconv.Itoa(os.Getuid()) // no user database entry (a container)
	if u, err := user.Current(); err == nil && u.Username != "" {
		who = u.Username
	}
	from, _ := os.Hostname()
	done, err := l.Begin(audit.Action{Who: who, Role: "cookie", From: from, Action: action, Node: node, Args: args})
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	return func(err error) {
		if werr := done(err, ""); werr != nil {
			e.logger.Error("Cannot write the outcome to the audit log", "action", action, "node", node, "err", werr)
		}
		_ = l.Close()
	}, nil
}

// auditedRun runs a tool on a direct connection between its two audit
// records: "eval" and "load" under their names, the other tools as
// "inspect.<tool>", with their parameters as arguments.
func auditedRun[T any](ctx context.Context, e *env, c inspect.Conn, tp *toolParams) (T, error) {
	var zero T
	action := tp.tool.Name
	if tp.tool.Effect != inspect.RunsAnyCode && tp.tool.Effect != inspect.ChangesCode {
		action = "inspect." + action
	}
	args := tp.raw()
	if tp.tool.Agent == inspect.LoadsAgent {
		args["agent"] = "loads beamctl_agent if missing"
	}
	end, err := e.auditBegin(action, c.Node(), args)
	if err != nil {
		return zero, fmt.Errorf("write the audit log (nothing was run on %s): %w", c.Node(), err)
	}
	v, err := runOn[T](ctx, c, tp.tool, tp.args)
	end(err)
	return v, err
}

type auditCmd struct {
	file, since, until, who, action, node string
	limit                                 int
}

type auditVerifyCmd struct {
	file   *string // the audit command's --file
	anchor string
}

func registerAudit(app *kingpin.Application, register func(string, command)) {
	c := &auditCmd{}
	v := &auditVerifyCmd{}
	cmd := app.Command("audit", "Read an audit trail, newest first: a beamctl server's (--server, admins only) "+
		"or a local log (default: this user's log of direct connections, see --audit.file).")
	cmd.Flag("file", "Read this audit log (a server's is <storage.path>/audit/audit.log).").StringVar(&c.file)
	cmd.Flag("since", "Only the last DURATION (e.g. 1h) or since a time (RFC 3339).").StringVar(&c.since)
	cmd.Flag("until", "Only before a time (RFC 3339) or DURATION ago.").StringVar(&c.until)
	cmd.Flag("who", "Only this user or token.").StringVar(&c.who)
	cmd.Flag("action", "Only this action (eval, load, reload, agent.remove...) or family (inspect, alarm).").StringVar(&c.action)
	cmd.Flag("node", "Only this node.").StringVar(&c.node)
	cmd.Flag("limit", "At most this many (the newest).").Default("100").IntVar(&c.limit)
	show := cmd.Command("show", "Show audit records (the default).").Default()
	register(show.FullCommand(), c)

	verify := cmd.Command("verify", "Check an audit log's hash chain (--file, default the local one): exit 1, naming the "+
		"first bad record, if a record was edited, deleted, reordered, or the newest were cut off (against its head file and --anchor).")
	verify.Flag("anchor", "A head remembered elsewhere, SEQ:HASH (from an earlier verify, or an exported record).").StringVar(&v.anchor)
	v.file = &c.file
	register(verify.FullCommand(), v)
}

// sinceTime reads a DURATION back from now or an RFC 3339 time.
func sinceTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return now.Add(-time.Duration(d)), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration (1h, 7d) nor an RFC 3339 time", s)
	}
	return t, nil
}

func (c *auditCmd) filter() (audit.Filter, error) {
	now := time.Now()
	since, err := sinceTime(c.since, now)
	if err != nil {
		return audit.Filter{}, fmt.Errorf("--since: %w", err)
	}
	until, err := sinceTime(c.until, now)
	if err != nil {
		return audit.Filter{}, fmt.Errorf("--until: %w", err)
	}
	if c.limit < 1 || c.limit > audit.MaxLimit {
		return audit.Filter{}, fmt.Errorf("--limit must be from 1 to %d", audit.MaxLimit)
	}
	return audit.Filter{Since: since, Until: until, Who: c.who, Action: c.action, Node: c.node, Limit: c.limit}, nil
}

func (c *auditCmd) run(ctx context.Context, e *env) error {
	f, err := c.filter()
	if err != nil {
		return err
	}
	var recs []audit.Record
	if e.g.server != "" && c.file == "" {
		if recs, err = c.fromServer(ctx, e, f); err != nil {
			return err
		}
	} else {
		path := c.file
		if path == "" {
			if path, err = e.auditPath(); err != nil {
				return err
			}
		}
		if recs, err = audit.Read(path, f); err != nil {
			return err
		}
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, recs)
	}
	return printAudit(e.stdout, recs)
}

// fromServer reads GET /api/v1/audit: since and until as RFC 3339 times,
// who, action, node, limit.
func (c *auditCmd) fromServer(ctx context.Context, e *env, f audit.Filter) ([]audit.Record, error) {
	p := url.Values{"limit": {strconv.Itoa(f.Limit)}}
	for k, v := range map[string]string{"who": f.Who, "action": f.Action, "node": f.Node} {
		if v != "" {
			p.Set(k, v)
		}
	}
	if !f.Since.IsZero() {
		p.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		p.Set("until", f.Until.UTC().Format(time.RFC3339Nano))
	}
	var raw json.RawMessage
	if err := e.apiGet(ctx, "/api/v1/audit", p, &raw); err != nil {
		return nil, err
	}
	return decodePage(raw)
}

// decodePage reads the records of the API's answer: a Page, or a bare
// list.
func decodePage(raw json.RawMessage) ([]audit.Record, error) {
	var page audit.Page
	if err := json.Unmarshal(raw, &page); err == nil && page.Records != nil {
		return page.Records, nil
	}
	var recs []audit.Record
	if err := json.Unmarshal(raw, &recs); err != nil {
		return nil, fmt.Errorf("the server's audit answer: %w", err)
	}
	return recs, nil
}

func printAudit(w io.Writer, recs []audit.Record) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSEQ\tWHO\tFROM\tACTION\tNODE\tOUTCOME\tARGS")
	for _, r := range recs {
		out := r.Outcome
		if r.Ref != 0 {
			out += fmt.Sprintf(" (of %d)", r.Ref)
		}
		if r.Note != "" {
			out += ": " + r.Note
		}
		args := argsText(r.Args)
		if r.Pruned > 0 {
			args = strings.TrimSpace(fmt.Sprintf("pruned=%d through=%d %s", r.Pruned, r.PrunedThrough, args))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Time.Local().Format("2006-01-02 15:04:05"), r.Seq,
			dash(r.Who), dash(r.From), r.Action, dash(r.Node), oneLine(out), oneLine(args))
	}
	return tw.Flush()
}

func argsText(args map[string]string) string {
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := args[k]
		if len(v) > 80 {
			v = v[:77] + "..."
		}
		parts = append(parts, k+"="+strconv.Quote(v))
	}
	return strings.Join(parts, " ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\t", " ").Replace(s) }

var anchorRE = regexp.MustCompile(`^([0-9]+):([0-9a-f]{64})$`)

func (c *auditVerifyCmd) run(_ context.Context, e *env) error {
	path := *c.file
	if path == "" {
		var err error
		if path, err = e.auditPath(); err != nil {
			return err
		}
	}
	var anchors []audit.Head
	if c.anchor != "" {
		m := anchorRE.FindStringSubmatch(c.anchor)
		if m == nil {
			return fmt.Errorf("--anchor %q is not SEQ:HASH (a number, a colon, 64 hex digits)", c.anchor)
		}
		seq, _ := strconv.ParseInt(m[1], 10, 64)
		anchors = append(anchors, audit.Head{Seq: seq, Hash: m[2]})
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	rep, err := audit.Verify(path, anchors...)
	if err != nil {
		var te *audit.TamperError
		if errors.As(err, &te) {
			return fmt.Errorf("%s has been tampered with: %w", path, err)
		}
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, map[string]any{"file": path, "ok": true, "report": rep})
	}
	fmt.Fprintf(e.stdout, "%s: OK, %d records, seq %d to %d; head %d:%s\n", path, rep.Records, rep.First.Seq, rep.Head.Seq, rep.Head.Seq, rep.Head.Hash)
	if rep.Pruned > 0 {
		fmt.Fprintf(e.stdout, "%d older records were pruned (a checkpoint records it).\n", rep.Pruned)
	}
	if len(rep.Anchors) == 0 {
		fmt.Fprintln(e.stdout, "No head file or anchor: the newest records could have been cut off undetected.")
	}
	return nil
}
