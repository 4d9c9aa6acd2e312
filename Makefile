# bankcore developer entry points. `make help` lists them.
#
# Tools we build from source (nothing prebuilt can be downloaded here) go to
# the directory `go install` uses: $(go env GOBIN), else $(go env GOPATH)/bin.
# They live outside the repository so every checkout reuses them.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO ?= go
GOBIN_DIR := $(shell gobin=$$($(GO) env GOBIN); if [ -n "$$gobin" ]; then echo "$$gobin"; \
	else echo "$$($(GO) env GOPATH | cut -d: -f1)/bin"; fi)

# Temporal CLI with its embedded dev server. Later tags do not `go install`
# (a replace directive in their go.mod); keep in step with
# internal/localtemporal.CLIVersion.
TEMPORAL_VERSION := 1.5.1
TEMPORAL := $(GOBIN_DIR)/temporal

# The production-shaped Temporal server (tools/temporal-cluster, a module of
# its own). Built from this checkout's sources; the binary carries a hash of
# them (and of the Go version) and is rebuilt when they change. With the
# Temporal CLI built first, most of the server is already in the build cache.
TEMPORAL_CLUSTER := $(GOBIN_DIR)/temporal-cluster
TEMPORAL_CLUSTER_DIR := tools/temporal-cluster

# Newest golangci-lint v2 known to build with Go 1.26.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(GOBIN_DIR)/golangci-lint

# Temporal's determinism checker for workflow code (its own module, newest
# release; built like golangci-lint).
WORKFLOWCHECK_VERSION := v0.6.0
WORKFLOWCHECK := $(GOBIN_DIR)/workflowcheck

TEST_TIMEOUT ?= 40m
# A count, not a duration: a duration-based -fuzztime can fail with a bare
# "context deadline exceeded" at its end on a busy machine (golang/go#75804,
# fixed in Go 1.27); an execution count has no deadline to race.
FUZZTIME ?= 100000x
# Fuzz targets run briefly by `make test`, as package:FuzzFunc. Add more here.
FUZZ_TARGETS := \
	./bank:FuzzParseMoney \
	./bank:FuzzNormalizeKYC \
	./bank:FuzzNormalizeEmail \
	./bank:FuzzNormalizePhone \
	./api:FuzzDecodeJSON \
	./internal/strictjson:FuzzCheck

# built_from BINARY MODULE VERSION: true when BINARY was built by
# `go install MODULE/...@VERSION` (read from the Go build info).
# No `grep -q` in pipes here: it would exit at the first match, the writer
# would die of SIGPIPE, and pipefail would turn a match into a failure.
built_from = $(GO) version -m "$(1)" 2>/dev/null | grep -E '^[[:space:]]+mod[[:space:]]+$(2)[[:space:]]+$(3)([[:space:]]|$$)' >/dev/null

.PHONY: help build devstack temporal temporal-cluster run test test-cluster vet vet-cluster fmt fmt-check fuzz-short lint lint-cluster golangci-lint workflowcheck verify clean bench bench-quick bench-store bench-statements chaos browser-deps screenshots

help:
	@echo "make build      build bin/bank"
	@echo "make run        build, then run everything locally (starts a Temporal dev server if none is running)"
	@echo "make test       gofmt, go vet, golangci-lint, workflowcheck, generated code current, all tests with -race, short fuzzing"
	@echo "make lint       golangci-lint $(GOLANGCI_LINT_VERSION), workflowcheck $(WORKFLOWCHECK_VERSION) and the gofmt check"
	@echo "make verify     checks that generated and formatted code is up to date"
	@echo "make bench      the whole system and its ceilings in one run (~9 min): docs/BENCHMARKS.md, docs/img/bench-*.png"
	@echo "make bench-quick the same in under 3 minutes"
	@echo "make bench-store the ledger store against pgbench"
	@echo "make bench-statements balance at a time and 12-month statements on 1,000,000 entries (also in make bench)"
	@echo "make chaos      fault runs: every part killed and restarted twice, invariants checked (~6 min)"
	@echo "make temporal   build the Temporal CLI $(TEMPORAL_VERSION) into $(GOBIN_DIR) (first time only)"
	@echo "make screenshots the console's screens in docs/img (a browser run against a bank it starts)"
	@echo "make temporal-cluster  build the production-shaped Temporal server into $(GOBIN_DIR) (when its sources change)"
	@echo "make clean      remove bin/"

