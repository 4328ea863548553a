// Package email sends each alarm change as a plain-text e-mail (RFC 5322)
// through an SMTP server, with STARTTLS when the server offers it and
// PLAIN authentication when a username is set (net/smtp allows it only
// over TLS or to localhost). The password is a secret.
package email

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/notify"
)

// Timeout bounds one message's SMTP conversation.
const Timeout = 30 * time.Second

// Options configure an e-mail notifier.
type Options struct {
	SMTP               string // host:port
	From               string
	To                 []string
	Username, Password string
	// TLSConfig is for STARTTLS (the SMTP host's name is checked if nil).
	TLSConfig *tls.Config
}

type notifier struct {
	o       Options
	host    string
	secrets []string
}

// New makes an e-mail notifier.
func New(o Options) (notify.Notifier, error) {
	var errs []error
	host, _, err := net.SplitHostPort(o.SMTP)
	if err != nil {
		errs = append(errs, errors.New("email needs smtp as host:port"))
	}
	if o.From == "" || len(o.To) == 0 {
		errs = append(errs, errors.New("email needs from and to"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	n := &notifier{o: o, host: host}
	if o.Password != "" {
		n.secrets = []string{o.Password, base64.StdEncoding.EncodeToString([]byte("\x00" + o.Username + "\x00" + o.Password))}
	}
	return n, nil
}

// Notify sends one e-mail per alert, stopping at the first failure. An
// SMTP 5xx answer is permanent (no retry); a 4xx, or no answer, is not.
func (n *notifier) Notify(ctx context.Context, alerts ...notify.Alert) (bool, error) {
	for _, a := range alerts {
		if err := n.send(ctx, Message(n.o.From, n.o.To, a)); err != nil {
			var te *textproto.Error
			var pe permanent
			retry := !errors.As(err, &pe) && (!errors.As(err, &te) || te.Code/100 != 5)
			return retry, notify.Redact(fmt.Errorf("smtp: %w", err), n.secrets...)
		}
	}
	return false, nil
}

// send is smtp.SendMail with a context and a deadline.
func (n *notifier) send(ctx context.Context, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", n.o.SMTP)
	if err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, n.host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := n.o.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: n.host}
		}
		if err := c.StartTLS(cfg); err != nil {
			return err
		}
	}
	if n.o.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return permanent{errors.New("the server offers no authentication")}
		}
		if err := c.Auth(smtp.PlainAuth("", n.o.Username, n.o.Password, n.host)); err != nil {
			var te *textproto.Error
			if !errors.As(err, &te) { // refused by net/smtp: PLAIN over an unencrypted connection
				return permanent{err}
			}
			return err
		}
	}
	if err := c.Mail(n.o.From); err != nil {
		return err
	}
	for _, to := range n.o.To {
		if err := c.Rcpt(to); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// Message writes the e-mail about an alert.
func Message(from string, to []string, x notify.Alert) []byte {
	a := x.Alarm
	subject := fmt.Sprintf("[beamctl] %s %s on %s: %s", strings.ToUpper(a.Severity.String()), a.Rule, a.Where(), x.Event.Kind)
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <beamctl-alarm-%d-%d@beamctl>\r\n",
		from, strings.Join(to, ", "), mime.QEncoding.Encode("utf-8", subject), x.Event.Time.Format(time.RFC1123Z), a.ID, x.Event.Time.UnixNano())
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	fmt.Fprintf(&b, "%s\r\n\r\nAlarm %d: %s, %s, %s on %s (cluster %s).\r\nValue: %g\r\nRaised at: %s\r\n",
		a.Description, a.ID, x.Event.Kind, a.Severity, a.Rule, a.Where(), a.Cluster, a.Value, a.RaisedAt.Format(time.RFC3339))
	if x.Event.Who != "" {
		fmt.Fprintf(&b, "By: %s\r\n", x.Event.Who)
	}
	if x.Event.Text != "" {
		fmt.Fprintf(&b, "Note: %s\r\n", x.Event.Text)
	}
	for _, e := range a.Evidence {
		fmt.Fprintf(&b, "Evidence: %s\r\n", e)
	}
	return []byte(b.String())
}

// permanent is a failure that trying again will not mend (the
// configuration must change).
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }
