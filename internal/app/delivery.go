package app

import (
	"context"
	"fmt"
	"time"

	"github.com/beamctl/beamctl/internal/alarm"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/journal"
)

// delivery is one running alarm destination: the Alertmanagers, or one
// direct notifier.
type delivery struct {
	key    string // its configuration: unchanged on reload, it keeps running
	am     *alarm.Alertmanager
	hook   *alarm.Webhook
	cancel context.CancelFunc
	done   chan struct{}
}

// startDeliveries makes the running alarm destinations those of cfg: the
// ones whose configuration did not change keep running (with their queue
// and retries), removed ones stop, new ones start.
func (a *App) startDeliveries(cfg config.Alarms) {
	var want []*delivery
	if len(cfg.Alertmanager) > 0 {
		am := &alarm.Alertmanager{URLs: cfg.Alertmanager, Resend: time.Duration(cfg.ResendInterval),
			ExternalURL: "http://" + a.ln.Addr().String(), Logger: a.log.With("component", "alertmanager")}
		want = append(want, &delivery{key: fmt.Sprintf("alertmanager %v %v", cfg.Alertmanager, cfg.ResendInterval), am: am})
	}
	for _, n := range cfg.Notifiers {
		hook := &alarm.Webhook{Format: n.Format, URL: n.URL, RoutingKey: n.RoutingKey,
			SMTP: n.SMTP, From: n.From, To: n.To, Username: n.Username, Password: n.Password,
			Logger: a.log.With("component", "alarm-notifier"), OnFailure: func(err error) {
				a.record(journal.Notification{Time: time.Now(), Kind: "alarm_delivery_failed", Severity: journal.Error,
					Text: fmt.Sprintf("An alarm notifier failed (retrying): %v.", err)})
			}}
		want = append(want, &delivery{key: fmt.Sprintf("notifier %+v", n), hook: hook})
	}
	a.deliveryMu.Lock()
	running := map[string]*delivery{}
	for _, d := range a.deliveries {
		running[d.key] = d
	}
	var next []*delivery
	for _, d := range want {
		if r, ok := running[d.key]; ok {
			delete(running, d.key)
			next = append(next, r)
			continue
		}
		ctx, cancel := context.WithCancel(a.rootCtx)
		d.cancel, d.done = cancel, make(chan struct{})
		go func() {
			defer close(d.done)
			if d.am != nil {
				d.am.Run(ctx, a.alarms)
			} else {
				d.hook.Run(ctx, a.alarms)
			}
		}()
		next = append(next, d)
	}
	a.deliveries = next
	a.deliveryMu.Unlock()
	for _, d := range running { // no longer configured
		d.cancel()
		<-d.done
	}
}

// stopDeliveries waits for the destinations to end (the root context is
// cancelled).
func (a *App) stopDeliveries() {
	a.deliveryMu.Lock()
	ds := a.deliveries
	a.deliveries = nil
	a.deliveryMu.Unlock()
	for _, d := range ds {
		d.cancel()
		<-d.done
	}
}
