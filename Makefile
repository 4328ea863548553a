# beamctl — the two commands of the README:
#   make demo   sets up and runs a local demo cluster watched by beamctl
#   make test   sets up and runs every test (real OTP nodes, fuzzing)

export PATH := $(PATH):/usr/local/go/bin
GO        ?= go
FUZZTIME  ?=
DEMO_ARGS ?=
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps ui build demo test vet style fuzz bench bench-scale bench-deploy generate screenshots clean

all: build

# deps installs from Debian what is missing: erlang-nox for the nodes,
# erlang-src for the OTP 26 flag emulation the tests use, prometheus for
# promtool, which lints the metrics exposition in the tests, rsyslog, the
# real syslog receiver of the export tests, prometheus-alertmanager, the
# real Alertmanager of the alarm tests, and faketime, which moves the wall
# clock of a test node (the time_drift alarm), qemu-user, whose qemu-arm
# runs the 32-bit tests where the kernel cannot run 386 binaries, chromium,
# the real browser of the web UI's tests, npm, which fetches the UI's
# two packages (uPlot; axe-core for the tests), pinned by package-lock.json,
# elixir, whose runtime the Elixir nodes of the tests run, and
# rabbitmq-server and ejabberd, the products the product views are tested
# against (the tests start their own brokers and nodes; the packages'
# services are not needed).
deps:
	@command -v $(GO) >/dev/null || { echo "Go is not installed (need Go >= 1.26): https://go.dev/dl/"; exit 1; }
	@if ! command -v erl >/dev/null || ! ls /usr/lib/erlang/lib/kernel-*/src/inet_tcp_dist.erl >/dev/null 2>&1 \
		|| ! command -v promtool >/dev/null || ! test -x /usr/sbin/rsyslogd || ! command -v prometheus-alertmanager >/dev/null \
		|| ! ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1 || ! command -v qemu-arm >/dev/null \
		|| ! command -v chromium >/dev/null || ! command -v npm >/dev/null || ! command -v elixir >/dev/null \
		|| ! test -x /usr/lib/rabbitmq/bin/rabbitmq-server || ! ls /usr/lib/*/ejabberd-*/ebin/ejabberd.app >/dev/null 2>&1; then \
		echo "Installing erlang-nox, erlang-src, prometheus (for promtool), rsyslog, prometheus-alertmanager, faketime, qemu-user, chromium, npm, elixir, rabbitmq-server and ejabberd with apt-get..."; \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends erlang-nox erlang-src prometheus rsyslog prometheus-alertmanager faketime qemu-user chromium fonts-dejavu-core elixir rabbitmq-server ejabberd \
			$$(command -v npm >/dev/null || echo nodejs npm); \
	fi

# ui bundles the web UI (internal/ui/src → internal/ui/dist, embedded in the
# binary) with esbuild's Go API, after npm ci has fetched uPlot and axe-core.
ui:
	@command -v npm >/dev/null || { echo "npm is not installed (make deps installs it)"; exit 1; }
	@[ internal/ui/node_modules/.package-lock.json -nt internal/ui/package-lock.json ] || npm ci --prefix internal/ui --no-audit --no-fund
	$(GO) run ./internal/ui/build -dir internal/ui

build: ui
	$(GO) build -o bin/beamctl ./cmd/beamctl

demo: deps build
	./bin/beamctl demo $(DEMO_ARGS)

style:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

test: deps ui style vet
	BEAMCTL_REQUIRE_ERLANG=1 $(GO) test -race -count=1 -timeout 20m ./...
	# serve against 1,000 simulated nodes, without -race (internal/sim/serve1000_test.go says why).
	BEAMCTL_REQUIRE_ERLANG=1 $(GO) test -count=1 -timeout 10m -run '^TestServe1000$$' -v ./internal/sim
	# The codecs also on a 32-bit build (int and pointer sizes differ): 386, or
	# 32-bit ARM under qemu-arm where the kernel cannot run 386 binaries.
	GO=$(GO) ./scripts/test32 ./internal/etf ./internal/termtext
	# Every benchmark once, so that none rots unseen (figures: docs/benchmarks.md).
	BEAMCTL_REQUIRE_ERLANG=1 $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 20m ./...
	$(MAKE) fuzz

