package app

import (
	"context"
	"fmt"

	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/export"
)

// exportSet is a set of export targets built, not running yet.
type exportSet struct {
	key     string // their configuration
	targets []*export.Target
}

// buildExports builds the export targets of cfg without starting them; it
// returns nil if they are the running ones (their queues are kept).
func (a *App) buildExports(cfg []config.Export) (*exportSet, error) {
	key := fmt.Sprintf("%+v", cfg)
	a.exportMu.Lock()
	same := a.exportsStop != nil && key == a.exportConfig
	a.exportMu.Unlock()
	if same {
		return nil, nil
	}
	s := &exportSet{key: key}
	for i, e := range cfg {
		t, err := export.New(export.Options{Format: e.Format, Protocol: e.Protocol, Address: e.Address, URL: e.URL, Headers: e.Headers,
			Facility: e.Facility, MinSeverity: e.MinSeverity, Hostname: e.Hostname})
		if err != nil {
			return nil, fmt.Errorf("exports[%d]: %w", i, err)
		}
		t.Name = fmt.Sprintf("exports[%d] %s", i, t.Name) // unique, as a metric label
		s.targets = append(s.targets, t)
	}
	return s, nil
}

// runExports replaces the running export targets with s (nil: they stay).
func (a *App) runExports(s *exportSet) {
	if s == nil {
		return
	}
	a.stopExports()
	ctx, cancel := context.WithCancel(a.rootCtx)
	a.exportMu.Lock()
	defer a.exportMu.Unlock()
	a.exports, a.exportsStop, a.exportConfig = s.targets, cancel, s.key
	for _, t := range s.targets {
		a.exportsDone.Add(1)
		go func() {
			defer a.exportsDone.Done()
			a.runExport(ctx, t, a.log.With("component", "export")) // notifications and audit records
		}()
	}
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
