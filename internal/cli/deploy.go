package cli

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/beamctl/beamctl/internal/deploy"
	"github.com/beamctl/beamctl/internal/severity"
	"github.com/beamctl/beamctl/internal/web"
)

// maxDeployFiles bounds the .beam files one plan reads.
const maxDeployFiles = 200

type deployCmd struct {
	action string
	id     string
	// plan
	cluster, family string
	paths           []string
	opts            deploy.Options
	bake, every     time.Duration
	purgeWait       time.Duration
	sev             string
	gates           []string
	// status
	wait bool
}

func registerDeploy(app *kingpin.Application, register func(string, command)) {
	dep := app.Command("deploy", "Slow-roll hot-code deploys through a beamctl server (admin; needs --server): "+
		"plan, then start the reviewed plan; waves from a canary to everything, health gates while each bakes, automatic rollback. docs/deploy.md.")
	p := &deployCmd{action: "plan"}
	pc := dep.Command("plan", "Plan a deploy of compiled modules (.beam files, or directories of them) to a family or a whole cluster: "+
		"waves, md5s per node, purge risk, refusals. Nothing changes on the nodes.")
	pc.Arg("path", ".beam files or directories holding them.").Required().StringsVar(&p.paths)
	pc.Flag("cluster", "The cluster (as in the server's configuration).").Required().StringVar(&p.cluster)
	pc.Flag("family", "The node family (default: every node of the cluster).").StringVar(&p.family)
	pc.Flag("by", "The node label that cuts the waves.").Default("dc").StringVar(&p.opts.By)
	pc.Flag("bake", "How long each wave runs under the health gates before the next starts.").Default("5m").DurationVar(&p.bake)
	pc.Flag("check-every", "How often the gates are checked during a bake.").Default("5s").DurationVar(&p.every)
	pc.Flag("severity", "A new alarm at or above this on a deployed node fails the wave.").Default("major").EnumVar(&p.sev, "warning", "minor", "major", "critical")
	pc.Flag("error-ratio", "A wave fails when its nodes' crash reports and error logs per node pass this times the control nodes' plus --error-margin.").Default("2").Float64Var(&p.opts.ErrorRatio)
	pc.Flag("error-margin", "Failures per node allowed above the control's ratio.").Default("5").IntVar(&p.opts.ErrorMargin)
	pc.Flag("gate", "A PromQL gate, name=expr: any series it returns fails the wave; $nodes is a regexp of the deployed nodes (repeatable).").StringsVar(&p.gates)
	pc.Flag("force", "Kill processes still in old code after --purge-wait (else that node's load fails the deploy).").BoolVar(&p.opts.Force)
	pc.Flag("purge-wait", "How long a soft purge waits for processes to leave old code.").Default("10s").DurationVar(&p.purgeWait)
	pc.Flag("ignore-mismatch", "Plan although the family has a module_version_mismatch alarm.").BoolVar(&p.opts.IgnoreMismatch)
	register(pc.FullCommand(), p)
	for _, a := range []struct{ name, help string }{
		{"start", "Start a planned deploy by its id: what runs is the plan that was reviewed."},
		{"pause", "Pause a running deploy after its current step; the bake starts again on resume."},
		{"resume", "Resume a paused deploy."},
		{"abort", "Stop a deploy where it is; nodes keep the code they have (rollback can follow)."},
		{"rollback", "Put every node the deploy loaded back to the code it ran before, md5s verified."},
	} {
		c := &deployCmd{action: a.name}
		cc := dep.Command(a.name, a.help)
		cc.Arg("id", "The deploy's id (from plan or status).").Required().StringVar(&c.id)
		if a.name != "pause" && a.name != "abort" {
			cc.Flag("wait", "Wait until the deploy ends (or pauses), printing its events.").BoolVar(&c.wait)
		}
		register(cc.FullCommand(), c)
	}
	st := &deployCmd{action: "status"}
	sc := dep.Command("status", "Show a deploy (its waves, nodes, gates and events), or list the deploys.")
	sc.Arg("id", "The deploy's id (none: list them).").StringVar(&st.id)
	sc.Flag("wait", "Wait until the deploy ends (or pauses), printing its events.").BoolVar(&st.wait)
	register(sc.FullCommand(), st)
}

