# dcskit: every check CI runs is `make test`.
GO ?= go
# The interop module proves compatibility with the official SDK; it has its
# own go.mod so that the main module never depends on that SDK.
MODULES := . interop

.PHONY: all generate check-generated fmt-check vet tidy-check test bench

all: test

generate:
	$(GO) generate ./...

check-generated:
	./scripts/check-generated.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) vet ./...); done

tidy-check:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) mod tidy -diff); done

test: check-generated fmt-check vet tidy-check
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) test -race -count=1 ./...); done

bench:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) test -run '^$$' -bench . -benchmem ./...); done
