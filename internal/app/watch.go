package app

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/capture"
	"github.com/beamctl/beamctl/internal/collector"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/termtext"
)

// record stores notifications, logging (not returning) a failure.
func (a *App) record(ns ...journal.Notification) {
	if len(ns) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.notes.Record(ctx, ns...); err != nil {
		a.log.Error("Cannot store notifications", "err", err, "count", len(ns))
	}
}

// lifecycle records the cluster's node up and down events, and a node's
// first connection ever (remembered in the notification store).
func (a *App) lifecycle(ctx context.Context, run *clusterRun) {
	defer run.wg.Done()
	events, cancel := run.pool.Subscribe(256)
	defer cancel()
	cluster := run.cfg.Name
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			a.alarms.Kick() // node_down without waiting for the interval
			n := journal.Notification{Time: ev.Time, Cluster: cluster, Node: ev.Node}
			switch ev.Kind {
			case dist.NodeUp:
				var seen bool
				found, err := a.notes.Store().LoadSnapshot(ctx, cluster, ev.Node, "seen", &seen)
				if err != nil {
					a.log.Error("Cannot read node history", "node", ev.Node, "err", err)
				}
				if !found {
					n.Kind, n.Severity, n.Text = "node_first_seen", journal.Info, fmt.Sprintf("Node %s connected for the first time.", ev.Node)
					if err := a.notes.Store().SaveSnapshot(ctx, cluster, ev.Node, "seen", true); err != nil {
						a.log.Error("Cannot write node history", "node", ev.Node, "err", err)
					}
				} else {
					n.Kind, n.Severity, n.Text = "node_up", journal.Info, fmt.Sprintf("Node %s is up.", ev.Node)
				}
				a.record(n)
				if r := a.restarted(ctx, run, ev.Node, ev.Time); r != nil {
					a.record(*r)
				}
				continue
			case dist.NodeDown:
				reason := "closed"
				if ev.Err != nil {
					reason = ev.Err.Error()
				}
				n.Kind, n.Severity, n.Text = "node_down", journal.Error, fmt.Sprintf("Node %s is down: %s.", ev.Node, reason)
				n.Fields = map[string]string{"reason": reason}
			}
			a.record(n)
		}
	}
}

// restarted compares the node's creation (a new number at every start,
// from the handshake) with the one remembered (across beamctl restarts
// too) and returns a node_restarted notification when it changed, however
// short the node's last life was.
func (a *App) restarted(ctx context.Context, run *clusterRun, node string, at time.Time) *journal.Notification {
	cctx, cancel := context.WithTimeout(ctx, time.Duration(run.global.CollectTimeout))
	conn, err := run.pool.Conn(cctx, node)
	cancel()
	if err != nil {
		return nil
	}
	cur := conn.PeerCreation()
	var prev uint32
	found, err := a.notes.Store().LoadSnapshot(ctx, run.cfg.Name, node, "creation", &prev)
	if err != nil {
		a.log.Error("Cannot read node history", "node", node, "err", err)
		return nil
	}
	if err := a.notes.Store().SaveSnapshot(ctx, run.cfg.Name, node, "creation", cur); err != nil {
		a.log.Error("Cannot write node history", "node", node, "err", err)
	}
	if !found || prev == cur {
		return nil
	}
	return &journal.Notification{Time: at, Cluster: run.cfg.Name, Node: node, Kind: "node_restarted", Severity: journal.Warning,
		Text:   fmt.Sprintf("Node %s restarted (creation %d, was %d).", node, cur, prev),
		Fields: map[string]string{"creation": fmt.Sprint(cur), "previous_creation": fmt.Sprint(prev)}}
}

// watch captures one node's logs and code changes while it is connected:
// on every new connection it installs the log forwarder and compares the
// loaded modules with the last reading (which survives restarts of
// beamctl), then polls them every code interval.
func (a *App) watch(ctx context.Context, run *clusterRun, node string) {
	defer run.wg.Done()
	cluster, capt := run.cfg.Name, run.cfg.Notifications
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, time.Duration(run.global.CollectTimeout))
		conn, err := run.pool.Conn(cctx, node)
		cancel()
		if err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
				continue
			}
		}
		a.watchConn(ctx, run, conn, cluster, capt.LevelOf(node), time.Duration(capt.CodeInterval))
	}
}

// watchConn captures from one connection until it closes or ctx ends.
func (a *App) watchConn(ctx context.Context, run *clusterRun, conn *dist.Conn, cluster, level string, codeEvery time.Duration) {
	node := conn.Node()
	timeout := time.Duration(run.global.CollectTimeout)
	fetched := make(chan struct{})
	defer func() { <-fetched }()
	go func() {
		defer close(fetched)
		a.fetchCrashDump(ctx, conn, cluster, run.cfg.Notifications.CrashDump)
	}()
	if level != "none" {
		ictx, cancel := context.WithTimeout(ctx, timeout)
		fwd, err := capture.ForwardLogs(ictx, conn, level)
		cancel()
		if err != nil {
			a.log.Warn("Cannot forward the node's logs", "cluster", cluster, "node", node, "err", err)
		} else {
			defer a.forward(fwd.Events(ctx), cluster, func() { // taken away when beamctl stops watching
				rctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				if err := fwd.Remove(rctx); err != nil {
					a.log.Debug("Cannot remove the log handler", "node", node, "err", err)
				}
			})()
		}
	}
	if mode := run.cfg.Notifications.SystemMonitor; mode != "off" {
		o := capture.DefaultSysmon
		o.Record, o.Steal = mode == "record", run.cfg.Notifications.SystemMonitorSteal
		sctx, cancel := context.WithTimeout(ctx, timeout)
		sm, err := capture.StartSysmon(sctx, conn, o)
		cancel()
		switch {
		case capture.IsTaken(err):
			a.record(journal.Notification{Time: time.Now(), Cluster: cluster, Node: node, Kind: "system_monitor_taken", Severity: journal.Info,
				Text: fmt.Sprintf("Node %s: %v.", node, err)})
		case err != nil:
			a.log.Warn("Cannot start the system monitor", "cluster", cluster, "node", node, "err", err)
		default:
			k := nodeKey{cluster, node}
			a.mu.Lock()
			a.info(cluster, node).sysmon = sm
			a.mu.Unlock()
			defer a.forward(sm.Events(ctx), cluster, func() {
				a.mu.Lock()
				if a.nodes[k].sysmon == sm {
					a.nodes[k].sysmon = nil
				}
				a.mu.Unlock()
				sctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				_ = sm.Stop(sctx) // fails only if the node is gone, which gives the slot back too
			})()
		}
	}
	if run.cfg.Notifications.RecordShells() {
		sctx, cancel := context.WithTimeout(ctx, timeout)
		st, err := capture.TraceShells(sctx, conn)
		cancel()
		if err != nil {
			a.log.Warn("Cannot record shell commands", "cluster", cluster, "node", node, "err", err)
		} else {
			defer a.forward(st.Events(ctx), cluster, func() {
				sctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				_ = st.Stop(sctx) // fails only if the node is gone, which ends the tracing too
			})()
		}
	}
	first := true
	tick := time.NewTicker(codeEvery)
	defer tick.Stop()
	var mnesiaWatched bool
	for polls := 0; ; polls++ {
		if !mnesiaWatched { // mnesia may start after the node does
			mctx, cancel := context.WithTimeout(ctx, timeout)
			w, err := capture.WatchMnesia(mctx, conn)
			cancel()
			switch {
			case err != nil:
				a.log.Debug("Cannot watch mnesia", "node", node, "err", err)
			case w != nil:
				mnesiaWatched = true
				defer a.forward(w.Events(ctx), cluster, func() {
					sctx, cancel := context.WithTimeout(context.Background(), timeout)
					defer cancel()
					_ = w.Stop(sctx)
				})()
			}
		}
		a.pollCode(ctx, conn, cluster, timeout, first)
		a.pollAlarms(ctx, conn, cluster, timeout)
		if polls%10 == 0 { // the release's files and the code path change rarely
			a.pollRelease(ctx, conn, cluster, timeout)
		}
		first = false
		select {
		case <-ctx.Done():
			return
		case <-conn.Done():
			return
		case <-tick.C:
		}
	}
}

