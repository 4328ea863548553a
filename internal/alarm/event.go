package alarm

import (
	"context"
	"fmt"
	"time"

	"github.com/beamctl/beamctl/internal/journal"
)

// Notifications are what an event rule counts; *journal.Store is one.
type Notifications interface {
	Query(ctx context.Context, f journal.Filter) ([]journal.Notification, error)
}

// EventRule raises an alarm when at least Count notifications of Kind
// (and with every word of Grep) arrived within Window from one node, one
// cluster, or one value of a field (GroupBy: node, cluster or a field name
// such as mfa): "more than 5 crash reports from one supervisor in a
// minute".
type EventRule struct {
	RuleName   string
	Kind, Grep string
	Count      int
	Window     time.Duration
	GroupBy    string
	Severity   Severity
	// Levels, if set, decide the severity from the count instead.
	Levels      *Thresholds
	ForDur      time.Duration
	Description string // a prefix; the count, window and group are added
	N           Notifications
}

func (r *EventRule) Name() string       { return r.RuleName }
func (r *EventRule) For() time.Duration { return r.ForDur }

// Evaluate counts the notifications of the window.
func (r *EventRule) Evaluate(ctx context.Context, now time.Time, active map[Key]Severity) ([]Observation, error) {
	ns, err := r.N.Query(ctx, journal.Filter{Kind: r.Kind, Grep: r.Grep, Since: now.Add(-r.Window), Until: now, Limit: 100000})
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.RuleName, err)
	}
	counts := map[Key]int{}
	for _, n := range ns {
		k := Key{Rule: r.RuleName, Cluster: n.Cluster}
		switch r.GroupBy {
		case "", "node":
			k.Node = n.Node
		case "cluster":
		default:
			k.Node, k.Subject = n.Node, n.Fields[r.GroupBy]
		}
		counts[k]++
	}
	var out []Observation
	for k, c := range counts {
		sev := r.Severity
		if r.Levels != nil {
			if sev = r.Levels.Level(float64(c), active[k]); sev == None {
				continue
			}
		} else if c < r.Count {
			continue
		}
		what := k.Node
		if k.Subject != "" {
			what += " " + r.GroupBy + "=" + k.Subject
		}
		if what == "" {
			what = "cluster " + k.Cluster
		}
		desc := r.Description
		if desc == "" {
			desc = r.RuleName
		}
		out = append(out, Observation{Key: k, Severity: sev, Value: float64(c),
			Description: fmt.Sprintf("%s: %d %s notifications in %s from %s.", desc, c, r.Kind, r.Window, what),
			Evidence:    []string{fmt.Sprintf("notifications?kind=%s&since=%s", r.Kind, r.Window)}})
	}
	return out, nil
}
