package export

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/journal"
)

// facilities are the RFC 5424 facility codes by name.
var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "local0": 16, "local1": 17, "local2": 18,
	"local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// sdID is beamctl's structured-data id (an enterprise-number form; 32473
// is the example number RFC 5612 reserves for documentation).
const sdID = "beamctl@32473"

type syslogSender struct {
	s        *stream
	facility int
	hostname string
}

func newSyslog(o Options) (*syslogSender, error) {
	fac := "local0"
	if o.Facility != "" {
		fac = o.Facility
	}
	f, ok := facilities[fac]
	if !ok {
		return nil, fmt.Errorf("syslog facility %q is not one of kern … local7", fac)
	}
	s, err := newStream(o.Protocol, o.Address)
	if err != nil {
		return nil, err
	}
	return &syslogSender{s: s, facility: f, hostname: o.Hostname}, nil
}

func (x *syslogSender) send(ctx context.Context, ns []journal.Notification) error {
	msgs := make([][]byte, len(ns))
	for i, n := range ns {
		m := x.format(n)
		if x.s.protocol == "tcp" { // RFC 6587 octet counting
			m = append([]byte(strconv.Itoa(len(m))+" "), m...)
		}
		msgs[i] = m
	}
	return x.s.write(ctx, msgs)
}

func (x *syslogSender) close() error { return x.s.close() }

// format writes one RFC 5424 message:
// <PRI>1 TIMESTAMP HOSTNAME beamctl - KIND [beamctl@32473 cluster=".." node=".." ...] TEXT
func (x *syslogSender) format(n journal.Notification) []byte {
	hostname := x.hostname
	if hostname == "" {
		hostname = host(n.Node)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<%d>1 %s %s beamctl - %s [%s", x.facility*8+syslogSeverity(n.Severity),
		n.Time.UTC().Format(time.RFC3339Nano), header(hostname, 255), header(n.Kind, 32), sdID)
	params := map[string]string{"cluster": n.Cluster, "node": n.Node, "severity": n.Severity.String(), "id": strconv.FormatInt(n.ID, 10)}
	for k, v := range n.Fields {
		params[sdName(k)] = v
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, ` %s="%s"`, k, sdValue(params[k]))
	}
	b.WriteString("] ")
	b.WriteString(strings.ReplaceAll(n.Text, "\n", " "))
	return []byte(b.String())
}

// header makes a header field: printable US-ASCII without spaces, at most
// max characters, "-" when empty.
func header(s string, max int) string {
	out := strings.Map(func(r rune) rune {
		if r < 33 || r > 126 {
			return '_'
		}
		return r
	}, s)
	if out == "" {
		return "-"
	}
	if len(out) > max {
		out = out[:max]
	}
	return out
}

// sdName makes an SD-PARAM name: printable ASCII except = ] " and space,
// at most 32 characters.
func sdName(s string) string {
	out := strings.Map(func(r rune) rune {
		if r < 33 || r > 126 || r == '=' || r == ']' || r == '"' {
			return '_'
		}
		return r
	}, s)
	if len(out) > 32 {
		out = out[:32]
	}
	return out
}

// sdValue escapes a PARAM-VALUE: \ " and ] are escaped with \.
func sdValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`, "\n", " ").Replace(s)
}