// forward records a capture's notifications until its channel closes (ctx
// ended or the connection closed). The returned func waits for that, then
// runs stop: defer a.forward(...)().
func (a *App) forward(events <-chan journal.Notification, cluster string, stop func()) func() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := range events {
			n.Cluster = cluster
			a.record(n)
		}
	}()
	return func() {
		<-done
		stop()
	}
}

// pollCode compares the node's loaded modules with the last reading and
// records what changed. Changes found at the first poll of a connection
// happened while beamctl was not watching.
func (a *App) pollCode(ctx context.Context, conn *dist.Conn, cluster string, timeout time.Duration, first bool) {
	node := conn.Node()
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cur, err := capture.LoadedModules(pctx, conn)
	if err != nil {
		a.log.Debug("Cannot read the loaded modules", "node", node, "err", err)
		return
	}
	var prev capture.Modules
	found, err := a.notes.Store().LoadSnapshot(pctx, cluster, node, "modules", &prev)
	if err != nil {
		a.log.Error("Cannot read the last module reading", "node", node, "err", err)
		return
	}
	if err := a.notes.Store().SaveSnapshot(pctx, cluster, node, "modules", cur); err != nil {
		a.log.Error("Cannot save the module reading", "node", node, "err", err)
	}
	// After a restart of the node, modules loaded or not are no news (code
	// loads on demand); a different md5 is (a new release, or a patch).
	restarted := false
	if first { // saved before the baseline check, so the first connection has it too
		if r, err := conn.Call(pctx, "os", "getpid"); err == nil {
			pid, _ := etf.ToString(r)
			var prevPid string
			if _, err := a.notes.Store().LoadSnapshot(pctx, cluster, node, "os_pid", &prevPid); err == nil {
				restarted = prevPid != "" && prevPid != pid
			}
			if err := a.notes.Store().SaveSnapshot(pctx, cluster, node, "os_pid", pid); err != nil {
				a.log.Error("Cannot save the node's OS pid", "node", node, "err", err)
			}
		}
	}
	if !found {
		return // the baseline
	}
	now := time.Now()
	var ns []journal.Notification
	for _, ch := range capture.Diff(prev, cur) {
		if restarted && ch.Kind != "reloaded" {
			continue
		}
		n := journal.Notification{Time: now, Cluster: cluster, Node: node, Kind: "code_" + ch.Kind, Severity: journal.Info,
			Fields: map[string]string{"module": ch.Module}}
		switch ch.Kind {
		case "loaded":
			n.Text = fmt.Sprintf("Module %s loaded (md5 %s).", ch.Module, ch.NewMD5)
		case "reloaded":
			n.Severity = journal.Warning
			n.Text = fmt.Sprintf("Module %s changed: md5 %s, was %s.", ch.Module, ch.NewMD5, ch.OldMD5)
		case "purged":
			n.Text = fmt.Sprintf("Old code of module %s purged (current md5 %s).", ch.Module, ch.NewMD5)
		case "deleted":
			n.Text = fmt.Sprintf("Module %s deleted (md5 was %s).", ch.Module, ch.OldMD5)
		}
		if ch.OldMD5 != "" {
			n.Fields["old_md5"] = ch.OldMD5
		}
		if ch.NewMD5 != "" {
			n.Fields["new_md5"] = ch.NewMD5
		}
		if first {
			n.Text += " Changed while beamctl was not watching."
			n.Fields["observed"] = "changed while unobserved"
			if restarted {
				n.Text += " The node restarted since."
			}
		}
		ns = append(ns, n)
	}
	a.record(ns...)
}

