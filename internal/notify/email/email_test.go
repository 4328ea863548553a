package email

import (
	"context"
	"mime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/notify"
	"github.com/beamctl/beamctl/internal/notify/notifytest"
)

func TestConformance(t *testing.T) {
	notifytest.SMTP(t, "email", func(t *testing.T, addr, username, password string) (notify.Notifier, []string) {
		n, err := New(Options{SMTP: addr, From: "beamctl@example.com", To: []string{"oncall@example.com"}, Username: username, Password: password})
		require.NoError(t, err)
		return n, []string{password}
	})
}

// TestEmail sends a raise and a clear through a real SMTP listener and
// reads the two e-mails.
func TestEmail(t *testing.T) {
	s := notifytest.StartSMTP(t, notifytest.SMTPOptions{})
	n, err := New(Options{SMTP: s.Addr, From: "beamctl@example.com", To: []string{"oncall@example.com", "ops@example.com"}})
	require.NoError(t, err)
	changes := notifytest.Changes()
	_, err = n.Notify(context.Background(), changes[0], changes[3])
	require.NoError(t, err)
	raised, cleared := s.Next(t), s.Next(t)
	require.Equal(t, "beamctl@example.com", raised.From)
	require.Equal(t, []string{"oncall@example.com", "ops@example.com"}, raised.To)
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(raised.Msg.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "[beamctl] CRITICAL scripted on a@h: raised", subject)
	require.Equal(t, "<beamctl-alarm-7-1796205600000000000@beamctl>", raised.Msg.Header.Get("Message-ID"))
	require.Contains(t, raised.Body, "value critical")
	require.Contains(t, raised.Body, "Value: 7")
	require.Contains(t, raised.Body, "Evidence: up == 0")
	subject, err = dec.DecodeHeader(cleared.Msg.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "[beamctl] CRITICAL scripted on a@h: cleared", subject)
}

// TestNewlineInSubject: a description cannot add a header.
func TestNewlineInSubject(t *testing.T) {
	a := notifytest.Changes()[0]
	a.Alarm.Rule = "x\r\nBcc: someone@example.com"
	s := notifytest.StartSMTP(t, notifytest.SMTPOptions{})
	n, err := New(Options{SMTP: s.Addr, From: "beamctl@example.com", To: []string{"oncall@example.com"}})
	require.NoError(t, err)
	_, err = n.Notify(context.Background(), a)
	require.NoError(t, err)
	m := s.Next(t)
	require.Empty(t, m.Msg.Header.Get("Bcc"))
	require.Equal(t, []string{"oncall@example.com"}, m.To)
}

func TestNew(t *testing.T) {
	_, err := New(Options{SMTP: "no-port"})
	require.EqualError(t, err, "email needs smtp as host:port\nemail needs from and to")
}

// TestPlainAuthNeedsTLS: net/smtp refuses PLAIN over an unencrypted
// connection to another host; trying again would not help.
func TestPlainAuthNeedsTLS(t *testing.T) {
	// Loopback, but not an address net/smtp takes for localhost.
	s := notifytest.StartSMTP(t, notifytest.SMTPOptions{Addr: "127.0.0.2:0", Username: "beamctl", Password: "smtp-pa55word"})
	n, err := New(Options{SMTP: s.Addr, From: "beamctl@example.com", To: []string{"oncall@example.com"},
		Username: "beamctl", Password: "smtp-pa55word"})
	require.NoError(t, err)
	retry, err := n.Notify(context.Background(), notifytest.Alert(1))
	require.ErrorContains(t, err, "unencrypted connection")
	require.False(t, retry)
}
