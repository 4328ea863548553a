// Package uitest drives the web UI in a real browser (Debian's chromium,
// through chromedp) against a real `beamctl serve` watching real OTP
// nodes, for the browser tests of internal/uitest. A test fails (never
// skips) when chromium, Erlang or the UI's npm packages are missing; the
// README's test command installs them.
//
// Screenshots: every test saves its pages as PNG in $BEAMCTL_SCREENSHOTS
// (make screenshots sets it to docs/ui), else in the system's temporary
// directory under beamctl-ui/.
package uitest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/beamctl/beamctl/internal/app"
	"github.com/beamctl/beamctl/internal/config"
	"github.com/beamctl/beamctl/internal/testnode"
)

// Password is every test user's password.
const Password = "correct horse battery staple"

// Users are the test users and their roles.
var Users = map[string]string{"alice": "admin", "oscar": "operator", "victor": "viewer"}

// Server is a running beamctl serve with its nodes.
type Server struct {
	App   *app.App
	Base  string // http://127.0.0.1:PORT
	Nodes []*testnode.Node
}

// ServerOptions configure StartServer.
type ServerOptions struct {
	// Nodes is how many OTP nodes to start (default 1); NodeOptions apply
	// to each (its Cookie is set by StartServer).
	Nodes       int
	NodeOptions testnode.Options
	// Config is added to the configuration's top level (YAML), e.g. a
	// rules: block; Global is added to global: (e.g. "collect_interval: 1s").
	Config string
	Global string
	// Family, when set, puts the nodes in this family.
	Family string
	// Web is added to the web: block (e.g. "grafana_url: http://g:3000").
	Web string
	// Clusters are more entries of the clusters: list (YAML indented as
	// "  - name: ..."), e.g. a product's nodes with their own cookie.
	Clusters string
}

var hashOnce sync.Once
var hash []byte

// StartServer starts opts.Nodes OTP nodes and a beamctl serve watching
// them on a loopback port, with the test users (login required).
func StartServer(t testing.TB, opts ServerOptions) *Server {
	t.Helper()
	if opts.Nodes == 0 {
		opts.Nodes = 1
	}
	cookie := opts.NodeOptions.Cookie
	if cookie == "" {
		cookie = "uitest" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", ""))
	}
	s := &Server{}
	var names []string
	for i := 0; i < opts.Nodes; i++ {
		o := opts.NodeOptions
		o.Cookie = cookie
		n := testnode.Start(t, o)
		s.Nodes = append(s.Nodes, n)
		names = append(names, n.Name)
	}
	global := "collect_interval: 1s\n  discover_interval: 1s"
	if opts.Global != "" {
		global += "\n  " + strings.ReplaceAll(strings.TrimSpace(opts.Global), "\n", "\n  ")
	}
	family := ""
	if opts.Family != "" {
		family = "\n    family: " + opts.Family
	}
	roles := []string{}
	for u, r := range Users {
		if r != "viewer" {
			roles = append(roles, fmt.Sprintf("    %s: %s", u, r))
		}
	}
	web := ""
	if opts.Web != "" {
		web = "\n  " + strings.ReplaceAll(strings.TrimSpace(opts.Web), "\n", "\n  ")
	}
	clusters := ""
	if opts.Clusters != "" {
		clusters = strings.TrimRight(opts.Clusters, "\n") + "\n"
	}
	yml := fmt.Sprintf("global:\n  %s\nclusters:\n  - name: test\n    cookie: %s%s\n    nodes: [%s]\n%sweb:\n  roles:\n%s%s\n%s",
		global, cookie, family, strings.Join(names, ", "), clusters, strings.Join(roles, "\n"), web, opts.Config)
	cfg, err := config.Parse([]byte(yml), t.TempDir())
	require.NoError(t, err, "%s", yml)

	hashOnce.Do(func() {
		hash, err = bcrypt.GenerateFromPassword([]byte(Password), bcrypt.MinCost)
	})
	require.NoError(t, err)
	var wc strings.Builder
	wc.WriteString("basic_auth_users:\n")
	for u := range Users {
		fmt.Fprintf(&wc, "  %s: %s\n", u, hash)
	}
	webConfig := filepath.Join(t.TempDir(), "web.yml")
	require.NoError(t, os.WriteFile(webConfig, []byte(wc.String()), 0o600))

	a, err := app.New(app.Options{Config: cfg, StoragePath: t.TempDir(), Listen: "127.0.0.1:0", WebConfigFile: webConfig, Version: "test"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Stop() })
	require.NoError(t, a.Start(context.Background()))
	s.App, s.Base = a, "http://"+a.Addr()
	return s
}

var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserErr    error
	browserCancel context.CancelFunc
)

// ChromiumPath returns Debian's chromium, failing the test without it.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatalf("chromium not found: the browser tests need Debian's chromium (make test installs it)")
	return ""
}