// changes compares what a collection round tells about a node with what
// the previous one did: OTP or release changes, applications started and
// stopped (restarts come from the connection's creation). The caller
// holds mu.
func (a *App) changes(cluster, node string, info *nodeInfo, samples []collector.Sample) []journal.Notification {
	now := time.Now()
	var ns []journal.Notification
	note := func(kind string, severity journal.Severity, text string, fields map[string]string) {
		ns = append(ns, journal.Notification{Time: now, Cluster: cluster, Node: node, Kind: kind, Severity: severity, Text: text, Fields: fields})
	}
	var apps map[string]string
	for _, s := range samples {
		switch s.Name {
		case "erlang_vm_info":
			if r := label(s, "otp_release"); info.otpRelease != "" && r != info.otpRelease {
				note("version_changed", journal.Warning, fmt.Sprintf("Node %s now runs OTP %s, was %s.", node, r, info.otpRelease),
					map[string]string{"otp_release": r, "previous_otp_release": info.otpRelease})
			}
		case "erlang_vm_release_info":
			rel := label(s, "release") + " " + label(s, "version")
			if info.release != "" && rel != info.release {
				note("version_changed", journal.Warning, fmt.Sprintf("Node %s now runs release %s, was %s.", node, rel, info.release),
					map[string]string{"release": rel, "previous_release": info.release})
			}
			info.release = rel
		case "erlang_vm_application_info":
			if apps == nil {
				apps = map[string]string{}
			}
			if label(s, "state") == "running" {
				apps[label(s, "application")] = label(s, "version")
			}
		}
	}
	if apps == nil { // the applications collector did not run this round
		return ns
	}
	if info.apps != nil {
		var names []string
		for app := range apps {
			names = append(names, app)
		}
		for app := range info.apps {
			if _, ok := apps[app]; !ok {
				names = append(names, app)
			}
		}
		sort.Strings(names)
		for _, app := range names {
			old, was := info.apps[app]
			vsn, is := apps[app]
			switch {
			case is && !was:
				note("application_started", journal.Info, fmt.Sprintf("Application %s %s started on %s.", app, vsn, node),
					map[string]string{"application": app, "version": vsn})
			case was && !is:
				note("application_stopped", journal.Warning, fmt.Sprintf("Application %s %s stopped on %s.", app, old, node),
					map[string]string{"application": app, "version": old})
			case old != vsn:
				note("application_upgraded", journal.Info, fmt.Sprintf("Application %s on %s is now %s, was %s.", app, node, vsn, old),
					map[string]string{"application": app, "version": vsn, "previous_version": old})
			}
		}
	}
	info.apps = apps
	return ns
}

