package notifytest

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/notify"
)

// Mail is a message an SMTP server accepted: its envelope and content.
type Mail struct {
	From string
	To   []string
	Msg  *mail.Message
	Body string
}

// SMTPServer is a real SMTP listener on loopback that speaks what net/smtp
// sends (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT), parses each message
// with net/mail and sends it on Got. Replies scripted per command (MAIL,
// RCPT, DATA for the end of data, AUTH) are given in turn; a failed AUTH
// quotes the credentials, as careless servers do.
type SMTPServer struct {
	Addr string
	Got  chan Mail

	username, password string
	l                  net.Listener
	mu                 sync.Mutex
	script             map[string][]string
}

// SMTPOptions configure an SMTPServer.
type SMTPOptions struct {
	Addr string // 127.0.0.1:0 if empty
	// Username and Password, if set, are required (AUTH PLAIN).
	Username, Password string
	// Script lists replies per command (MAIL, RCPT, DATA, AUTH), given
	// in turn before the usual ones.
	Script map[string][]string
}

// StartSMTP starts an SMTPServer; it stops when the test ends.
func StartSMTP(t testing.TB, o SMTPOptions) *SMTPServer {
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	s := &SMTPServer{Addr: l.Addr().String(), Got: make(chan Mail, 100), l: l, script: o.Script, username: o.Username, password: o.Password}
	if s.script == nil {
		s.script = map[string][]string{}
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

// reply is the scripted reply to cmd, or ok.
func (s *SMTPServer) reply(cmd, ok string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.script[cmd]; len(r) > 0 {
		s.script[cmd] = r[1:]
		return r[0]
	}
	return ok
}

func (s *SMTPServer) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	tp := textproto.NewConn(c)
	_ = tp.PrintfLine("220 localhost test SMTP")
	var m Mail
	authed := s.username == ""
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		upper := strings.ToUpper(line)
		switch {
		case cmd == "EHLO" || cmd == "HELO":
			if s.username != "" {
				_ = tp.PrintfLine("250-localhost")
				_ = tp.PrintfLine("250 AUTH PLAIN")
			} else {
				_ = tp.PrintfLine("250 localhost")
			}
		case strings.HasPrefix(upper, "AUTH PLAIN "):
			raw, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(line[len("AUTH PLAIN "):]))
			parts := strings.Split(string(raw), "\x00")
			if len(parts) == 3 && parts[1] == s.username && parts[2] == s.password {
				if r := s.reply("AUTH", "235 2.7.0 authenticated"); !strings.HasPrefix(r, "235") {
					_ = tp.PrintfLine("%s", r)
					continue
				}
				authed = true
				_ = tp.PrintfLine("235 2.7.0 authenticated")
				continue
			}
			_ = tp.PrintfLine("535 5.7.8 bad credentials %q", raw)
		case strings.HasPrefix(upper, "MAIL FROM:"):
			if !authed {
				_ = tp.PrintfLine("530 5.7.0 authentication required")
				continue
			}
			m = Mail{From: strings.Trim(line[len("MAIL FROM:"):], "<> ")}
			_ = tp.PrintfLine("%s", s.reply("MAIL", "250 OK"))
		case strings.HasPrefix(upper, "RCPT TO:"):
			r := s.reply("RCPT", "250 OK")
			if strings.HasPrefix(r, "250") {
				m.To = append(m.To, strings.Trim(line[len("RCPT TO:"):], "<> "))
			}
			_ = tp.PrintfLine("%s", r)
		case cmd == "DATA":
			_ = tp.PrintfLine("354 go ahead")
			data, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			if r := s.reply("DATA", "250 queued"); !strings.HasPrefix(r, "250") {
				_ = tp.PrintfLine("%s", r)
				continue
			}
			msg, err := mail.ReadMessage(bufio.NewReader(strings.NewReader(string(data))))
			if err != nil {
				_ = tp.PrintfLine("554 %v", err)
				continue
			}
			body, _ := io.ReadAll(msg.Body)
			m.Msg, m.Body = msg, string(body)
			_ = tp.PrintfLine("250 queued")
			s.Got <- m
		case cmd == "RSET":
			_ = tp.PrintfLine("250 OK")
		case cmd == "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("502 command unrecognized")
		}
	}
}

// Next waits for the server's next message.
func (s *SMTPServer) Next(t testing.TB) Mail {
	t.Helper()
	select {
	case m := <-s.Got:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no e-mail in 10s")
		return Mail{}
	}
}

// NewSMTP makes the notifier under test for an SMTP server's address,
// authenticating with username and password, and lists its secrets.
type NewSMTP func(t *testing.T, addr, username, password string) (n notify.Notifier, secrets []string)

// SMTP runs the conformance tests of an e-mail integration.
func SMTP(t *testing.T, integration string, mk NewSMTP) {
	const user, password = "beamctl", "smtp-pa55word"
	for _, c := range []struct {
		name   string
		script map[string][]string
		retry  bool
		ok     bool
	}{
		{name: "accepted", ok: true},
		{name: "421 at MAIL", script: map[string][]string{"MAIL": {"421 4.3.2 shutting down"}}, retry: true},
		{name: "451 at RCPT", script: map[string][]string{"RCPT": {"451 4.3.0 try later"}}, retry: true},
		{name: "452 at DATA", script: map[string][]string{"DATA": {"452 4.3.1 out of storage"}}, retry: true},
		{name: "454 at AUTH", script: map[string][]string{"AUTH": {"454 4.7.0 temporary authentication failure"}}, retry: true},
		{name: "550 at RCPT", script: map[string][]string{"RCPT": {"550 5.1.1 no such user"}}},
		{name: "554 at DATA", script: map[string][]string{"DATA": {"554 5.6.0 message rejected"}}},
		{name: "wrong password"},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := password
			if c.name == "wrong password" {
				want = "something else"
			}
			s := StartSMTP(t, SMTPOptions{Username: user, Password: want, Script: c.script})
			n, secrets := mk(t, s.Addr, user, password)
			retry, err := n.Notify(context.Background(), Alert(1))
			if c.ok {
				require.NoError(t, err)
				s.Next(t)
				return
			}
			require.Error(t, err)
			require.Equal(t, c.retry, retry, "%s: retry", c.name)
			NoSecret(t, err.Error(), secrets)
		})
	}
	t.Run("nobody answers", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		l.Close()
		n, secrets := mk(t, addr, user, password)
		retry, err := n.Notify(context.Background(), Alert(1))
		require.Error(t, err)
		require.True(t, retry)
		NoSecret(t, err.Error(), secrets)
	})
	t.Run("loop", func(t *testing.T) {
		// The first alert fails (451, retried), then is rejected (550,
		// dropped); the second is taken.
		s := StartSMTP(t, SMTPOptions{Username: user, Password: password,
			Script: map[string][]string{"RCPT": {"451 4.3.0 try later", "550 5.1.1 no such user"}}})
		n, secrets := mk(t, s.Addr, user, password)
		l := runLoop(t, integration, n, secrets)
		l.Add(Alert(1))
		l.Add(Alert(2))
		m := s.Next(t)
		require.Contains(t, m.Body, "alarm 2:", "the rejected alert is not tried again")
		l.check(t, 1, 1, 1)
		require.Empty(t, s.Got, "one e-mail")
	})
}
