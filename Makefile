# dcskit: every check CI runs is `make test`.
GO ?= go
# The interop module proves compatibility with the official SDK; it has its
# own go.mod so that the main module never depends on that SDK.
MODULES := . interop

.PHONY: all generate check-generated fmt-check vet tidy-check drill test bench soak attack

all: test

# generate rewrites everything that mirrors openapi/: gen/ and dcs/spec.gen.go.
generate:
	$(GO) generate ./...

check-generated:
	./scripts/check-generated.sh

# fmt-check works in a git checkout or not: it looks at every .go file
# below here, and fails if gofmt itself fails.
fmt-check:
	@out=$$(gofmt -l .) || { echo "gofmt failed" >&2; exit 1; }; \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# vet sees the tagged tests too (make drill, make attack), so that they
# cannot rot between the runs that use them.
vet:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) vet -tags drill,attack,scale ./...); done

tidy-check:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) mod tidy -diff); done

# drill adds a status to the spec in a copy of the tree and proves that
# `make generate` alone carries it everywhere (scripts/drill.sh).
drill:
	./scripts/drill.sh

test: check-generated fmt-check vet tidy-check
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) test -race -count=1 ./...); done
	@$(MAKE) --no-print-directory drill

# bench runs every benchmark of both modules BENCH_COUNT times, and
# benchstat prints their medians side by side: each comparison is a
# benchmark with sub-benchmarks /impl=<peer> and /impl=<ours>, the peer
# first, so that the column "vs base" is ours against the peer, measured in
# the same run (-count repeats a benchmark with its sub-benchmarks, so the
# two take turns as the shared machine's load drifts). docs/performance.md
# reports the table.
BENCH_COUNT ?= 6
BENCHSTAT := golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
bench:
	@set -e; out=$$(mktemp); trap 'rm -f $$out' EXIT; \
	for m in $(MODULES); do \
		(cd $$m && $(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) ./...) | tee -a $$out; \
	done; \
	echo; $(GO) run $(BENCHSTAT) -col /impl $$out

# soak is the load test at 10 times its CI size, under -race.
soak:
	DCSKIT_SOAK=10 $(GO) test -race -count=1 -run '^TestLoad$$' -v -timeout 30m ./server/

# attack reruns the memory attacks of issue 10 against a real `dcskit
# serve` on 127.0.0.1 and logs its peak RSS (VmHWM) and the slowest query
# during each attack (internal/attack). Not part of CI: a few minutes, and
# up to 1.5 GB of memory.
attack:
	@set -e; dir=$$(mktemp -d); trap 'rm -rf $$dir' EXIT; \
	$(GO) build -o $$dir/dcskit ./cmd/dcskit; \
	DCSKIT_BIN=$$dir/dcskit $(GO) test -tags attack -count=1 -v -timeout 30m ./internal/attack

# scale measures `dcskit exporter --all-projects` at account scale (issue
# 18): BenchmarkAccountScale (internal/scale) runs a real `dcskit serve`
# of 100, 1,000 and 5,000 projects whose every DCS call takes 300ms, and
# reports the time until every target has fresh data, against
# N·D/max-in-flight, the slowest /metrics answer and the peak RSS. Not
# part of CI: about 5 minutes. SCALE=N=1000 runs one size.
.PHONY: scale
SCALE ?= .
scale:
	@set -e; dir=$$(mktemp -d); trap 'rm -rf $$dir' EXIT; \
	$(GO) build -o $$dir/dcskit ./cmd/dcskit; \
	DCSKIT_BIN=$$dir/dcskit $(GO) test -tags scale -run '^$$' -bench 'AccountScale/$(SCALE)$$' -benchtime 1x -timeout 30m ./internal/scale
