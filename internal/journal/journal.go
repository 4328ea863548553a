// Package journal keeps notifications: every state change beamctl observes
// on a managed node (lifecycle, logs, code, applications), in an embedded
// SQLite database with full-text search, retention by age and size, and
// a live stream for subscribers. The Recorder in front of the store rate
// limits per node and kind and counts what it drops.
package journal

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/severity"
)

// Severity of a notification: info, warning, error or critical, from
// beamctl's one vocabulary of severities (internal/severity, shared with
// the alarms).
type Severity = severity.Level

// Severities of notifications, most severe first.
const (
	Critical = severity.Critical
	Error    = severity.Error
	Warning  = severity.Warning
	Info     = severity.Info
)

// Notification is one observed event on a managed node.
type Notification struct {
	ID       int64             `json:"id"`
	Time     time.Time         `json:"time"`
	Cluster  string            `json:"cluster"`
	Node     string            `json:"node"`
	Kind     string            `json:"kind"`
	Severity Severity          `json:"severity"`
	Text     string            `json:"text"`
	Fields   map[string]string `json:"fields,omitempty"`
}

// Filter selects notifications; zero fields select everything.
type Filter struct {
	Cluster, Node, Kind string
	Since, Until        time.Time
	// Grep is text to find in the text or the fields (full-text search:
	// every word must occur).
	Grep string
	// AfterID keeps notifications newer than this id (for following).
	AfterID int64
	// Limit is the most returned, newest first (default 1000).
	Limit int
}

// Match reports whether n passes the filter (Grep aside: words are looked
// for case-insensitively in the text and fields), for live streams.
func (f Filter) Match(n Notification) bool {
	if (f.Cluster != "" && n.Cluster != f.Cluster) || (f.Node != "" && n.Node != f.Node) || (f.Kind != "" && n.Kind != f.Kind) ||
		(!f.Since.IsZero() && n.Time.Before(f.Since)) || (!f.Until.IsZero() && n.Time.After(f.Until)) || n.ID <= f.AfterID {
		return false
	}
	if f.Grep == "" {
		return true
	}
	hay := strings.ToLower(n.Text + " " + fieldsText(n.Fields))
	for _, w := range strings.Fields(strings.ToLower(f.Grep)) {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

func fieldsText(f map[string]string) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s ", k, f[k])
	}
	return b.String()
}
