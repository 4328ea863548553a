package store_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/beamctl/beamctl/internal/store"
)

// Example stores two samples of a counter and asks PromQL for its per-second rate between them (irate).
func Example() {
	dir, _ := os.MkdirTemp("", "store-example")
	defer os.RemoveAll(dir)
	db, err := store.Open(dir, nil, nil, store.DefaultOptions())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	lbls := []store.Label{{Name: "__name__", Value: "erlang_vm_statistics_reductions_total"}, {Name: "node", Value: "a@host"}}
	_ = db.Append(ctx, []store.Sample{{Labels: lbls, Time: now.Add(-10 * time.Second), Value: 1000}})
	_ = db.Append(ctx, []store.Sample{{Labels: lbls, Time: now, Value: 6000}})
	res, err := db.Query(ctx, `irate(erlang_vm_statistics_reductions_total[1m])`, now)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Type, res.Series[0].Labels["node"], res.Series[0].Points[0].Value)
	// Output: vector a@host 500
}