# bench-scale measures the scale curve of docs/scale.md: beamctl serve
# against 100 to 20,000 simulated nodes, and Debian's prometheus scraping
# as many targets in the same run (about 40 minutes; BEAMCTL_SCALE_NODES,
# BEAMCTL_SCALE_WINDOW and BEAMCTL_SCALE_OUT change it).
bench-scale: deps ui
	BEAMCTL_SCALE_NODES=$${BEAMCTL_SCALE_NODES:-100,1000,5000,20000} BEAMCTL_SCALE_WINDOW=$${BEAMCTL_SCALE_WINDOW:-60s} \
		BEAMCTL_SCALE_OUT=$${BEAMCTL_SCALE_OUT:-$(CURDIR)/scale-curve.md} \
		$(GO) test -run '^$$' -bench '^BenchmarkScaleCurve$$' -benchtime 1x -timeout 3h -v ./internal/sim

# screenshots refreshes the web UI's screenshots in docs/ui (the README
# shows them) by running the browser tests.
screenshots: deps ui
	BEAMCTL_SCREENSHOTS=$(CURDIR)/docs/ui BEAMCTL_REQUIRE_ERLANG=1 $(GO) test -count=1 -timeout 20m ./internal/uitest

# fuzz runs every fuzz target for a short, bounded time.
# fuzz runs each fuzzer for a number of executions (about 20 s each on a
# 2-core machine), not for a duration: a -fuzztime duration races Go 1.26's
# fuzz coordinator at its deadline (go.dev/issue/75804, fixed in Go 1.27),
# which then fails a fuzzer that found nothing with "context deadline
# exceeded". FUZZTIME=60s or FUZZTIME=1000x overrides every count.
fuzztime = $(if $(FUZZTIME),$(FUZZTIME),$(1))
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(call fuzztime,400000x) ./internal/etf
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(call fuzztime,150000x) ./internal/termtext
	$(GO) test -run '^$$' -fuzz '^FuzzFormatBounded$$' -fuzztime $(call fuzztime,150000x) ./internal/termtext
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeFrame$$' -fuzztime $(call fuzztime,100000x) ./internal/dist
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(call fuzztime,12000x) ./internal/config
	$(GO) test -run '^$$' -fuzz '^FuzzQuery$$' -fuzztime $(call fuzztime,30000x) ./internal/journal
	$(GO) test -run '^$$' -fuzz '^FuzzParseBeam$$' -fuzztime $(call fuzztime,80000x) ./internal/deploy

# bench-deploy measures a slow-roll deploy of 10 modules to 6 and to 100
# real nodes against beamctl load node by node (docs/deploy.md).
bench-deploy: deps ui
	for n in 6 100; do BEAMCTL_DEPLOY_NODES=$$n BEAMCTL_REQUIRE_ERLANG=1 \
		$(GO) test -run '^$$' -bench '^BenchmarkDeploy$$' -benchtime 1x -timeout 30m ./internal/cli || exit 1; done

# bench runs the benchmarks; docs/benchmarks.md records their results.
bench: deps ui
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./internal/etf ./internal/dist ./internal/collector
	# The overview's first paint with 200 real nodes against Prometheus' own UI.
	BEAMCTL_BENCH_NODES=200 BEAMCTL_REQUIRE_ERLANG=1 $(GO) test -run '^$$' -bench OverviewFirstPaint -benchtime 5x -timeout 30m ./internal/uitest

# generate rebuilds internal/inspect/beamctl_agent.beam from its source
# (with OTP 25, the oldest supported release).
generate: deps
	$(GO) generate ./...

clean:
	rm -rf bin
