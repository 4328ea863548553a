package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os/user"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/alarm"
)

type alarmsCmd struct {
	active        bool
	cluster, node string
	limit         int
}

type alarmCmd struct {
	action   string
	id       int64
	who      string
	text     string
	showOnly bool
}

func registerAlarms(app *kingpin.Application, register func(string, command)) {
	c := &alarmsCmd{}
	cmd := app.Command("alarms", "List a beamctl server's alarms, active first by severity; needs --server.")
	cmd.Flag("active", "Only the active alarms.").BoolVar(&c.active)
	cmd.Flag("cluster", "Only this cluster.").StringVar(&c.cluster)
	cmd.Flag("node", "Only this node.").StringVar(&c.node)
	cmd.Flag("limit", "At most this many (the newest).").Default("100").IntVar(&c.limit)
	register(cmd.FullCommand(), c)

	one := app.Command("alarm", "Show, acknowledge, comment on or clear one alarm; needs --server.")
	for _, action := range []struct{ name, help string }{
		{"show", "Show an alarm with its history."},
		{"ack", "Acknowledge an alarm."},
		{"unack", "Take an acknowledgement back."},
		{"comment", "Add a comment to an alarm's history."},
		{"clear", "Clear an active alarm by hand (raised again if its condition still holds after its for: duration)."},
	} {
		ac := &alarmCmd{action: action.name}
		sub := one.Command(action.name, action.help)
		sub.Arg("id", "Alarm id.").Required().Int64Var(&ac.id)
		if action.name != "show" {
			sub.Flag("who", "Ignored: the server records the authenticated identity (--token-file).").Hidden().StringVar(&ac.who)
		}
		if action.name == "comment" {
			sub.Arg("text", "The comment.").Required().StringVar(&ac.text)
		}
		register(sub.FullCommand(), ac)
	}
}

func needServer(e *env) error {
	if e.g.server == "" {
		return errors.New("alarms are kept by beamctl serve: give its URL with --server")
	}
	return nil
}

func (c *alarmsCmd) run(ctx context.Context, e *env) error {
	if err := needServer(e); err != nil {
		return err
	}
	p := url.Values{"limit": {strconv.Itoa(c.limit)}}
	if c.active {
		p.Set("active", "true")
	}
	if c.cluster != "" {
		p.Set("cluster", c.cluster)
	}
	if c.node != "" {
		p.Set("node", c.node)
	}
	var as []alarm.Alarm
	if err := e.apiGet(ctx, "/api/v1/alarms", p, &as); err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, as)
	}
	printAlarms(e.stdout, as)
	return nil
}

func printAlarms(w io.Writer, as []alarm.Alarm) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSEVERITY\tRULE\tNODE\tRAISED\tDESCRIPTION")
	for _, a := range as {
		state := "cleared"
		if a.Active {
			state = "active"
			if a.AckedBy != "" {
				state = "acked"
			}
			if a.Flapping {
				state += ",flapping"
			}
		}
		node := a.Node
		if node == "" {
			node = a.Cluster
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, state, a.Severity, a.Rule, node,
			a.RaisedAt.Local().Format("2006-01-02 15:04:05"), a.Description)
	}
	tw.Flush()
}

func (c *alarmCmd) run(ctx context.Context, e *env) error {
	if err := needServer(e); err != nil {
		return err
	}
	path := "/api/v1/alarms/" + strconv.FormatInt(c.id, 10)
	var a alarm.Alarm
	if c.action == "show" {
		if err := e.apiGet(ctx, path, nil, &a); err != nil {
			return err
		}
	} else {
		who := c.who
		if who == "" {
			if u, err := user.Current(); err == nil {
				who = u.Username
			}
		}
		if err := e.apiPost(ctx, path+"/"+c.action, url.Values{"who": {who}, "text": {c.text}}, &a); err != nil {
			return err
		}
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, a)
	}
	printAlarms(e.stdout, []alarm.Alarm{a})
	fmt.Fprintln(e.stdout)
	for _, ev := range a.History {
		fmt.Fprintf(e.stdout, "%s  %-20s %-10s %s\n", ev.Time.Local().Format(time.DateTime), ev.Kind, ev.Who, ev.Text)
	}
	return nil
}
