package testnode

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/beamctl/beamctl/internal/erlnode"
)

// RabbitMQ is a RabbitMQ broker (Debian's rabbitmq-server) owned by a test.
type RabbitMQ struct {
	Name     string // its node name, rabbit-style: rmq…@host
	Cookie   string
	AMQPPort int
	env      []string
}

// rabbitServer is Debian's script that runs the broker in the foreground.
const rabbitServer = "/usr/lib/rabbitmq/bin/rabbitmq-server"

// RabbitMQOptions describe a broker to start.
type RabbitMQOptions struct {
	// Cookie is its cookie (empty: a random one); brokers that are to form
	// a cluster share one.
	Cookie string
	// Conf are lines added to its rabbitmq.conf.
	Conf []string
}

// StartRabbitMQ starts a broker of its own (its own ports, Mnesia and log
// directories, no plugins) and waits until it runs; it is stopped when the
// test ends. The test fails when rabbitmq-server is not installed (make
// deps installs it).
func StartRabbitMQ(t testing.TB, o RabbitMQOptions) *RabbitMQ {
	t.Helper()
	ErlPath(t)
	if _, err := os.Stat(rabbitServer); err != nil {
		t.Fatalf("%s not found: this test needs Debian's rabbitmq-server (run `make test`, which installs it): %v", rabbitServer, err)
	}
	dir := t.TempDir()
	if o.Cookie == "" {
		o.Cookie = erlnode.RandomName("cookie")
	}
	r := &RabbitMQ{Name: erlnode.RandomName("rmq") + "@" + ShortHost(), Cookie: o.Cookie, AMQPPort: freePort(t)}
	home, err := erlnode.CookieHome(dir, r.Cookie)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ name, text string }{{"enabled_plugins", "[]."}, {"rabbitmq.conf", "loopback_users.guest = true\n" + strings.Join(o.Conf, "\n") + "\n"}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r.env = append(os.Environ(), "HOME="+home,
		"RABBITMQ_NODENAME="+r.Name,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		fmt.Sprintf("RABBITMQ_NODE_PORT=%d", r.AMQPPort),
		fmt.Sprintf("RABBITMQ_DIST_PORT=%d", freePort(t)),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq"),
		"RABBITMQ_PID_FILE="+filepath.Join(dir, "rabbit.pid"))
	cmd := exec.Command(rabbitServer)
	cmd.Env, cmd.Dir = r.env, dir
	var out erlnode.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the script's erl is killed with it
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rabbitmq-server: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			t.Logf("output of RabbitMQ %s:\n%s", r.Name, out.String())
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(out.String(), "Starting broker... completed") {
		select {
		case <-exited:
			t.Fatalf("RabbitMQ %s exited while starting:\n%s", r.Name, out.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("RabbitMQ %s did not start within 2 minutes:\n%s", r.Name, out.String())
		}
	}
	return r
}

// AMQPURL is the URL of the broker's AMQP listener (user guest, from loopback).
func (r *RabbitMQ) AMQPURL() string {
	return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", r.AMQPPort)
}

// freePort returns a TCP port of the loopback free at the time of the call.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ejabberdLibs is where Debian's ejabberd keeps its applications (as
// ejabberdctl sets ERL_LIBS).
const ejabberdLibs = "/usr/lib/x86_64-linux-gnu"

// Ejabberd is an ejabberd node owned by a test, with its XMPP client port.
type Ejabberd struct {
	*Node
	XMPPPort int
}

// StartEjabberd starts Debian's ejabberd as a node of the test: its own
// cookie, Mnesia directory and configuration (host localhost, a plain-text
// client listener on a loopback port, internal authentication). The test
// fails when ejabberd is not installed (make deps installs it).
func StartEjabberd(t testing.TB) *Ejabberd {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(ejabberdLibs, "ejabberd-*", "ebin", "ejabberd.app"))
	if len(matches) == 0 {
		t.Fatalf("ejabberd not found in %s: this test needs Debian's ejabberd (run `make test`, which installs it)", ejabberdLibs)
	}
	dir := t.TempDir()
	port := freePort(t)
	conf := fmt.Sprintf(`loglevel: warning
hosts: [localhost]
listen:
  - {port: %d, ip: "127.0.0.1", module: ejabberd_c2s, starttls: false}
auth_method: internal
auth_password_format: plain
acme: {auto: false}
modules: {mod_roster: {}, mod_disco: {}}
`, port)
	cfg := filepath.Join(dir, "ejabberd.yml")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	n := Start(t, Options{
		Name: erlnode.RandomName("ejd"), Dir: spool,
		Args: []string{"-mnesia", "dir", `"` + spool + `"`},
		Env: []string{"ERL_LIBS=" + ejabberdLibs, "EJABBERD_CONFIG_PATH=" + cfg,
			"EJABBERD_LOG_PATH=" + filepath.Join(dir, "ejabberd.log")},
		Eval: "{ok, _} = application:ensure_all_started(ejabberd)",
	})
	return &Ejabberd{Node: n, XMPPPort: port}
}

