package testnode

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cmdlines returns the command lines (arguments joined by spaces) of this
// user's processes that mention name.
func cmdlines(t *testing.T, name string) []string {
	t.Helper()
	paths, err := filepath.Glob("/proc/[0-9]*/cmdline")
	require.NoError(t, err)
	var out []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil { // The process ended.
			continue
		}
		if line := strings.ReplaceAll(string(b), "\x00", " "); strings.Contains(line, name) {
			out = append(out, line)
		}
	}
	return out
}

// TestCookieNotOnCommandLine starts a node, a remote shell into it and an
// erl -eval client of it, checks that they use the cookie (the client and
// the shell reach the node), and reads /proc/<pid>/cmdline of every erl
// and beam.smp process involved: no cookie, which ps would show to every
// user of the machine. (Before: -setcookie on each.)
func TestCookieNotOnCommandLine(t *testing.T) {
	t.Parallel()
	n := Start(t, Options{})
	sh := RemoteShell(t, n, "cookieshell")
	sh.Type(t, "io:format(\"shell on ~s~n\", [node()]).\n")
	require.Eventually(t, func() bool { return strings.Contains(sh.Output(), "shell on "+n.Name) }, time.Minute, 10*time.Millisecond,
		"the remote shell reached the node with the cookie in its $HOME")

	seen := map[string][]string{
		n.Alive:   cmdlines(t, n.Alive),
		sh.Client: cmdlines(t, strings.Split(sh.Client, "@")[0]),
	}
	client := "cookieclient" + n.Alive
	out := EvalWithCookie(t, n.Cookie, `
		pong = net_adm:ping('`+n.Name+`'),
		Lines = [L || P <- filelib:wildcard("/proc/[0-9]*/cmdline"), {ok, B} <- [file:read_file(P)],
		              L <- [binary:replace(B, <<0>>, <<" ">>, [global])], binary:match(L, <<"`+client+`">>) =/= nomatch],
		io:format("~s", [lists:join("\n", Lines)])`, "-sname", client)
	seen[client] = strings.Split(out, "\n")
	for name, lines := range seen {
		require.NotEmpty(t, lines, "no process of %s found", name)
		require.Contains(t, strings.Join(lines, "\n"), "beam.smp", "%s: the VM itself was looked at", name)
		for _, l := range lines {
			require.NotContains(t, l, n.Cookie, "the cookie is on the command line of %s", name)
			require.NotContains(t, l, "-setcookie", name)
		}
	}
}
