package app

import (
	"context"

	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/web"
)

// webModel is the App as the HTTP API sees it (web.Model): the
// connections, notifications and alarms behind web's narrow interfaces.
type webModel struct{ *App }

// Conn returns the live connection to a managed node.
func (m webModel) Conn(ctx context.Context, node string) (inspect.Conn, error) {
	c, err := m.App.Conn(ctx, node)
	if err != nil {
		return nil, err // not a nil *dist.Conn in a non-nil interface
	}
	return c, nil
}

// Notifications holds the notifications.
func (m webModel) Notifications() web.Notifications { return webNotifications{m.Recorder()} }

// Alarms is the alarm engine.
func (m webModel) Alarms() web.Alarms { return m.App.Alarms() }

// webNotifications reads the recorder's store and subscribes to it.
type webNotifications struct{ *journal.Recorder }

func (n webNotifications) Query(ctx context.Context, f journal.Filter) ([]journal.Notification, error) {
	return n.Store().Query(ctx, f)
}
