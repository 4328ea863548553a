package inspect

import (
	"context"
	"testing"
	"time"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/testnode"
)

// BenchmarkRabbitMQQueues measures the rabbitmq tool's queue scan on
// Debian's RabbitMQ with 2,000 queues of one message each, against the
// anchor measured in the same run: RabbitMQ's own
// rabbit_amqqueue:info_all/2 (what rabbitmqctl list_queues calls) for the
// same items. The broker collects no statistics (no plugins), so both ask
// every queue process; the anchor returns every queue, the scan the top 10.
// ns/queue is per queue scanned; x_vs_list_queues is the scan's time over
// the anchor's.
func BenchmarkRabbitMQQueues(b *testing.B) {
	const queues = 2000
	rmq := testnode.StartRabbitMQ(b, testnode.RabbitMQOptions{})
	rmq.DeclareQueues(b, "bench", queues)
	ctx := context.Background()
	c, err := dist.Dial(ctx, rmq.Name, dist.Options{Cookie: rmq.Cookie, CallTimeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := EnsureAgent(ctx, c); err != nil {
		b.Fatal(err)
	}
	items := etf.List{etf.Atom("name"), etf.Atom("type"), etf.Atom("messages_ready"), etf.Atom("messages_unacknowledged"),
		etf.Atom("consumers"), etf.Atom("memory")}
	var scan, anchor time.Duration
	var scanned int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		r, err := RabbitMQ(ctx, c, "messages", 10)
		if err != nil {
			b.Fatal(err)
		}
		scan += time.Since(t0)
		scanned = r.Scan.Scanned
		t0 = time.Now()
		l, err := c.Call(ctx, "rabbit_amqqueue", "info_all", []byte("/"), items)
		if err != nil {
			b.Fatal(err)
		}
		anchor += time.Since(t0)
		if n, _ := etf.ToList(l); len(n) != queues {
			b.Fatalf("info_all returned %d queues, want %d", len(n), queues)
		}
	}
	if scanned != queues {
		b.Fatalf("the scan saw %d queues, want %d", scanned, queues)
	}
	b.ReportMetric(float64(scan.Nanoseconds())/float64(b.N)/queues, "ns/queue")
	b.ReportMetric(float64(anchor.Nanoseconds())/float64(b.N)/queues, "list_queues_ns/queue")
	b.ReportMetric(float64(scan)/float64(anchor), "x_vs_list_queues")
}
