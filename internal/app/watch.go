package app

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/capture"
	"github.com/beamctl/beamctl/internal/collector"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
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
func (a *App) watch(ctx context.Context, run *clusterRun, node string, mnesiaUp <-chan struct{}) {
	defer run.wg.Done()
	cluster, capt := run.cfg.Name, run.cfg.Notifications
	if !sleepCtx(ctx, startOffset(cluster, node, run.set.Tick())) { // with the node's collection
		return
	}
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
		a.watchConn(ctx, run, conn, cluster, capt.LevelOf(node), time.Duration(capt.CodeInterval), mnesiaUp)
	}
}

// watchConn captures from one connection until it closes or ctx ends.
func (a *App) watchConn(ctx context.Context, run *clusterRun, conn *dist.Conn, cluster, level string, codeEvery time.Duration, mnesiaUp <-chan struct{}) {
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
	var slot *sysmonSlot
	if mode := run.cfg.Notifications.SystemMonitor; mode != "off" {
		o := capture.DefaultSysmon
		o.Record, o.Steal = mode == "record", run.cfg.Notifications.SystemMonitorSteal
		slot = &sysmonSlot{a: a, conn: conn, cluster: cluster, opts: o, timeout: timeout}
		slot.poll(ctx, conn)
		defer slot.release()
	}
	var shells *shellSub
	if run.cfg.Notifications.RecordShells() {
		shells = &shellSub{a: a, conn: conn, cluster: cluster, timeout: timeout}
		shells.poll(ctx, conn)
		defer shells.release()
	}
	// Who else connects to the node: from the node's own events.
	pctx, cancel := context.WithTimeout(ctx, timeout)
	pw, err := capture.WatchPeers(pctx, conn)
	cancel()
	if err != nil {
		a.log.Warn("Cannot watch the node's connections", "cluster", cluster, "node", node, "err", err)
	} else {
		defer a.forward(pw.Events(ctx), cluster, func() {
			sctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			_ = pw.Stop(sctx) // fails only if the node is gone, which ends the process too
		})()
	}
	first := true
	tick := time.NewTicker(codeEvery)
	defer tick.Stop()
	var stopMnesia func() // set once mnesia is watched
	defer func() {
		if stopMnesia != nil {
			stopMnesia()
		}
	}()
	watchMnesia := func() {
		if stopMnesia != nil {
			return
		}
		mctx, cancel := context.WithTimeout(ctx, timeout)
		w, err := capture.WatchMnesia(mctx, conn)
		cancel()
		switch {
		case err != nil:
			a.log.Debug("Cannot watch mnesia", "node", node, "err", err)
		case w != nil:
			stopMnesia = a.forward(w.Events(ctx), cluster, func() {
				sctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				_ = w.Stop(sctx)
			})
		}
	}
	var digest *codeDigest // nil: the agent may not be used
	if run.cfg.AgentEnabled() {
		digest = &codeDigest{}
	}
	// mnesia may start after the node does. Where the mnesia collector runs,
	// a round that finds it running says so (mnesiaUp) within a collection
	// interval; asking at every poll as well cost every node without mnesia
	// (most) a process spawned and an expression evaluated every
	// code_interval. Where it does not run, every poll asks.
	pollMnesia := !slices.Contains(run.set.Names(), "mnesia")
	alarmsOK := false // alarm_handler answered at the last poll (SASL runs)
	for polls := 0; ; polls++ {
		if polls == 0 || pollMnesia {
			watchMnesia()
		}
		checks := &checkBatch{conn: conn}
		if polls > 0 {
			if digest.answers() {
				checks.add(capture.LoadedDigestCheck)
			}
			if alarmsOK {
				checks.add(alarmsCheck)
			}
			if slot != nil && slot.sm != nil {
				checks.add(slot.sm.HoldsCheck())
			}
			if shells != nil && shells.st != nil {
				checks.add(shells.st.AliveCheck())
			}
			fctx, cancel := context.WithTimeout(ctx, timeout)
			checks.fetch(fctx)
			cancel()
		}
		if a.pollCode(ctx, conn, checks, cluster, timeout, first, digest) {
			first = false
		}
		alarmsOK = a.pollAlarms(ctx, checks, conn.Node(), cluster, timeout)
		if slot != nil && polls > 0 {
			slot.poll(ctx, checks) // taken back within one poll of being freed
		}
		if shells != nil && polls > 0 {
			shells.poll(ctx, checks) // subscribed again if the tracer went away
		}
		if polls%10 == 0 { // the release's files and the code path change rarely
			a.pollRelease(ctx, conn, cluster, timeout)
		}
	wait:
		for {
			select {
			case <-ctx.Done():
				return
			case <-conn.Done():
				return
			case <-mnesiaUp:
				watchMnesia()
			case <-tick.C:
				break wait
			}
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

// codeDigest lets a code poll skip reading a node's modules when they did
// not change: beamctl_agent answers with the md5 of what the poll reads
// (capture.LoadedDigest), 16 bytes instead of the module list out and
// back (the code polls were a fifth of the server's allocations at 1,000
// nodes). It belongs to one connection's watch.
type codeDigest struct {
	last  []byte // the digest of the last reading, when it was saved whole
	fails int    // digests failed in a row (the agent not loaded yet)
	skip  int    // polls to go before the next attempt
}

// read returns the node's digest, or nil when it cannot be had. After a
// failure (the collection loads the agent at its first round; a node may
// refuse it) it tries again at once, then every tenth poll: each call of
// an absent module makes the node search its code path for it.
func (d *codeDigest) read(ctx context.Context, conn capture.Caller) []byte {
	if d == nil {
		return nil
	}
	if d.skip > 0 {
		d.skip--
		return nil
	}
	b, err := capture.LoadedDigest(ctx, conn)
	if err != nil {
		d.last = nil
		if d.fails++; d.fails > 1 {
			d.skip = 9
		}
		return nil
	}
	d.fails = 0
	return b
}

// answers tells whether the digest answered at the last poll and that
// reading was saved whole: the next poll's digest call is worth fetching
// with the poll's other checks.
func (d *codeDigest) answers() bool {
	return d != nil && d.skip == 0 && d.fails == 0 && d.last != nil
}

// maxOriginChecks bounds how many module files one poll has the node
// read to tell where new code came from; the rest wait for the next poll.
const maxOriginChecks = 200

// pollCode compares the node's loaded modules with the last reading and
// records what changed. Changes found at the first poll of a connection
// happened while beamctl was not watching. For new code (a module loaded
// or changed), the node reads the file it came from: code autoloaded from
// the code path, the same as its file there, is routine and summed up in
// one notification; any other (a binary loaded by hand from elsewhere or
// with no file, code that differs from its file) is a warning. It reports
// whether the reading was compared and saved: until then, the next poll
// is still the connection's first. With d (the agent's digest), a poll
// whose digest equals that of the last reading saved whole (every new
// module checked, none left to sweep) reads nothing more.
func (a *App) pollCode(ctx context.Context, conn *dist.Conn, checks capture.Caller, cluster string, timeout time.Duration, first bool, d *codeDigest) bool {
	node := conn.Node()
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	digest := d.read(pctx, checks)
	if digest != nil && !first && bytes.Equal(digest, d.last) {
		return true
	}
	if d != nil {
		d.last = nil // set again below if this reading is saved whole
	}
	loaded, err := capture.LoadedModules(pctx, conn)
	if err != nil {
		a.log.Debug("Cannot read the loaded modules", "node", node, "err", err)
		return false
	}
	cur := loaded.Modules
	// After a restart of the node, modules loaded or not are no news (code
	// loads on demand); a different md5 is (a new release, or a patch).
	restarted, pid := false, ""
	if first {
		r, err := conn.Call(pctx, "os", "getpid")
		if err != nil {
			a.log.Debug("Cannot read the node's OS pid", "node", node, "err", err)
			return false
		}
		pid, _ = etf.ToString(r)
		var prevPid string
		if _, err := a.notes.Store().LoadSnapshot(pctx, cluster, node, "os_pid", &prevPid); err != nil {
			a.log.Error("Cannot read the node's OS pid", "node", node, "err", err)
			return false
		}
		restarted = prevPid != "" && prevPid != pid
	}
	var prev capture.Modules
	found, err := a.notes.Store().LoadSnapshot(pctx, cluster, node, "modules", &prev)
	if err != nil {
		a.log.Error("Cannot read the last module reading", "node", node, "err", err)
		return false
	}
	// The store's writes get their own time: the calls to the node may
	// have used up pctx's.
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	save := func(saved capture.Modules, unswept []string, saveUnswept bool) bool {
		if err := a.notes.Store().SaveSnapshot(sctx, cluster, node, "modules", saved); err != nil {
			a.log.Error("Cannot save the module reading", "node", node, "err", err)
			return false
		}
		if saveUnswept {
			if err := a.notes.Store().SaveSnapshot(sctx, cluster, node, "modules_unswept", unswept); err != nil {
				a.log.Error("Cannot save the modules left to sweep", "node", node, "err", err)
			}
		}
		if first { // also at the baseline, so that the first connection has it too
			if err := a.notes.Store().SaveSnapshot(sctx, cluster, node, "os_pid", pid); err != nil {
				a.log.Error("Cannot save the node's OS pid", "node", node, "err", err)
			}
		}
		return true
	}
	if !found { // the baseline: every module is left to sweep
		return save(cur, slices.Sorted(maps.Keys(cur)), true)
	}
	var changes []capture.Change
	var check []string // changed code first: rarer, and a warning whatever its origin
	for _, ch := range capture.Diff(prev, cur) {
		if restarted && ch.Kind != "reloaded" {
			continue
		}
		changes = append(changes, ch)
		if ch.Kind == "reloaded" {
			check = append(check, ch.Module)
		}
	}
	for _, ch := range changes {
		if ch.Kind == "loaded" {
			check = append(check, ch.Module)
		}
	}
	// Code loaded before beamctl looked (at its first reading of the node,
	// or since the node restarted) is swept too, after the new code, as
	// many modules a poll as the bound leaves.
	var unswept []string
	if restarted {
		unswept = slices.Sorted(maps.Keys(cur))
	} else if _, err := a.notes.Store().LoadSnapshot(pctx, cluster, node, "modules_unswept", &unswept); err != nil {
		a.log.Error("Cannot read the modules left to sweep", "node", node, "err", err)
	}
	isNew := map[string]bool{}
	for _, m := range check {
		isNew[m] = true
	}
	var sweep []string
	for _, m := range unswept {
		if _, ok := cur[m]; ok && !isNew[m] {
			sweep = append(sweep, m)
		}
	}
	var origins map[string]capture.Origin
	if len(check)+len(sweep) > 0 {
		cctx, cancel := context.WithTimeout(ctx, timeout) // its own: the reading may have used most of pctx's
		origins, err = capture.CheckOrigins(cctx, conn, loaded, append(slices.Clip(check), sweep...), maxOriginChecks)
		cancel()
		if err != nil {
			a.log.Debug("Cannot read where the new code came from", "node", node, "err", err)
		}
	}
	left := slices.DeleteFunc(slices.Clone(sweep), func(m string) bool { _, ok := origins[m]; return ok })
	saved := toSave(prev, cur, check, origins)
	if !save(saved, left, restarted || len(left) != len(unswept)) {
		return false // not recorded: the next poll finds the same changes
	}
	if d != nil && len(left) == 0 && len(saved) == len(cur) {
		d.last = digest // nothing left for the next poll unless the code changes
	}
	if len(origins) > 0 {
		a.mu.Lock()
		info := a.info(cluster, node)
		if info.codeLoads == nil {
			info.codeLoads = map[string]float64{}
		}
		for _, ch := range changes {
			if o, ok := origins[ch.Module]; ok {
				info.codeLoads[originOf(ch.Module, o, ch.NewMD5)]++
			}
		}
		a.mu.Unlock()
	}
	now := time.Now()
	a.record(codeNotifications(now, cluster, node, changes, origins, first, restarted)...)
	a.record(sweepNotifications(now, cluster, node, sweep, cur, origins)...)
	return true
}

// sweepNotifications reports the code loaded before beamctl looked that
// did not come from where code is expected to come from: one warning per
// module (routine code is no news). Modules without an origin were not
// checked.
func sweepNotifications(now time.Time, cluster, node string, sweep []string, cur capture.Modules, origins map[string]capture.Origin) []journal.Notification {
	var ns []journal.Notification
	for _, m := range sweep {
		o, ok := origins[m]
		md5, _ := strings.CutSuffix(cur[m], "+old")
		if !ok || o.Routine(md5) || isAgent(m, o) {
			continue
		}
		fm := o.FileMD5
		if fm == "" {
			fm = "no file"
		}
		ns = append(ns, journal.Notification{Time: now, Cluster: cluster, Node: node, Kind: "code_loaded", Severity: journal.Warning,
			Text: fmt.Sprintf("Module %s runs code loaded %s (md5 %s, %s), before beamctl looked.", m, whereFrom(o, md5), md5, fileMD5(o)),
			Fields: map[string]string{"module": m, "origin": originOf(m, o, md5), "file": o.Name, "file_md5": fm, "new_md5": md5,
				"observed": "loaded before beamctl looked"}})
	}
	return ns
}

// toSave is the reading to save: cur, except that modules loaded but not
// checked yet (in check, not in origins, not in prev) are left out, so
// that the next poll finds them new again and checks them. A changed
// module is reported at once, checked or not.
func toSave(prev, cur capture.Modules, check []string, origins map[string]capture.Origin) capture.Modules {
	saved := maps.Clone(cur)
	for _, m := range check {
		_, checked := origins[m]
		if _, known := prev[m]; !checked && !known {
			delete(saved, m)
		}
	}
	return saved
}

// codeNotifications turns a poll's module changes into notifications.
// A module loaded without an origin was not checked yet and is left for
// the next poll; a changed one is reported all the same. Modules loaded from the code path as their
// file there are routine: one summary, info. Any other new code is a
// warning naming where it came from and both md5s.
func codeNotifications(now time.Time, cluster, node string, changes []capture.Change, origins map[string]capture.Origin, first, restarted bool) []journal.Notification {
	var ns []journal.Notification
	var routine []string
	for _, ch := range changes {
		n := journal.Notification{Time: now, Cluster: cluster, Node: node, Kind: "code_" + ch.Kind, Severity: journal.Info,
			Fields: map[string]string{"module": ch.Module}}
		o, checked := origins[ch.Module]
		switch ch.Kind {
		case "loaded":
			if !checked {
				continue
			}
			if o.Routine(ch.NewMD5) {
				routine = append(routine, ch.Module)
				continue
			}
			if isAgent(ch.Module, o) {
				n.Text = fmt.Sprintf("Module %s loaded: beamctl's agent, for its collectors and inspection commands (md5 %s).", ch.Module, ch.NewMD5)
				break
			}
			n.Severity = journal.Warning
			n.Text = fmt.Sprintf("Module %s loaded %s (md5 %s, %s).", ch.Module, whereFrom(o, ch.NewMD5), ch.NewMD5, fileMD5(o))
		case "reloaded":
			n.Severity = journal.Warning
			switch {
			case !checked: // the node did not say (busy): no news of where it came from
				n.Text = fmt.Sprintf("Module %s changed: md5 %s, was %s.", ch.Module, ch.NewMD5, ch.OldMD5)
			case isAgent(ch.Module, o):
				n.Severity = journal.Info
				n.Text = fmt.Sprintf("Module %s changed: md5 %s, was %s; beamctl's agent, reloaded by beamctl.", ch.Module, ch.NewMD5, ch.OldMD5)
			default:
				n.Text = fmt.Sprintf("Module %s changed: md5 %s, was %s; loaded %s (%s).", ch.Module, ch.NewMD5, ch.OldMD5, whereFrom(o, ch.NewMD5), fileMD5(o))
			}
		case "purged":
			n.Text = fmt.Sprintf("Old code of module %s purged (current md5 %s).", ch.Module, ch.NewMD5)
		case "deleted":
			n.Text = fmt.Sprintf("Module %s deleted (md5 was %s).", ch.Module, ch.OldMD5)
		}
		if checked {
			n.Fields["origin"] = originOf(ch.Module, o, ch.NewMD5)
			n.Fields["file"] = o.Name
			n.Fields["file_md5"] = o.FileMD5
			if o.FileMD5 == "" {
				n.Fields["file_md5"] = "no file"
			}
		}
		if ch.OldMD5 != "" {
			n.Fields["old_md5"] = ch.OldMD5
		}
		if ch.NewMD5 != "" {
			n.Fields["new_md5"] = ch.NewMD5
		}
		ns = append(ns, n)
	}
	if len(routine) > 0 {
		const shown = 5
		list := strings.Join(routine, ", ")
		if len(routine) > shown {
			list = fmt.Sprintf("%s, … (and %d more)", strings.Join(routine[:shown], ", "), len(routine)-shown)
		}
		noun := "modules"
		if len(routine) == 1 {
			noun = "module"
		}
		ns = append(ns, journal.Notification{Time: now, Cluster: cluster, Node: node, Kind: "code_loaded", Severity: journal.Info,
			Text:   fmt.Sprintf("%d %s loaded from the code path: %s.", len(routine), noun, list),
			Fields: map[string]string{"modules": fmt.Sprint(len(routine)), "origin": "code_path", "list": strings.Join(routine, " ")}})
	}
	if first {
		for i := range ns {
			ns[i].Text += " Changed while beamctl was not watching."
			ns[i].Fields["observed"] = "changed while unobserved"
			if restarted {
				ns[i].Text += " The node restarted since."
			}
		}
	}
	return ns
}

// isAgent reports whether module m is beamctl's own agent, which beamctl
// loads with code:load_binary/3 under the file name beamctl_agent.erl
// (internal/inspect): hand-loaded, but no news.
func isAgent(m string, o capture.Origin) bool {
	return m == inspect.AgentModule && o.IsFile && o.Name == inspect.AgentModule+".erl"
}

// whereFrom says where new code with md5 came from, after "loaded".
func whereFrom(o capture.Origin, md5 string) string {
	switch {
	case o.Unknown:
		return "behind the code server's back (erlang:load_module/2: code:all_loaded/0 does not list it), not from a file"
	case !o.IsFile:
		return fmt.Sprintf("as %s, not from a file", o.Name)
	case o.Name == "":
		return "from a binary with no file name"
	case !o.InCodePath:
		return fmt.Sprintf("from %s, outside the code path", o.Name)
	case o.FileMD5 == "":
		return fmt.Sprintf("from %s, in the code path, but no .beam file of the module is there", o.Name)
	case o.FileMD5 != md5:
		return fmt.Sprintf("from %s, in the code path, but that file holds other code", o.Name)
	default:
		return fmt.Sprintf("from %s, in the code path", o.Name)
	}
}

// fileMD5 gives the md5 of the file new code came from, for the text.
func fileMD5(o capture.Origin) string {
	if o.FileMD5 == "" {
		return "no file"
	}
	return "file md5 " + o.FileMD5
}

// originOf classifies where new code of module m with md5 came from, for
// the origin field.
func originOf(m string, o capture.Origin, md5 string) string {
	switch {
	case isAgent(m, o):
		return "beamctl_agent"
	case o.Unknown:
		return "unknown_to_code_server"
	case !o.IsFile:
		return "not_a_file"
	case o.Name == "":
		return "no_file"
	case !o.InCodePath:
		return "outside_code_path"
	case o.FileMD5 == "":
		return "no_file"
	case o.FileMD5 != md5:
		return "differs_from_file"
	default:
		return "code_path"
	}
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
func (a *App) pollAlarms(ctx context.Context, conn capture.Caller, node, cluster string, timeout time.Duration) bool {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r, err := conn.Call(pctx, alarmsCheck.Module, alarmsCheck.Function)
	if err != nil {
		return false // no SASL on the node: no alarm_handler
	}
	l, err := etf.ToList(r)
	if err != nil {
		return true
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
		return true
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
	return true
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

// mnesiaRunning is a series the mnesia collector stores only where mnesia
// runs: when a round has it, the node's watch subscribes to mnesia's
// system events at once instead of at its next code poll.
const mnesiaRunning = "erlang_mnesia_held_locks"
