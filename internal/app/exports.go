package app

import (
	"context"
	"fmt"

	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/export"
)

// startExports (re)starts the export targets if their configuration
// changed; targets whose configuration did not change keep their queues.
func (a *App) startExports(cfg []config.Export) error {
	key := fmt.Sprintf("%+v", cfg)
	a.exportMu.Lock()
	same := a.exportsStop != nil && key == a.exportConfig
	a.exportMu.Unlock()
	if same {
		return nil
	}
	var targets []*export.Target
	for i, e := range cfg {
		t, err := export.New(export.Options{Format: e.Format, Protocol: e.Protocol, Address: e.Address, URL: e.URL, Headers: e.Headers,
			Facility: e.Facility, MinSeverity: e.MinSeverity, Hostname: e.Hostname})
		if err != nil {
			return fmt.Errorf("exports[%d]: %w", i, err)
		}
		t.Name = fmt.Sprintf("exports[%d] %s", i, t.Name) // unique, as a metric label
		targets = append(targets, t)
	}
	a.stopExports()
	ctx, cancel := context.WithCancel(a.rootCtx)
	a.exportMu.Lock()
	defer a.exportMu.Unlock()
	a.exports, a.exportsStop, a.exportConfig = targets, cancel, key
	for _, t := range targets {
		a.exportsDone.Add(1)
		go func() {
			defer a.exportsDone.Done()
			t.Run(ctx, a.notes, a.log.With("component", "export"))
		}()
	}
	return nil
}

func (a *App) stopExports() {
	a.exportMu.Lock()
	stop := a.exportsStop
	a.exportsStop = nil
	a.exportMu.Unlock()
	if stop != nil {
		stop()
		a.exportsDone.Wait()
	}
}