// ctl runs rabbitmqctl against the broker (with its cookie).
func (r *RabbitMQ) ctl(ctx context.Context, args ...string) (string, error) {
	// Debian's /usr/sbin/rabbitmqctl runs as the rabbitmq user with its
	// home (and cookie); the script beside the server runs as us.
	cmd := exec.CommandContext(ctx, "/usr/lib/rabbitmq/bin/rabbitmqctl", append([]string{"-n", r.Name}, args...)...)
	cmd.Env = r.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Ctl runs rabbitmqctl against the broker and returns its output; the
// test fails if it fails.
func (r *RabbitMQ) Ctl(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := r.ctl(ctx, args...)
	if err != nil {
		t.Fatalf("rabbitmqctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// Publish declares queue (not durable) on the broker and publishes n small
// messages to it with publisher confirms, so that all n are in the queue
// when it returns.
func (r *RabbitMQ) Publish(t testing.TB, queue string, n int) {
	t.Helper()
	ch := r.confirmChannel(t)
	defer ch.Close()
	if _, err := ch.QueueDeclare(queue, false, false, false, false, nil); err != nil {
		t.Fatalf("declare %s: %v", queue, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const window = 1000 // confirms awaited in batches
	pending := make([]*amqp.DeferredConfirmation, 0, window)
	for i := 0; i < n; i++ {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", queue, false, false, amqp.Publishing{Body: []byte("m")})
		if err != nil {
			t.Fatalf("publish to %s: %v", queue, err)
		}
		pending = append(pending, dc)
		if len(pending) == window || i == n-1 {
			for _, d := range pending {
				if ok, err := d.WaitContext(ctx); !ok || err != nil {
					t.Fatalf("publish to %s not confirmed: %v", queue, err)
				}
			}
			pending = pending[:0]
		}
	}
}

// Consume opens a connection that consumes from queue with a prefetch of
// prefetch and never acknowledges, so that prefetch messages stay unacked;
// it is closed when the test ends.
func (r *RabbitMQ) Consume(t testing.TB, queue string, prefetch int) {
	t.Helper()
	conn, err := amqp.Dial(r.AMQPURL())
	if err != nil {
		t.Fatalf("AMQP connection to %s: %v", r.Name, err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Qos(prefetch, 0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Consume(queue, "", false, false, false, false, nil); err != nil {
		t.Fatalf("consume %s: %v", queue, err)
	}
}

// Login opens an XMPP client session on the ejabberd node as user
// (registered with password beforehand): stream, SASL PLAIN, stream
// again, resource binding. Closing the returned connection ends the
// session.
func (e *Ejabberd) Login(t testing.TB, user, password string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", e.XMPPPort), 10*time.Second)
	if err != nil {
		t.Fatalf("XMPP connection: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	var got strings.Builder
	buf := make([]byte, 4096)
	exchange := func(send, until string) {
		t.Helper()
		if _, err := io.WriteString(c, send); err != nil {
			t.Fatalf("XMPP write: %v", err)
		}
		got.Reset()
		for !strings.Contains(got.String(), until) {
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("XMPP: waiting for %s after %q: %v (got %q)", until, send, err, got.String())
			}
			got.Write(buf[:n])
			if strings.Contains(got.String(), "<failure") || strings.Contains(got.String(), "<stream:error") {
				t.Fatalf("XMPP: %s", got.String())
			}
		}
	}
	header := "<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' " +
		"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
	exchange(header, "</stream:features>")
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
	exchange("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"+plain+"</auth>", "<success")
	exchange(header, "</stream:features>")
	exchange("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>beamctl-test</resource></bind></iq>", "</iq>")
	_ = c.SetDeadline(time.Time{})
	return c
}

// DeclareQueues declares n queues named prefix-0 … prefix-(n-1), each with
// one message.
func (r *RabbitMQ) DeclareQueues(t testing.TB, prefix string, n int) {
	t.Helper()
	ch := r.confirmChannel(t)
	defer ch.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for i := 0; i < n; i++ {
		q := fmt.Sprintf("%s-%d", prefix, i)
		if _, err := ch.QueueDeclare(q, false, false, false, false, nil); err != nil {
			t.Fatalf("declare %s: %v", q, err)
		}
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", q, false, false, amqp.Publishing{Body: []byte("m")})
		if err != nil {
			t.Fatalf("publish to %s: %v", q, err)
		}
		if ok, err := dc.WaitContext(ctx); !ok || err != nil {
			t.Fatalf("publish to %s not confirmed: %v", q, err)
		}
	}
}

// confirmChannel opens a connection and a channel in confirm mode on it;
// its Close closes both.
func (r *RabbitMQ) confirmChannel(t testing.TB) *confirmChan {
	t.Helper()
	conn, err := amqp.Dial(r.AMQPURL())
	if err != nil {
		t.Fatalf("AMQP connection to %s: %v", r.Name, err)
	}
	ch, err := conn.Channel()
	if err == nil {
		err = ch.Confirm(false)
	}
	if err != nil {
		conn.Close()
		t.Fatalf("AMQP channel on %s: %v", r.Name, err)
	}
	return &confirmChan{Channel: ch, conn: conn}
}

// confirmChan is a channel in confirm mode with its own connection.
type confirmChan struct {
	*amqp.Channel
	conn *amqp.Connection
}

func (c *confirmChan) Close() { c.conn.Close() }
