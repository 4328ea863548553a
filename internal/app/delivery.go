package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/notify"
	"github.com/beamctl/beamctl/internal/notify/receiver"
)

// delivery is one running alarm destination: an Alertmanager or a direct
// notifier.
type delivery struct {
	key         string // its configuration: unchanged on reload, it keeps running
	loop        *notify.Loop
	unsubscribe func()
	cancel      context.CancelFunc
	done        chan struct{}
}

// startDeliveries makes the running alarm destinations those of cfg: the
// ones whose configuration did not change keep running (with their queue
// and retries), removed ones stop, new ones start. A new destination is
// subscribed to the alarm changes before this returns.
func (a *App) startDeliveries(cfg config.Alarms) {
	dests, err := receiver.Build(cfg, a.linkBase())
	if err != nil { // config.Parse checked them; the others still run
		a.log.Error("Cannot build alarm destinations", "err", err)
	}
	a.deliveryMu.Lock()
	running := map[string]*delivery{}
	for _, d := range a.deliveries {
		running[d.key] = d
	}
	var next []*delivery
	for _, dest := range dests {
		if r, ok := running[dest.Key]; ok {
			delete(running, dest.Key)
			next = append(next, r)
			continue
		}
		o := dest.Options
		o.Logger = a.log.With("component", "alarm-delivery")
		o.OnFailure = func(err error, _ bool) { // err names the destination by index, and says whether it retries
			a.record(journal.Notification{Time: time.Now(), Kind: "alarm_delivery_failed", Severity: journal.Error,
				Text: fmt.Sprintf("Alarm destination %v.", err)})
		}
		if o.Resend > 0 {
			o.Active = func() []notify.Alert {
				var out []notify.Alert
				for _, x := range a.alarms.Active() {
					out = append(out, notify.Alert{Alarm: alertAlarm(x)})
				}
				return out
			}
		}
		loop, err := notify.New(o)
		if err != nil {
			a.log.Error("Cannot start an alarm destination", "destination", o.Name, "err", err)
			continue
		}
		ctx, cancel := context.WithCancel(a.rootCtx)
		d := &delivery{key: dest.Key, loop: loop, cancel: cancel, done: make(chan struct{})}
		d.unsubscribe = a.alarms.OnChange(func(c alarm.Change) { loop.Add(alertOf(c)) })
		go func() {
			defer close(d.done)
			loop.Run(ctx)
		}()
		next = append(next, d)
	}
	a.deliveries = next
	a.deliveryMu.Unlock()
	for _, d := range running { // no longer configured
		d.stop()
	}
}

func (d *delivery) stop() {
	d.unsubscribe()
	d.cancel()
	<-d.done
}

// stopDeliveries waits for the destinations to end (the root context is
// cancelled).
func (a *App) stopDeliveries() {
	a.deliveryMu.Lock()
	ds := a.deliveries
	a.deliveries = nil
	a.deliveryMu.Unlock()
	for _, d := range ds {
		d.stop()
	}
}

// deliveryLoops are the running destinations' loops, for their metrics.
func (a *App) deliveryLoops() []*notify.Loop {
	a.deliveryMu.Lock()
	defer a.deliveryMu.Unlock()
	loops := make([]*notify.Loop, 0, len(a.deliveries))
	for _, d := range a.deliveries {
		loops = append(loops, d.loop)
	}
	return loops
}

// alertOf is what notifiers are told about an alarm change.
func alertOf(c alarm.Change) notify.Alert {
	return notify.Alert{Alarm: alertAlarm(c.Alarm),
		Event: notify.Event{Time: c.Event.Time, Kind: c.Event.Kind.String(), Who: c.Event.Who, Text: c.Event.Text}}
}

func alertAlarm(x alarm.Alarm) notify.Alarm {
	return notify.Alarm{ID: x.ID, Rule: x.Rule, Cluster: x.Cluster, Node: x.Node, Subject: x.Subject,
		Severity: x.Severity,
		Active:   x.Active, RaisedAt: x.RaisedAt, ClearedAt: x.ClearedAt, Value: x.Value, Description: x.Description,
		Evidence: x.Evidence, Labels: x.Labels, Annotations: x.Annotations, Flapping: x.Flapping, AckedBy: x.AckedBy, AckedAt: x.AckedAt}
}

// linkBase is the URL alert links point at: --web.external-url when given,
// else the listening address (https under TLS).
func (a *App) linkBase() string {
	if a.opts.ExternalURL != "" {
		return strings.TrimSuffix(a.opts.ExternalURL, "/")
	}
	if a.tls {
		return "https://" + a.ln.Addr().String()
	}
	return "http://" + a.ln.Addr().String()
}
