package auth

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// Sessions are browser sessions, in memory: a restart of the server logs
// everyone out. Each has an expiry and its own CSRF token.
type Sessions struct {
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	byID map[string]session
}

type session struct {
	id      Identity
	expires time.Time
}

// maxSessions bounds the sessions held; the oldest go first.
const maxSessions = 10000

// NewSessions returns an empty session store whose sessions last ttl.
func NewSessions(ttl time.Duration) *Sessions {
	return &Sessions{ttl: ttl, now: time.Now, byID: map[string]session{}}
}

// TTL is how long a session lasts.
func (s *Sessions) TTL() time.Duration { return s.ttl }

func randomString() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Create starts a session for id and returns it with its Session and CSRF
// set.
func (s *Sessions) Create(id Identity) (Identity, time.Time) {
	id.Method, id.Session, id.CSRF = "session", randomString(), randomString()
	now := s.now()
	exp := now.Add(s.ttl)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.byID {
		if !now.Before(v.expires) {
			delete(s.byID, k)
		}
	}
	if len(s.byID) >= maxSessions {
		oldest := ""
		for k, v := range s.byID {
			if oldest == "" || v.expires.Before(s.byID[oldest].expires) {
				oldest = k
			}
		}
		delete(s.byID, oldest)
	}
	s.byID[id.Session] = session{id: id, expires: exp}
	return id, exp
}

// Get returns the live session of a cookie's value.
func (s *Sessions) Get(sid string) (Identity, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.byID[sid]
	if !ok || !s.now().Before(v.expires) {
		delete(s.byID, sid)
		return Identity{}, false
	}
	return v.id, true
}

// Delete ends a session.
func (s *Sessions) Delete(sid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, sid)
}

// CheckCSRF reports whether token is the session's CSRF token.
func CheckCSRF(id Identity, token string) bool {
	return id.CSRF != "" && equal(id.CSRF, token)
}
