package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/erlnode"
	"github.com/beamctl/beamctl/internal/inspect"
)

// resolveCookie finds the cookie the way erl does, plus flags and the
// environment: --cookie, --cookie-file, $ERLANG_COOKIE, ~/.erlang.cookie.
func resolveCookie(g *globals) (string, error) {
	if g.cookie != "" {
		return g.cookie, nil
	}
	if g.cookieFile != "" {
		return readCookieFile(g.cookieFile)
	}
	if c := osGetenv("ERLANG_COOKIE"); c != "" {
		return c, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", errors.New("no cookie: give --cookie or --cookie-file, or set $ERLANG_COOKIE")
	}
	p := filepath.Join(home, ".erlang.cookie")
	c, err := readCookieFile(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("no cookie: give --cookie or --cookie-file, set $ERLANG_COOKIE, or create %s", p)
		}
		return "", err
	}
	return c, nil
}

// cookieFileUsed is the file resolveCookie read the cookie from, if any.
func cookieFileUsed(g *globals) string {
	switch {
	case g.cookie != "":
		return ""
	case g.cookieFile != "":
		return g.cookieFile
	case osGetenv("ERLANG_COOKIE") != "":
		return ""
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".erlang.cookie")
}

func readCookieFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read cookie file: %w", err)
	}
	c := strings.TrimSpace(string(b))
	if c == "" {
		return "", fmt.Errorf("cookie file %s is empty", path)
	}
	return c, nil
}

// nodeName completes a bare name with the local short host name, as erl's
// tools do: `beamctl ping a` means a@<hostname -s>.
func nodeName(s string) (string, error) {
	if !strings.Contains(s, "@") {
		s += "@" + erlnode.ShortHost()
	}
	n, err := dist.ParseNodeName(s)
	if err != nil {
		return "", err
	}
	return n.String(), nil
}

// options builds the distribution options from the global flags. Calls run
// in processes spawned for them, killed when the command's deadline passes
// or it ends (dist.RPCSpawn). Without --sname or --name, beamctl's own name
// is one of the user's few beamctl_<user>_<N> on this host (see ownName).
func (e *env) options(ctx context.Context) (dist.Options, error) {
	cookie, err := resolveCookie(e.g)
	if err != nil {
		return dist.Options{}, err
	}
	if p := cookieFileUsed(e.g); p != "" {
		if w := config.CookieFileWarning(p); w != "" {
			e.logger.Warn("Cookie file is open to others", "file", p, "warning", w)
		}
	}
	o := dist.Options{Cookie: cookie, MaxMessageSize: e.g.maxMsg, Logger: e.logger, RPC: dist.RPCSpawn}
	switch {
	case e.g.sname != "" && e.g.name != "":
		return o, errors.New("give --sname or --name, not both")
	case e.g.sname != "":
		o.Name = e.g.sname
		if !strings.Contains(o.Name, "@") {
			o.Name += "@" + erlnode.ShortHost()
		}
	case e.g.name != "":
		o.Name = e.g.name
		if !strings.Contains(o.Name, "@") {
			return o, fmt.Errorf("--name %s needs a host part, e.g. %s@host.example.com", o.Name, o.Name)
		}
	}
	if o.Name != "" {
		if _, err := dist.ParseNodeName(o.Name); err != nil {
			return o, err
		}
	} else if o.Alive, err = e.ownName(ctx); err != nil {
		return o, err
	}
	if e.g.tlsCA != "" || e.g.tlsCert != "" || e.g.tlsInsec {
		cfg, err := dist.LoadTLS(dist.TLSFiles{
			CertFile: e.g.tlsCert, KeyFile: e.g.tlsKey, CAFile: e.g.tlsCA, InsecureSkipVerify: e.g.tlsInsec,
		})
		if err != nil {
			return o, err
		}
		o.TLS = cfg
	}
	return o, nil
}

// dial connects to one node.
func (e *env) dial(ctx context.Context, node string) (*dist.Conn, error) {
	name, err := nodeName(node)
	if err != nil {
		return nil, err
	}
	opts, err := e.options(ctx)
	if err != nil {
		return nil, err
	}
	return dist.Dial(ctx, name, opts)
}

// ownName returns the name this run holds, taking the first free one of
// dist.NameSlots on first use: every node keeps the name of every node that
// connected to it as an atom forever, so a fresh name per run would grow its
// atom table by one per beamctl command. The name is released when Run
// returns (or the process ends).
func (e *env) ownName(ctx context.Context) (string, error) {
	if e.name == nil {
		l, err := dist.LockName(ctx, "")
		if err != nil {
			return "", err
		}
		e.name = l
	}
	return e.name.Alive, nil
}

// release gives back what the run holds (its node name).
func (e *env) release() {
	_ = e.name.Release()
	e.name = nil
}

// inspectConn is conn as the inspection tools get it: with --no-agent, one
// on which beamctl_agent is never loaded (inspect.WithoutAgent).
func (e *env) inspectConn(conn *dist.Conn) inspect.Conn {
	if e.g.noAgent {
		return inspect.WithoutAgent(conn)
	}
	return conn
}