// pollAlarms compares the node's own alarms (alarm_handler:get_alarms/0,
// where SASL runs: os_mon's memory and disk alarms, the applications'
// alarms) with the last reading, and records those set and cleared.
func (a *App) pollAlarms(ctx context.Context, conn *dist.Conn, cluster string, timeout time.Duration) {
	node := conn.Node()
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r, err := conn.Call(pctx, "alarm_handler", "get_alarms")
	if err != nil {
		return // no SASL on the node: no alarm_handler
	}
	l, err := etf.ToList(r)
	if err != nil {
		return
	}
	local := termtext.Options{LocalNode: etf.Atom(node)}
	cur := map[string]string{} // alarm id -> description, as Erlang text
	for _, e := range l {
		t, err := etf.ToTuple(e, 2)
		if err != nil {
			continue
		}
		cur[termtext.FormatWith(t[0], local)] = termtext.FormatWith(t[1], local)
	}
	var prev map[string]string
	found, err := a.notes.Store().LoadSnapshot(pctx, cluster, node, "alarms", &prev)
	if err != nil {
		a.log.Error("Cannot read the last alarm reading", "node", node, "err", err)
		return
	}
	if err := a.notes.Store().SaveSnapshot(pctx, cluster, node, "alarms", cur); err != nil {
		a.log.Error("Cannot save the alarm reading", "node", node, "err", err)
	}
	if !found {
		prev = map[string]string{}
	}
	now := time.Now()
	var ns []journal.Notification
	for _, id := range sortedKeys(cur) {
		if _, ok := prev[id]; !ok {
			ns = append(ns, journal.Notification{Time: now, Cluster: cluster, Node: node, Kind: "node_alarm_set", Severity: journal.Warning,
				Text: fmt.Sprintf("Alarm %s set on %s: %s.", id, node, cur[id]), Fields: map[string]string{"alarm": id, "description": cur[id]}})
		}
	}
	for _, id := range sortedKeys(prev) {
		if _, ok := cur[id]; !ok {
			ns = append(ns, journal.Notification{Time: now, Cluster: cluster, Node: node, Kind: "node_alarm_cleared", Severity: journal.Info,
				Text: fmt.Sprintf("Alarm %s cleared on %s.", id, node), Fields: map[string]string{"alarm": id}})
		}
	}
	a.record(ns...)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fetchCrashDump fetches a crash dump the node left (streamed, for as long
// as it takes up to an hour) and records it with its slogan and top
// processes.
func (a *App) fetchCrashDump(ctx context.Context, conn *dist.Conn, cluster, path string) {
	node := conn.Node()
	fctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	dir := filepath.Join(a.opts.StoragePath, "crashdumps", safeName(cluster), safeName(node))
	d, err := capture.FetchCrashDump(fctx, conn, path, dir)
	if d == nil {
		if err != nil {
			a.log.Warn("Cannot fetch the crash dump", "cluster", cluster, "node", node, "err", err)
		}
		return
	}
	procs := func(ps []capture.DumpProcess, queue bool) string {
		var parts []string
		for _, p := range ps {
			v := fmt.Sprintf("%d words", p.Words)
			if queue {
				v = fmt.Sprintf("%d messages", p.Queue)
			}
			parts = append(parts, strings.TrimSpace(p.Pid+" "+p.Name)+": "+v)
		}
		return strings.Join(parts, "; ")
	}
	n := journal.Notification{Time: time.Now(), Cluster: cluster, Node: node, Kind: "crash_dump", Severity: journal.Critical,
		Text: fmt.Sprintf("Node %s crashed (%s): %s. Crash dump of %d bytes fetched to %s.", node, d.Written, d.Slogan, d.Size, d.Stored),
		Fields: map[string]string{"slogan": d.Slogan, "dump_time": d.Written, "stored": d.Stored, "size": fmt.Sprint(d.Size),
			"node_path": d.NodePath, "renamed_to": d.RenamedTo,
			"top_memory": procs(d.TopMemory, false), "top_message_queues": procs(d.TopQueue, true)}}
	if err != nil {
		n.Text += " " + err.Error() + "."
	}
	a.record(n)
}

// safeName makes a cluster or node name a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, s)
}

// pollRelease checks the files the running release depends on and the
// modules found twice in the code path, for the config_sanity and
// module_clash alarms.
func (a *App) pollRelease(ctx context.Context, conn *dist.Conn, cluster string, timeout time.Duration) {
	node := conn.Node()
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if problems, err := capture.CheckReleaseFiles(pctx, conn); err != nil {
		a.log.Debug("Cannot check the release's files", "node", node, "err", err)
	} else if err := a.notes.Store().SaveSnapshot(pctx, cluster, node, "release_problems", problems); err != nil {
		a.log.Error("Cannot save the release check", "node", node, "err", err)
	}
	if clashes, err := capture.ModuleClashes(pctx, conn); err != nil {
		a.log.Debug("Cannot list the code path", "node", node, "err", err)
	} else if err := a.notes.Store().SaveSnapshot(pctx, cluster, node, "module_clashes", clashes); err != nil {
		a.log.Error("Cannot save the code path check", "node", node, "err", err)
	}
}
