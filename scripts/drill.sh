#!/usr/bin/env bash
# The drill: does one edit to openapi/dcs.yaml carry a new status through
# the whole toolkit? In a copy of the tree (the working tree is never
# touched), it adds deleting_count to StatusStatistic, a copy of
# restarting_count renamed, exactly as docs/regenerating.md says. Then it
# regenerates, and vets both modules (which compiles every package and
# every test), runs the tests of the documents and the vocabulary
# (openapi, dcs, internal/dcsgen), and drives the built binary
# (internal/drill): serve, status, the exporter, wait and the admin API
# must all know DELETING. The rest of the suite runs once, in `make
# test`, on the tree itself: it takes its statuses from package dcs.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
tar --exclude=./.git --exclude='./bin' -cf - . | tar -xf - -C "$work"
cd "$work"

# Copy the restarting_count property (its line and the more indented lines
# under it) and rename the copy.
awk '
	function emit(  copy) {
		copy = block
		gsub(/restarting_count/, "deleting_count", copy)
		gsub(/RESTARTING \(restarting\)/, "DELETING (being deleted)", copy)
		printf "%s", copy
		inblock = 0
	}
	!done && $0 == "        restarting_count:" { inblock = 1; done = 1; block = "" }
	inblock && $0 != "        restarting_count:" && $0 !~ /^          / { emit() }
	inblock { block = block $0 "\n" }
	{ print }
	END { if (inblock) emit() }
' openapi/dcs.yaml > openapi/dcs.yaml.new
mv openapi/dcs.yaml.new openapi/dcs.yaml
grep -q '^        deleting_count:$' openapi/dcs.yaml || { echo "drill: could not add deleting_count" >&2; exit 1; }
echo "drill: added to openapi/dcs.yaml:"
sed -n '/^        deleting_count:$/,/^    [A-Za-z]/p' openapi/dcs.yaml | sed '$d'

go generate ./...
go vet ./...
(cd interop && go vet ./...)
go test -count=1 ./openapi/ ./dcs/ ./internal/dcsgen/
go build -o "$work/bin/dcskit" ./cmd/dcskit
DCSKIT_BIN="$work/bin/dcskit" go test -count=1 -tags drill -run . ./internal/drill
