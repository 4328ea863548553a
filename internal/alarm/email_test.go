package alarm

import (
	"bufio"
	"context"
	"io"
	"mime"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// smtpReceiver is a local SMTP server (the commands net/smtp sends) that
// keeps each message's envelope and parses its content with net/mail.
type smtpReceiver struct {
	l    net.Listener
	mu   sync.Mutex
	msgs []*mail.Message
	rcpt [][]string
}

func startSMTP(t *testing.T) *smtpReceiver {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r := &smtpReceiver{l: l}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go r.serve(c)
		}
	}()
	return r
}

func (r *smtpReceiver) serve(c net.Conn) {
	defer c.Close()
	tp := textproto.NewConn(c)
	_ = tp.PrintfLine("220 localhost test SMTP")
	var to []string
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch {
		case cmd == "EHLO" || cmd == "HELO":
			_ = tp.PrintfLine("250 localhost")
		case strings.HasPrefix(strings.ToUpper(line), "MAIL FROM:"):
			to = nil
			_ = tp.PrintfLine("250 OK")
		case strings.HasPrefix(strings.ToUpper(line), "RCPT TO:"):
			to = append(to, strings.Trim(line[len("RCPT TO:"):], "<> "))
			_ = tp.PrintfLine("250 OK")
		case cmd == "DATA":
			_ = tp.PrintfLine("354 go ahead")
			data, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			m, err := mail.ReadMessage(bufio.NewReader(strings.NewReader(string(data))))
			if err != nil {
				_ = tp.PrintfLine("554 %v", err)
				continue
			}
			r.mu.Lock()
			r.msgs, r.rcpt = append(r.msgs, m), append(r.rcpt, to)
			r.mu.Unlock()
			_ = tp.PrintfLine("250 queued")
		case cmd == "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("502 command unrecognized")
		}
	}
}

// TestEmail raises and clears an alarm and reads the two e-mails.
func TestEmail(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rcv := startSMTP(t)
	e, err := Open(ctx, Options{Dir: t.TempDir()})
	require.NoError(t, err)
	defer e.Close()
	r := &scripted{}
	e.SetRules([]Rule{r})
	w := &Webhook{Format: "email", SMTP: rcv.l.Addr().String(), From: "beamctl@example.com", To: []string{"oncall@example.com", "ops@example.com"}}
	go w.Run(ctx, e)
	time.Sleep(50 * time.Millisecond)
	r.obs = holds(Major, 3)
	e.Evaluate(ctx, time.Now())
	r.obs = nil
	e.Evaluate(ctx, time.Now())
	require.Eventually(t, func() bool { rcv.mu.Lock(); defer rcv.mu.Unlock(); return len(rcv.msgs) == 2 }, 10*time.Second, 20*time.Millisecond)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	require.Equal(t, []string{"oncall@example.com", "ops@example.com"}, rcv.rcpt[0])
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(rcv.msgs[0].Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "[beamctl] MAJOR scripted on a@h: raised", subject)
	body, err := io.ReadAll(rcv.msgs[0].Body)
	require.NoError(t, err)
	require.Contains(t, string(body), "value major")
	require.Contains(t, string(body), "Value: 3")
	subject, _ = dec.DecodeHeader(rcv.msgs[1].Header.Get("Subject"))
	require.Equal(t, "[beamctl] MAJOR scripted on a@h: cleared", subject)
	require.Eventually(t, func() bool { return w.Sent.Load() == 2 }, 5*time.Second, 10*time.Millisecond, "counted once accepted")
}