// untimed: --wait follows a deploy for as long as it runs; a plan calls
// every node, so it gets a minute more than --timeout.
func (c *deployCmd) untimed() bool { return c.wait }

func (c *deployCmd) extraTime() time.Duration {
	if c.action == "plan" {
		return time.Minute
	}
	return 0
}

func (c *deployCmd) run(ctx context.Context, e *env) error {
	if e.g.server == "" {
		return fmt.Errorf("deploys are run by beamctl serve: give its URL with --server")
	}
	var d deploy.Deploy
	switch c.action {
	case "plan":
		body, err := c.planBody()
		if err != nil {
			return err
		}
		if err := e.apiPostJSON(ctx, "/api/v1/deploys", body, &d); err != nil {
			return err
		}
	case "status":
		if c.id == "" {
			var ds []deploy.Deploy
			if err := e.apiGet(ctx, "/api/v1/deploys", nil, &ds); err != nil {
				return err
			}
			if e.g.output == "json" {
				return writeJSON(e.stdout, ds)
			}
			printDeploys(e.stdout, ds)
			return nil
		}
		if err := e.apiGet(ctx, "/api/v1/deploys/"+url.PathEscape(c.id), nil, &d); err != nil {
			return err
		}
	default:
		if err := e.apiPost(ctx, "/api/v1/deploys/"+url.PathEscape(c.id)+"/"+c.action, nil, &d); err != nil {
			return err
		}
	}
	if c.wait {
		return c.follow(ctx, e, &d)
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, d)
	}
	printDeploy(e.stdout, &d)
	return nil
}

// follow polls the deploy every second until it ends or pauses, printing
// each new event; it fails if the deploy did not succeed.
func (c *deployCmd) follow(ctx context.Context, e *env, d *deploy.Deploy) error {
	seen := 0
	for {
		if e.g.output != "json" {
			for _, ev := range d.Events[min(seen, len(d.Events)):] {
				fmt.Fprintf(e.stdout, "%s  %s\n", ev.Time.Local().Format("15:04:05"), ev.Text)
			}
		}
		seen = len(d.Events)
		if !d.State.Active() || d.State == deploy.Paused {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		var next deploy.Deploy
		if err := e.apiGet(ctx, "/api/v1/deploys/"+url.PathEscape(d.ID), nil, &next); err != nil {
			return err
		}
		*d = next
	}
	if e.g.output == "json" {
		if err := writeJSON(e.stdout, d); err != nil {
			return err
		}
	} else {
		printDeploy(e.stdout, d)
	}
	switch d.State {
	case deploy.Succeeded, deploy.Paused, deploy.RolledBack:
		return nil
	}
	return fmt.Errorf("deploy %s ended %s", d.ID, d.State)
}

// planBody reads the modules and the options into the API's request.
func (c *deployCmd) planBody() (*web.PlanBody, error) {
	files, err := beamFiles(c.paths)
	if err != nil {
		return nil, err
	}
	body := &web.PlanBody{Cluster: c.cluster, Family: c.family, Options: c.opts}
	body.Options.Bake, body.Options.CheckEvery, body.Options.PurgeWait = deploy.Duration(c.bake), deploy.Duration(c.every), deploy.Duration(c.purgeWait)
	if body.Options.Severity, err = severity.Parse(c.sev); err != nil {
		return nil, err
	}
	for _, g := range c.gates {
		name, expr, ok := strings.Cut(g, "=")
		if !ok || name == "" || expr == "" {
			return nil, fmt.Errorf("--gate %q: give name=expr", g)
		}
		body.Options.Gates = append(body.Options.Gates, deploy.Gate{Name: name, Expr: expr})
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read the module: %w", err)
		}
		if _, err := deploy.ParseBeam(b); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		body.Modules = append(body.Modules, struct {
			File string `json:"file"`
			Beam string `json:"beam"`
		}{filepath.Base(f), base64.StdEncoding.EncodeToString(b)})
	}
	return body, nil
}

