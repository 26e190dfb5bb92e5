#!/usr/bin/env bash
# Fails when gen/ is not exactly what `go generate ./...` makes of openapi/:
# a hand edit in gen/, a spec change without regeneration, or a hand-written
# Go file in gen/. It leaves the regenerated files in place, so after a
# failure `git diff gen/` shows what regeneration changed.
set -euo pipefail
cd "$(dirname "$0")/.."

before=$(mktemp -d)
trap 'rm -rf "$before"' EXIT
cp -a gen/. "$before/"

# Generated files are removed first, so one the generator no longer makes
# shows up as missing instead of lingering.
find gen -name '*.gen.go' -delete
go generate ./...

status=0
for f in $(find gen -name '*.go'); do
	if ! head -n 10 "$f" | grep -q '^// Code generated .* DO NOT EDIT\.$'; then
		echo "check-generated: $f is not generated; gen/ holds generated code and its configs only" >&2
		status=1
	fi
done
if ! diff -r "$before" gen >&2; then
	echo "check-generated: gen/ differs from what 'go generate ./...' makes of openapi/ (diff above: < committed, > regenerated)" >&2
	status=1
fi
exit $status
