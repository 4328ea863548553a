package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"
	"golang.org/x/crypto/bcrypt"
)

// LoadWebConfig reads a web configuration file in the exporter-toolkit
// format (tls_server_config, http_server_config, basic_auth_users) with
// the toolkit's defaults and checks, and checks that every user's hash is
// a bcrypt hash. Relative TLS paths are relative to the file.
func LoadWebConfig(path string) (*web.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("web config: %w", err)
	}
	c := &web.Config{
		TLSConfig:  web.TLSConfig{MinVersion: web.TLSVersion(tls.VersionTLS12), MaxVersion: web.TLSVersion(tls.VersionTLS13)},
		HTTPConfig: web.HTTPConfig{HTTP2: true},
	}
	if err := yaml.UnmarshalStrict(b, c); err != nil {
		return nil, fmt.Errorf("web config %s: %w", path, err)
	}
	c.TLSConfig.SetDirectory(filepath.Dir(path))
	for u, h := range c.Users {
		if _, err := bcrypt.Cost([]byte(h)); err != nil {
			return nil, fmt.Errorf("web config %s: basic_auth_users.%s is not a bcrypt hash", path, u)
		}
	}
	// The toolkit's own checks (headers, TLS files and settings).
	if err := web.Validate(path); err != nil {
		return nil, fmt.Errorf("web config %s: %w", path, err)
	}
	return c, nil
}

// dummyHash is a bcrypt hash (cost 10) that no password given to an
// unknown user matches: comparing against it costs what a known user's
// check costs, so timing does not tell which users exist.
var dummyHash = []byte("$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi")

// maxCache bounds the cache of checked credentials.
const maxCache = 256

// Users checks user names and passwords against the basic_auth_users of a
// web configuration file, which it reads again when the file changes
// (an invalid new file keeps the users it had). Roles come from beamctl's
// own configuration (web.roles); a user not listed there is a viewer.
type Users struct {
	path  string
	roles func() map[string]Role

	mu      sync.Mutex
	hashes  map[string]string
	modTime time.Time
	checked time.Time
	// cache maps sha256(user, hash, password) to the outcome, so that
	// bcrypt's cost is paid once per credential and the password is not
	// kept in memory.
	cache map[[32]byte]bool
	// bcryptMu serialises bcrypt: a flood of bad logins costs one core.
	bcryptMu sync.Mutex
}

// NewUsers reads the users of the web configuration file path; roles
// returns the current web.roles.
func NewUsers(path string, roles func() map[string]Role) (*Users, error) {
	u := &Users{path: path, roles: roles, cache: map[[32]byte]bool{}}
	c, err := LoadWebConfig(path)
	if err != nil {
		return nil, err
	}
	u.set(c)
	return u, nil
}

func (u *Users) set(c *web.Config) {
	u.hashes = make(map[string]string, len(c.Users))
	for n, h := range c.Users {
		u.hashes[n] = string(h)
	}
	if fi, err := os.Stat(u.path); err == nil {
		u.modTime = fi.ModTime()
	}
	clear(u.cache)
}

// Names returns the users' names.
func (u *Users) Names() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]string, 0, len(u.hashes))
	for n := range u.hashes {
		out = append(out, n)
	}
	return out
}

// refresh reads the file again, at most once a second, when it changed.
func (u *Users) refresh() {
	now := time.Now()
	if now.Sub(u.checked) < time.Second {
		return
	}
	u.checked = now
	fi, err := os.Stat(u.path)
	if err != nil || fi.ModTime().Equal(u.modTime) {
		return
	}
	if c, err := LoadWebConfig(u.path); err == nil {
		u.set(c)
	}
}

// Role returns a user's current role; false when the user is no longer
// in the web configuration (a session of theirs then ends).
func (u *Users) Role(user string) (Role, bool) {
	u.mu.Lock()
	u.refresh()
	_, known := u.hashes[user]
	u.mu.Unlock()
	if !known {
		return 0, false
	}
	if r, ok := u.roles()[user]; ok {
		return r, true
	}
	return Viewer, true
}

// ErrBadCredentials is a wrong user name or password.
var ErrBadCredentials = errors.New("wrong user name or password")

// Check returns the identity of user if password is theirs. It takes
// bcrypt's time for unknown users too.
func (u *Users) Check(user, password string) (Identity, error) {
	u.mu.Lock()
	u.refresh()
	hash, known := u.hashes[user]
	u.mu.Unlock()
	h := []byte(hash)
	if !known {
		h = dummyHash
	}
	sum := sha256.New()
	for _, s := range []string{user, string(h), password} {
		fmt.Fprintf(sum, "%d:%s", len(s), s)
	}
	var key [32]byte
	copy(key[:], sum.Sum(nil))
	u.mu.Lock()
	ok, cached := u.cache[key]
	u.mu.Unlock()
	if !cached {
		u.bcryptMu.Lock()
		err := bcrypt.CompareHashAndPassword(h, []byte(password))
		u.bcryptMu.Unlock()
		ok = err == nil && known
		u.mu.Lock()
		if len(u.cache) >= maxCache {
			for k := range u.cache { // evict one at random
				delete(u.cache, k)
				break
			}
		}
		u.cache[key] = ok
		u.mu.Unlock()
	}
	if !ok || !known {
		return Identity{}, ErrBadCredentials
	}
	role, ok := u.Role(user)
	if !ok {
		return Identity{}, ErrBadCredentials
	}
	return Identity{Name: user, Role: role, Method: "basic"}, nil
}

// equal compares secrets in constant time.
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