build:
	$(GO) build -o bin/bank ./cmd/bank

devstack:
	$(GO) build -o bin/devstack ./cmd/devstack

# The check is in the recipe, not a file target: the binary lives outside the
# repository and a wrong version must be replaced too.
temporal:
	@if $(call built_from,$(TEMPORAL),github.com/temporalio/cli,v$(TEMPORAL_VERSION)) \
		|| "$(TEMPORAL)" --version 2>/dev/null | grep 'version $(TEMPORAL_VERSION) ' >/dev/null; then \
		exit 0; \
	fi; \
	echo "building the Temporal dev server (first time only, takes ~10 minutes on 2 cores)..."; \
	$(GO) install -v github.com/temporalio/cli/cmd/temporal@v$(TEMPORAL_VERSION); \
	echo "installed $(TEMPORAL)"

# The hash covers what goes into the binary: the module's non-test sources,
# go.mod, go.sum, embedded files and the Go version. The build writes a
# temporary file and renames it, so checkouts building at once never leave a
# half-written binary.
temporal-cluster:
	@hash=$$( { $(GO) version; cd $(TEMPORAL_CLUSTER_DIR) && find . -type f \( -name '*.go' ! -name '*_test.go' \
		-o -name go.mod -o -name go.sum -o -name '*.txt' \) | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -c1-16 ); \
	if [ "$$("$(TEMPORAL_CLUSTER)" version 2>/dev/null | sed -n 's/^temporal-cluster source=\([^ ]*\).*/\1/p')" = "$$hash" ]; then \
		exit 0; \
	fi; \
	echo "building temporal-cluster $$hash into $(GOBIN_DIR)..."; \
	mkdir -p "$(GOBIN_DIR)"; \
	tmp="$(TEMPORAL_CLUSTER).tmp.$$$$"; \
	(cd $(TEMPORAL_CLUSTER_DIR) && $(GO) build -ldflags "-X main.sourceHash=$$hash" -o "$$tmp" .) || { rm -f "$$tmp"; exit 1; }; \
	mv -f "$$tmp" "$(TEMPORAL_CLUSTER)"; \
	echo "installed $(TEMPORAL_CLUSTER)"

# bin/devstack checks PostgreSQL, RabbitMQ and Redis, starts a Temporal dev
# server when none answers on TEMPORAL_ADDRESS, runs `bin/bank migrate` and
# `bin/bank operator create`, then `bin/bank all` until Ctrl-C.
run: build devstack temporal
	./bin/devstack

test: temporal temporal-cluster fmt-check vet lint verify browser-deps
	BANK_BROWSER_TESTS=1 $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...
	@$(MAKE) --no-print-directory test-cluster
	@$(MAKE) --no-print-directory fuzz-short

# The cluster's tests run the binary `make temporal-cluster` has just built
# from these sources (a test run without it builds its own). Only packages
# with tests are named: `go test -race` builds a package without tests too,
# and for the main package that is the whole server, race-instrumented.
test-cluster: temporal-cluster
	cd $(TEMPORAL_CLUSTER_DIR) && pkgs=$$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...) && \
		TEMPORAL_CLUSTER_BIN="$(TEMPORAL_CLUSTER)" $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $$pkgs

vet: vet-cluster
	$(GO) vet ./...

# tools/ holds modules of their own, which ./... at the root does not reach.
vet-cluster:
	cd $(TEMPORAL_CLUSTER_DIR) && $(GO) vet ./...

fmt:
	gofmt -w .

fmt-check:
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt needed on:"; echo "$$unformatted"; echo "run: make fmt"; exit 1; \
	fi

fuzz-short:
	@for target in $(FUZZ_TARGETS); do \
		pkg=$${target%%:*}; fn=$${target#*:}; \
		if ! $(GO) test -list="^$$fn\$$" "$$pkg" | grep -x "$$fn" >/dev/null; then \
			echo "fuzz target $$fn not found in $$pkg (FUZZ_TARGETS)"; exit 1; \
		fi; \
		echo "fuzzing $$fn in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) "$$pkg"; \
	done

golangci-lint:
	@if ! $(call built_from,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2,$(GOLANGCI_LINT_VERSION)); then \
		echo "installing golangci-lint $(GOLANGCI_LINT_VERSION) into $(GOBIN_DIR)..."; \
		$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION); \
	fi

