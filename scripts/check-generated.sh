#!/usr/bin/env bash
# Fails when a generated file is not exactly what `go generate ./...` makes
# of openapi/: a hand edit, a spec change without regeneration, a file the
# generators no longer make, or a hand-written Go file in gen/.
#
# It never touches the working tree: it regenerates in a copy, in a
# temporary directory, and compares. An interrupt leaves the tree as it
# was. `make generate` is what replaces the tracked files.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

# The module without its VCS data and build output.
tar --exclude=./.git --exclude='./bin' -cf - . | tar -xf - -C "$work"
# Generated files are removed in the copy first, so that one the
# generators no longer make shows up as missing instead of lingering.
find "$work" -name '*.gen.go' -delete -o -name '*.gen.yaml' -delete
(cd "$work" && go generate ./...)

status=0
for f in $(find gen -name '*.go'); do
	if ! head -n 10 "$f" | grep -q '^// Code generated .* DO NOT EDIT\.$'; then
		echo "check-generated: $f is not generated; gen/ holds generated code and its configs only" >&2
		status=1
	fi
done
committed=$(find . -path ./.git -prune -o \( -name '*.gen.go' -o -name '*.gen.yaml' \) -print | sort)
regenerated=$(cd "$work" && find . \( -name '*.gen.go' -o -name '*.gen.yaml' \) -print | sort)
if [ "$committed" != "$regenerated" ]; then
	echo "check-generated: the set of generated files differs (< in the tree, > regenerated):" >&2
	diff <(echo "$committed") <(echo "$regenerated") >&2 || true
	status=1
fi
for f in $regenerated; do
	if [ -f "$f" ] && ! diff -u "$f" "$work/$f" >&2; then
		echo "check-generated: $f differs from what 'go generate ./...' makes of openapi/ (run 'make generate')" >&2
		status=1
	fi
done
exit $status
