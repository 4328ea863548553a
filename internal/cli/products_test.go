package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beamctl/beamctl/internal/testnode"
)

// TestProductCommands runs beamctl rabbitmq, mnesia and ejabberd against
// Debian's RabbitMQ and ejabberd started by the test. This broker collects
// statistics (as it does with the management or prometheus plugin), so the
// queue scan reads them from RabbitMQ's tables (TestProducts in
// internal/app covers the broker that collects none).
func TestProductCommands(t *testing.T) {
	t.Parallel()
	rmq := testnode.StartRabbitMQ(t, testnode.RabbitMQOptions{Conf: []string{"collect_statistics = coarse", "collect_statistics_interval = 500"}})
	ejd := testnode.StartEjabberd(t)
	rmq.Publish(t, "big", 3000)
	rmq.Publish(t, "small", 3)
	rcookie, ecookie := "--cookie="+rmq.Cookie, "--cookie="+ejd.Cookie
	// The queues publish their statistics every 500 ms.
	require.Eventually(t, func() bool {
		_, stdout, _ := run(t, rcookie, "rabbitmq", rmq.Name)
		return strings.Contains(stdout, "/      big    classic  3000") && strings.Contains(stdout, "/      small  classic  3 ")
	}, time.Minute, 200*time.Millisecond, "the statistics of both queues")

	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"rabbitmq", []string{rcookie, "rabbitmq", rmq.Name}, 0, []string{
			"RabbitMQ " + rmq.Name, "1 vhosts, 2 queues in the cluster", "resource alarms: none", "queues on this node: 2 scanned, read from RabbitMQ's statistics tables",
			"VHOST  QUEUE  TYPE     MESSAGES  READY  UNACKED  CONSUMERS  MEMORY\n/      big    classic  3000      3000   0        0"}},
		{"rabbitmq top 1 by messages", []string{rcookie, "rabbitmq", rmq.Name, "-n", "1"}, 0, []string{"/      big"}},
		{"mnesia of RabbitMQ", []string{rcookie, "mnesia", rmq.Name}, 0, []string{"rabbit_queue ", "disc_copies", rmq.Name}},
		{"ejabberd", []string{ecookie, "ejabberd", ejd.Name}, 0, []string{"0 online sessions", "localhost  0"}},
		{"not RabbitMQ", []string{ecookie, "rabbitmq", ejd.Name}, 1, []string{"RabbitMQ is not running on this node (no process registered as rabbit_sup)"}},
		{"bad ranking", []string{rcookie, "rabbitmq", rmq.Name, "--by", "colour"}, 2, []string{"colour"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tc.args...)
			require.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", stdout, stderr)
			for _, w := range tc.want {
				require.Contains(t, stdout+stderr, w)
			}
		})
	}
	// "small" is not among the top 1.
	_, stdout, _ := run(t, rcookie, "rabbitmq", rmq.Name, "-n", "1")
	require.False(t, strings.Contains(stdout, "small"), stdout)

	var r struct {
		Node string `json:"node"`
		Scan struct {
			Top []struct {
				Name  string `json:"name"`
				Ready int64  `json:"messages_ready"`
			} `json:"top"`
		} `json:"queue_scan"`
	}
	runJSON(t, &r, rcookie, "rabbitmq", rmq.Name, "-n", "1")
	require.Equal(t, rmq.Name, r.Node)
	require.Len(t, r.Scan.Top, 1)
	require.Equal(t, "big", r.Scan.Top[0].Name)
	require.Equal(t, int64(3000), r.Scan.Top[0].Ready)

	var e struct {
		Sessions   int64            `json:"sessions"`
		Registered map[string]int64 `json:"registered_users"`
	}
	runJSON(t, &e, ecookie, "ejabberd", ejd.Name)
	require.Equal(t, map[string]int64{"localhost": 0}, e.Registered)
}
