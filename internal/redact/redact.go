// Package redact keeps secrets out of what beamctl shows: URLs that are
// credentials (a Slack or webhook URL's path is its token) are shown as
// scheme and host only, and known secrets are replaced in error texts.
// It is a leaf: config, notify and export share it.
package redact

import (
	"cmp"
	"errors"
	"net/url"
	"slices"
	"strings"
)

// Redacted replaces a secret in texts.
const Redacted = "<secret>"

// notShown stands for a URL that has no host to show.
const notShown = "(not shown: it may hold a token)"

// URL is u as beamctl shows it anywhere (logs, errors, notifications,
// metrics, API): scheme and host only, https://hooks.slack.com. A text
// without a host is shown only when it cannot hold a token (localhost:9093).
func URL(u string) string {
	p, err := url.Parse(u)
	if err == nil && p.Scheme != "" && p.Host != "" {
		return p.Scheme + "://" + p.Host
	}
	if strings.ContainsAny(u, "/@?#%") {
		return notShown
	}
	return u
}

// URLSecrets are the parts of u that may be secret, to pass to String or
// Error: the whole URL, its path (escaped and not), query and user
// information.
func URLSecrets(u string) []string {
	out := []string{u}
	p, err := url.Parse(u)
	if err != nil {
		return out
	}
	if path := p.EscapedPath(); len(path) > 1 {
		out = append(out, path, p.Path)
	}
	out = append(out, p.RawQuery, p.Fragment)
	if p.User != nil {
		pw, _ := p.User.Password()
		out = append(out, p.User.String(), pw)
	}
	return out
}

// String replaces every non-empty secret in s by Redacted, the longest
// first (so that a URL goes whole rather than with its path cut out).
func String(s string, secrets ...string) string {
	sorted := slices.Clone(secrets)
	slices.SortFunc(sorted, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	for _, x := range sorted {
		if x != "" {
			s = strings.ReplaceAll(s, x, Redacted)
		}
	}
	return s
}

// Error returns err with every non-empty secret in its text replaced by
// Redacted; nil stays nil. The result does not unwrap (what it wraps
// would print the secret), but errors.Is still sees through it.
func Error(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	text := String(err.Error(), secrets...)
	if text == err.Error() {
		return err
	}
	return &redacted{text: text, err: err}
}

type redacted struct {
	text string
	err  error
}

func (r *redacted) Error() string { return r.text }

// Is lets errors.Is(err, context.DeadlineExceeded) and the like work.
func (r *redacted) Is(target error) bool { return errors.Is(r.err, target) }