// Tab opens a new tab in the package's browser, in a browser context of
// its own (cookies are not shared between tabs), 1280x900. It is closed
// when the test ends.
func Tab(t testing.TB) context.Context {
	t.Helper()
	path := ChromiumPath(t)
	browserOnce.Do(func() {
		dir, err := os.MkdirTemp("", "beamctl-chromium-")
		if err != nil {
			browserErr = err
			return
		}
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path),
			chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
			chromedp.UserDataDir(dir),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
			chromedp.WindowSize(1280, 900),
		}
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(alloc)
		if err := chromedp.Do(ctx); err != nil {
			browserErr = fmt.Errorf("start chromium: %w", err)
		}
		browserCtx = ctx
		browserCancel = func() { cancel(); cancelAlloc(); _ = os.RemoveAll(dir) }
	})
	require.NoError(t, browserErr)
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancel() })
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)))
	return ctx
}

// Close ends the package's browser (call from TestMain after m.Run).
func Close() {
	if browserCancel != nil {
		browserCancel()
	}
}

// Login opens the login page and logs in as user; it returns once the
// overview's heading is shown.
func Login(t testing.TB, tab context.Context, base, user string) {
	t.Helper()
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(base+"/ui/login"),
		chromedp.WaitVisible(chromedp.CSS(`#login-user`)),
		chromedp.SendKeys(chromedp.CSS(`#login-user`), user),
		chromedp.SendKeys(chromedp.CSS(`#login-password`), Password),
		chromedp.Click(chromedp.CSS(`form.login button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`header.top nav`)),
	), "log in as %s", user)
}

// WaitText waits until the first element matching the CSS selector sel
// has text in its text.
func WaitText(sel, text string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, text)
	return WaitJS(js)
}

// WaitJS waits until the JavaScript expression js is truthy.
func WaitJS(js string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for {
			_, err := chromedp.Poll[bool](js, chromedp.WithPollingInterval(100*time.Millisecond))(ctx, t)
			// A navigation can replace the page's JavaScript context under
			// the poll (Chromium: "Cannot find context with specified id"):
			// poll again in the new one, until ctx ends.
			if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "Cannot find context with specified id") {
				return chromedp.Void{}, err
			}
		}
	}
}

// Eval evaluates js (awaiting a promise) and returns its value.
func Eval[T any](t testing.TB, tab context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	require.NoError(t, err, "evaluate %s", js)
	return v
}

// ScreenshotDir is where Screenshot writes.
func ScreenshotDir() string {
	if d := os.Getenv("BEAMCTL_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "beamctl-ui")
}

// Screenshot saves the whole page as name.png (see ScreenshotDir) and
// returns the file's path.
func Screenshot(t testing.TB, tab context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	dir := ScreenshotDir()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	p := filepath.Join(dir, name+".png")
	require.NoError(t, os.WriteFile(p, png, 0o644))
	t.Logf("screenshot %s", p)
	return p
}

// axeSource is axe-core's browser script, from the UI's npm packages.
func axeSource(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "ui", "node_modules", "axe-core", "axe.min.js")
	b, err := os.ReadFile(p)
	require.NoError(t, err, "axe-core is missing: run `make ui` (npm ci in internal/ui)")
	return string(b)
}

// Violation is one axe-core finding.
type Violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// Axe runs axe-core on the current page and fails the test on any serious
// or critical violation (WCAG 2 A and AA rules).
func Axe(t testing.TB, tab context.Context) {
	t.Helper()
	script := axeSource(t) + `
;(async () => {
  const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
})()`
	vs := Eval[[]Violation](t, tab, script)
	var bad []string
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			bad = append(bad, fmt.Sprintf("%s (%s): %s at %v", v.ID, v.Impact, v.Help, v.Nodes))
		} else {
			t.Logf("axe: %s (%s): %s at %v", v.ID, v.Impact, v.Help, v.Nodes)
		}
	}
	require.Empty(t, bad, "accessibility violations")
}

// FirstPaint loads the overview of the server at base (one without
// authentication, such as the scale benchmark's) in a new tab, loads times
// times, and returns the median time from the navigation to the page's
// own mark after the frame that paints its first node rows, and to the
// end of its /api/v1/overview request, in milliseconds.
func FirstPaint(t testing.TB, base string, times int) (paintMS, apiMS float64) {
	t.Helper()
	tab := Tab(t)
	var paints, apis []float64
	for range times {
		require.NoError(t, chromedp.Do(tab, chromedp.Navigate(base+"/ui/"),
			WaitJSFor(`performance.getEntriesByName('beamctl:overview-rows').length > 0`, 5*time.Minute)))
		paints = append(paints, Eval[float64](t, tab, `performance.getEntriesByName('beamctl:overview-rows')[0].startTime`))
		apis = append(apis, Eval[float64](t, tab, `(() => { const e = performance.getEntriesByType('resource').find(e => e.name.includes('/api/v1/overview'));
  return e ? e.responseEnd : -1; })()`))
	}
	return median(paints), median(apis)
}

// WaitJSFor waits up to d until the JavaScript expression js is truthy.
func WaitJSFor(js string, d time.Duration) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](js, chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(d))(ctx, t)
		return chromedp.Void{}, err
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
