// Command beamctl operates and debugs Erlang/Elixir (BEAM) clusters from a
// hidden node. See the README.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/beamctl/beamctl/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
