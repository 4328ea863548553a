package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/beamctl/beamctl/internal/journal"
	"github.com/beamctl/beamctl/internal/redact"
)

type otlpSender struct {
	url     string
	headers map[string]string
	client  *http.Client
	secrets []string // The URL's parts and the headers' values, never in an error.
}

func newOTLP(o Options) (*otlpSender, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("otlp url %q is not an http(s) URL such as http://localhost:4318/v1/logs", redact.URL(o.URL))
	}
	secrets := redact.URLSecrets(o.URL)
	for _, v := range o.Headers {
		secrets = append(secrets, v)
	}
	return &otlpSender{url: o.URL, headers: o.Headers, client: &http.Client{}, secrets: secrets}, nil
}

type otlpValue struct {
	StringValue string `json:"stringValue"`
}

type otlpKV struct {
	Key   string    `json:"key"`
	Value otlpValue `json:"value"`
}

func kv(k, v string) otlpKV { return otlpKV{Key: k, Value: otlpValue{StringValue: v}} }

// otlpSeverity is OpenTelemetry's severity number and text.
func otlpSeverity(sev journal.Severity) (int, string) {
	switch sev {
	case journal.Critical:
		return 21, "FATAL"
	case journal.Error:
		return 17, "ERROR"
	case journal.Warning:
		return 13, "WARN"
	default:
		return 9, "INFO"
	}
}

// body is an ExportLogsServiceRequest in OTLP's JSON encoding: one
// resource (service.name beamctl) and one scope with a record per
// notification; cluster, node, kind and fields are attributes.
func (o *otlpSender) body(ns []journal.Notification) ([]byte, error) {
	records := make([]map[string]any, 0, len(ns))
	for _, n := range ns {
		num, text := otlpSeverity(n.Severity)
		attrs := []otlpKV{kv("beamctl.cluster", n.Cluster), kv("beamctl.node", n.Node), kv("beamctl.kind", n.Kind),
			kv("beamctl.notification_id", strconv.FormatInt(n.ID, 10))}
		keys := make([]string, 0, len(n.Fields))
		for k := range n.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			attrs = append(attrs, kv("beamctl."+k, n.Fields[k]))
		}
		records = append(records, map[string]any{
			"timeUnixNano": strconv.FormatInt(n.Time.UnixNano(), 10), "severityNumber": num, "severityText": text,
			"body": otlpValue{StringValue: n.Text}, "attributes": attrs,
		})
	}
	return json.Marshal(map[string]any{"resourceLogs": []any{map[string]any{
		"resource":  map[string]any{"attributes": []otlpKV{kv("service.name", "beamctl")}},
		"scopeLogs": []any{map[string]any{"scope": map[string]any{"name": "beamctl"}, "logRecords": records}},
	}}})
}

// send posts ns; its error shows the URL as scheme and host only (Go's
// *url.Error quotes the whole URL, whose path may be a token).
func (o *otlpSender) send(ctx context.Context, ns []journal.Notification) error {
	return redact.Error(o.post(ctx, ns), o.secrets...)
}

func (o *otlpSender) post(ctx context.Context, ns []journal.Notification) error {
	b, err := o.body(ns)
	if err != nil {
		return fmt.Errorf("otlp: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("otlp: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range o.headers {
		req.Header.Set(k, v)
	}
	resp, err := o.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // "Post "URL": cause"
			err = ue.Err
		}
		return fmt.Errorf("otlp: post to %s: %w", redact.URL(o.url), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("otlp: %s answered HTTP %d", redact.URL(o.url), resp.StatusCode)
	}
	return nil
}

func (o *otlpSender) close() error {
	o.client.CloseIdleConnections()
	return nil
}
