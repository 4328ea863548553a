package auth

import (
	"sync"
	"time"
)

// Limiter counts failed logins per key (a remote address, a user name) in
// a sliding window: after Max failures within Window, the key is refused
// until the oldest of them leaves the window.
type Limiter struct {
	Max    int
	Window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	fails map[string][]time.Time
}

// maxLimiterKeys bounds the keys tracked (a flood of user names).
const maxLimiterKeys = 100000

// NewLimiter allows max failures per window for each key.
func NewLimiter(max int, window time.Duration) *Limiter {
	return &Limiter{Max: max, Window: window, now: time.Now, fails: map[string][]time.Time{}}
}

func (l *Limiter) recent(key string, now time.Time) []time.Time {
	fs := l.fails[key]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= l.Window {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.fails, key)
	} else {
		l.fails[key] = fs
	}
	return fs
}

// Blocked returns how long key must wait before its next attempt (0: it
// may try now).
func (l *Limiter) Blocked(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	fs := l.recent(key, now)
	if len(fs) < l.Max {
		return 0
	}
	return fs[len(fs)-l.Max].Add(l.Window).Sub(now)
}

// Fail records a failed attempt of key.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	fs := l.recent(key, now)
	if len(fs) == 0 && len(l.fails) >= maxLimiterKeys {
		for k := range l.fails {
			if len(l.recent(k, now)) == 0 {
				continue
			}
			delete(l.fails, k)
			break
		}
	}
	if len(fs) >= l.Max {
		fs = fs[len(fs)-l.Max+1:]
	}
	l.fails[key] = append(fs, now)
}