// beamFiles expands directories into the .beam files they hold.
func beamFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("read the modules: %w", err)
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		ms, err := filepath.Glob(filepath.Join(p, "*.beam"))
		if err != nil {
			return nil, err
		}
		if len(ms) == 0 {
			return nil, fmt.Errorf("%s holds no .beam file", p)
		}
		out = append(out, ms...)
	}
	if len(out) > maxDeployFiles {
		return nil, fmt.Errorf("%d modules: a deploy takes at most %d", len(out), maxDeployFiles)
	}
	return out, nil
}

func printDeploys(w io.Writer, ds []deploy.Deploy) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tCLUSTER\tFAMILY\tMODULES\tNODES\tWAVE\tCREATED")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d/%d\t%s\n", d.ID, d.State, d.Cluster, d.Family, len(d.Modules), len(d.Nodes),
			min(d.Wave+1, len(d.Waves)), len(d.Waves), d.Created.Local().Format("2006-01-02 15:04:05"))
	}
	_ = tw.Flush()
}

func printDeploy(w io.Writer, d *deploy.Deploy) {
	fmt.Fprintf(w, "Deploy %s: %s\n  %s, by %s at %s\n", d.ID, d.State, scopeText(d), d.CreatedBy, d.Created.Local().Format("2006-01-02 15:04:05"))
	o := d.Options
	fmt.Fprintf(w, "  bake %s per wave (gates every %s): alarms >= %s; failures <= %g x control + %d per node",
		time.Duration(o.Bake), time.Duration(o.CheckEvery), o.Severity, o.ErrorRatio, o.ErrorMargin)
	for _, g := range o.Gates {
		fmt.Fprintf(w, "; %s: %s", g.Name, g.Expr)
	}
	fmt.Fprintf(w, "\n  purge: wait %s, then %s\n", time.Duration(o.PurgeWait), map[bool]string{true: "kill (force)", false: "fail"}[o.Force])
	fmt.Fprintln(w, "Modules:")
	for _, m := range d.Modules {
		fmt.Fprintf(w, "  %-24s md5 %s  %s  compiler %s (OTP %d+)\n", m.Module, m.MD5, m.File, m.Compiler, m.MinOTP)
	}
	fmt.Fprintln(w, "Waves:")
	for i, wv := range d.Waves {
		fmt.Fprintf(w, "  %d. %-28s %-8s %s\n", i+1, wv.Name, wv.State, strings.Join(wv.Nodes, ", "))
	}
	fmt.Fprintln(w, "Nodes:")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  NODE\tOTP\tLABELS\tSTATUS\tMODULE\tMD5 BEFORE\tMD5 NOW\tBACKUP\tOLD CODE")
	for _, n := range d.Nodes {
		var ls []string
		for k, v := range n.Labels {
			ls = append(ls, k+"="+v)
		}
		sort.Strings(ls)
		for _, m := range n.Modules {
			old := "-"
			switch {
			case m.OldCode && len(m.Lingering) == 0:
				old = "yes, no process in it"
			case m.OldCode:
				old = fmt.Sprintf("yes, %d processes in it", len(m.Lingering))
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.Node, n.OTP, strings.Join(ls, ","), n.Status, m.Module,
				orDash(m.MD5Before), orDash(m.Now), m.Backup, old)
		}
		if n.Error != "" {
			fmt.Fprintf(tw, "  %s\t\t\terror: %s\n", n.Node, n.Error)
		}
	}
	_ = tw.Flush()
	for _, r := range d.Refusals {
		fmt.Fprintf(w, "REFUSED: %s\n", r)
	}
	for _, x := range d.Warnings {
		fmt.Fprintf(w, "warning: %s\n", x)
	}
	if f := d.Failure; f != nil {
		fmt.Fprintf(w, "Failed gate %s in wave %d: %s\n", f.Gate, f.Wave+1, f.Text)
		for _, ev := range f.Evidence {
			fmt.Fprintf(w, "  %s\n", ev)
		}
	}
	if d.State == deploy.Planned && len(d.Refusals) == 0 {
		fmt.Fprintf(w, "Review it, then: beamctl deploy start %s\n", d.ID)
	}
}

func scopeText(d *deploy.Deploy) string {
	if d.Family == "" {
		return "cluster " + d.Cluster
	}
	return "family " + d.Family + " of cluster " + d.Cluster
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
