package app

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/audit"
	"github.com/beamctl/beamctl/internal/deploy"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/nodename"
	"github.com/beamctl/beamctl/internal/notify"
	"github.com/beamctl/beamctl/internal/severity"
)

// deployEnv is the server as a deploy sees it (deploy.Env).
type deployEnv struct{ a *App }

func (a *App) openDeploys() (*deploy.Manager, error) {
	return deploy.Open(filepath.Join(a.opts.StoragePath, "deploys"), deployEnv{a}, a.log.With("component", "deploy"))
}

// Deploys is the deploy manager (for tests and the API).
func (a *App) Deploys() *deploy.Manager { return a.deploys }

// Targets lists the cluster's nodes with their family, OTP release and
// labels (the configuration's, and host: the node name's host).
func (e deployEnv) Targets(cluster string) ([]deploy.Target, error) {
	e.a.runMu.Lock()
	run := e.a.runs[cluster]
	e.a.runMu.Unlock()
	if run == nil {
		return nil, fmt.Errorf("no cluster %q", cluster)
	}
	var out []deploy.Target
	for _, n := range e.a.Nodes() {
		if n.Cluster != cluster {
			continue
		}
		labels := run.cfg.NodeLabelsOf(n.Node)
		if nn, err := nodename.Parse(n.Node); err == nil {
			labels["host"] = nn.Host
		}
		out = append(out, deploy.Target{Node: n.Node, Family: n.Family, OTP: n.OTPRelease, Labels: labels, Up: n.State == "up"})
	}
	return out, nil
}

// Conn is the node's live connection, without the agent where the
// cluster says agent: false.
func (e deployEnv) Conn(ctx context.Context, _, node string) (inspect.Conn, error) {
	return webModel{e.a}.Conn(ctx, node)
}

// Alarms lists the active alarms on the nodes raised since, at or above
// min.
func (e deployEnv) Alarms(cluster string, nodes []string, since time.Time, min severity.Level) []string {
	var out []string
	for _, x := range e.a.alarms.Active() {
		if x.Cluster == cluster && slices.Contains(nodes, x.Node) && x.Severity >= min && !x.RaisedAt.Before(since) {
			out = append(out, fmt.Sprintf("alarm %d %s (%s) on %s since %s: %s", x.ID, x.Rule, x.Severity, x.Node,
				x.RaisedAt.UTC().Format(time.RFC3339), x.Description))
		}
	}
	slices.Sort(out)
	return out
}

// FamilyMismatch describes the family's active module_version_mismatch
// alarms.
func (e deployEnv) FamilyMismatch(cluster, family string) string {
	var out []string
	for _, x := range e.a.alarms.Active() {
		if x.Rule == "module_version_mismatch" && x.Cluster == cluster && (family == "" || strings.HasPrefix(x.Subject, family+" ")) {
			out = append(out, x.Description)
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// Failures counts the nodes' crash and supervisor reports and error logs.
func (e deployEnv) Failures(ctx context.Context, cluster string, since, until time.Time) (map[string]int, error) {
	return e.a.notes.Store().CountFailures(ctx, cluster, since, until)
}

// Query evaluates a gate's PromQL now; each series is a line.
func (e deployEnv) Query(ctx context.Context, q string) ([]string, error) {
	res, err := e.a.db.Query(ctx, q, time.Now())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range res.Series {
		var ls []string
		for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
			ls = append(ls, fmt.Sprintf("%s=%q", k, s.Labels[k]))
		}
		v := ""
		if len(s.Points) > 0 {
			v = fmt.Sprintf(" %g", s.Points[len(s.Points)-1].Value)
		}
		out = append(out, "{"+strings.Join(ls, ", ")+"}"+v)
	}
	return out, nil
}

// Announce records a notification of the deploy and sends it to every
// alarm destination (webhook, Slack, e-mail, PagerDuty, Alertmanager) as
// an alert of rule "deploy", active while the deploy runs.
func (e deployEnv) Announce(d *deploy.Deploy, kind string, sev severity.Level, text string, evidence []string) {
	now := time.Now()
	fields := map[string]string{"deploy": d.ID, "state": string(d.State)}
	if d.Family != "" {
		fields["family"] = d.Family
	}
	if len(evidence) > 0 {
		fields["evidence"] = strings.Join(evidence, "\n")
	}
	e.a.record(journal.Notification{Time: now, Cluster: d.Cluster, Kind: kind, Severity: sev, Text: text, Fields: fields})
	alarmSev := sev
	if alarmSev < severity.Warning { // the destinations speak alarm severities
		alarmSev = severity.Warning
	}
	if alarmSev == severity.Error {
		alarmSev = severity.Major
	}
	alert := notify.Alert{
		Alarm: notify.Alarm{Rule: "deploy", Cluster: d.Cluster, Subject: strings.TrimSpace(d.Family + " deploy " + d.ID), Severity: alarmSev,
			Active: d.State.Active(), RaisedAt: d.Created, Description: text, Evidence: evidence,
			Labels: map[string]string{"deploy": d.ID, "kind": kind}},
		Event: notify.Event{Time: now, Kind: kind, Who: d.StartedBy, Text: text},
	}
	if !alert.Alarm.Active {
		alert.Alarm.ClearedAt = &now
	}
	for _, l := range e.a.deliveryLoops() {
		l.Add(alert)
	}
}

// Audit records what a deploy does by itself (loads, rollbacks) before it
// does it; the API audits the commands of people.
func (e deployEnv) Audit(action, who, node string, args map[string]string) (func(error), error) {
	if who != "" {
		args = maps.Clone(args)
		args["started_by"] = who
	}
	done, err := e.a.audit.log.Begin(audit.Action{Who: serverWho, Action: action, Node: node, Args: args})
	if err != nil {
		return nil, fmt.Errorf("write the audit log (nothing was done): %w", err)
	}
	return func(err error) {
		if werr := done(err, ""); werr != nil {
			e.a.log.Error("Cannot write an outcome to the audit log", "action", action, "node", node, "err", werr)
		}
	}, nil
}