workflowcheck:
	@if ! $(call built_from,$(WORKFLOWCHECK),go.temporal.io/sdk/contrib/tools/workflowcheck,$(WORKFLOWCHECK_VERSION)); then \
		echo "installing workflowcheck $(WORKFLOWCHECK_VERSION) into $(GOBIN_DIR)..."; \
		$(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION); \
	fi

lint-cluster: golangci-lint
	cd $(TEMPORAL_CLUSTER_DIR) && "$(GOLANGCI_LINT)" run --allow-serial-runners --config ../../.golangci.yml ./...

lint: fmt-check golangci-lint workflowcheck lint-cluster
	"$(GOLANGCI_LINT)" run --allow-serial-runners ./...
	"$(WORKFLOWCHECK)" ./workflows/...

# Generated code must be what the generator makes from the schema: the files
# are hashed before and after generating, so uncommitted work in progress is
# judged by what it is, not by git.
verify: fmt-check vet
	@hashes() { find api/graph -type f -name '*.go' -print0 | sort -z | xargs -0 sha256sum; }; \
	before=$$(hashes); \
	(cd api/graph && $(GO) generate ./...); \
	if [ "$$before" != "$$(hashes)" ]; then \
		git diff --stat -- api/graph; \
		echo "api/graph: the generated code was stale (now regenerated); review and commit it"; exit 1; \
	fi

clean:
	rm -rf bin/

# Benchmarks start their own stack on free ports; results go to
# bench/results/ (not committed) and docs/BENCHMARKS.md.
bench: temporal
	$(GO) run ./bench/cmd/bench $(BENCH_FLAGS)
	$(GO) run ./bench/cmd/benchstatement

# Balances in time and statements on an account with 1,000,000 entries.
bench-statements: temporal
	$(GO) run ./bench/cmd/benchstatement $(BENCH_STATEMENT_FLAGS)

bench-quick: temporal
	$(GO) run ./bench/cmd/bench -quick $(BENCH_FLAGS)

bench-store:
	$(GO) run ./bench/cmd/benchstore -duration 10s $(BENCH_FLAGS)

# Fault runs on private PostgreSQL, RabbitMQ, Redis and Temporal instances
# (never the machine's own); `make test` runs the short version.
chaos: build temporal
	$(GO) run ./cmd/chaos -bank bin/bank $(CHAOS_FLAGS)

# The console's browser tests (console/browsertest) drive Debian's Chromium
# with playwright-core: install what is missing. Chromium comes from apt
# (npm's browser downloads do not work here); the npm packages from the
# committed package-lock.json, again whenever it changes.
CHROMIUM ?= /usr/bin/chromium
BROWSERTEST := console/browsertest

browser-deps:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		echo "installing Debian's chromium for the browser tests..."; \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium >/dev/null; \
	fi
	@command -v node >/dev/null && command -v npm >/dev/null || \
		{ echo "the browser tests need Node.js 20+ and npm (apt-get install nodejs npm)"; exit 1; }
	@want=$$(sha256sum $(BROWSERTEST)/package-lock.json | cut -d' ' -f1); \
	if [ "$$(cat $(BROWSERTEST)/node_modules/.lock-sha256 2>/dev/null)" != "$$want" ]; then \
		echo "installing the browser tests' npm packages (npm ci)..."; \
		(cd $(BROWSERTEST) && npm ci --no-audit --no-fund --loglevel=error) && \
		echo "$$want" > $(BROWSERTEST)/node_modules/.lock-sha256; \
	fi

# Screenshots of the console's main screens and the playground, from the
# browser test's scenario, into docs/img (shown in the README); -v prints each
# step and the first load's measured size.
screenshots: temporal browser-deps
	BANK_BROWSER_TESTS=1 BANK_SCREENSHOTS=$(CURDIR)/docs/img $(GO) test -v -count=1 -run '^TestConsoleInChromium$$' ./$(BROWSERTEST)
