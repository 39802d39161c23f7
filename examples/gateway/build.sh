#!/bin/sh
# build.sh builds the gateway collector of examples/gateway/builder-config.yaml
# with the OpenTelemetry Collector's own builder (ocb, pinned below, from the
# Go module proxy) and caches it:
#
#	examples/gateway/build.sh                     # build or check, then print the binary's path
#	LAMBDAOTEL_GATEWAY_CACHE=DIR build.sh         # cache somewhere else (default: examples/gateway/.cache)
#
# It prints the path of the collector binary on stdout. It is idempotent:
# a binary built from the same manifest, builder and Go is kept as it is.
# CI runs it before the tests; the gateway and scale tests use the binary
# it leaves (examples/gateway/.cache/lambdaotel-gateway).
set -eu

builder_version=v0.161.0

here=$(cd "$(dirname "$0")" && pwd)
cache=${LAMBDAOTEL_GATEWAY_CACHE:-$here/.cache}
manifest=$here/builder-config.yaml
bin=$cache/lambdaotel-gateway

fail() {
	echo "gateway build: $*" >&2
	exit 1
}

command -v go >/dev/null 2>&1 || fail "go is not installed (the builder is a Go program and builds Go code)"
[ -f "$manifest" ] || fail "no builder manifest at $manifest"

# One build at a time (tests and CI may start together).
mkdir -p "$cache"
if [ -z "${LAMBDAOTEL_GATEWAY_LOCKED:-}" ] && command -v flock >/dev/null 2>&1; then
	LAMBDAOTEL_GATEWAY_LOCKED=1 exec flock "$cache/.build.lock" "$0" "$@"
fi

# The stamp names what the binary was built from.
stamp="manifest=$(sha256sum <"$manifest" | cut -c1-16) builder=$builder_version $(go env GOVERSION GOOS GOARCH | tr '\n' ' ')"
if [ -x "$bin" ] && [ -f "$cache/.stamp" ] && [ "$(cat "$cache/.stamp")" = "$stamp" ]; then
	echo "$bin"
	exit 0
fi

# The builder itself, at its pinned version.
builder=$cache/tools/builder
if [ ! -x "$builder" ] || ! "$builder" version 2>&1 | grep -q "${builder_version#v}"; then
	echo "gateway build: installing go.opentelemetry.io/collector/cmd/builder@$builder_version" >&2
	GOBIN=$cache/tools GOFLAGS= go install "go.opentelemetry.io/collector/cmd/builder@$builder_version" ||
		fail "go install go.opentelemetry.io/collector/cmd/builder@$builder_version failed"
fi

# Build in a fresh directory and move the binary into place when it works,
# so that an interrupted build never leaves a half-built collector.
work=$(mktemp -d "$cache/build.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT
sed "s#^\(  output_path:\).*#\1 $work/src#" "$manifest" >"$work/builder-config.yaml"
grep -q "output_path: $work/src" "$work/builder-config.yaml" || fail "$manifest has no dist.output_path line to point at the build directory"
echo "gateway build: building the collector of $manifest (a few minutes the first time)" >&2
(cd "$work" && GOFLAGS= "$builder" --config "$work/builder-config.yaml" --ldflags "-s -w") >"$work/build.log" 2>&1 || {
	tail -40 "$work/build.log" >&2
	fail "the builder failed on $manifest (log above)"
}
[ -x "$work/src/lambdaotel-gateway" ] || fail "the builder left no binary at $work/src/lambdaotel-gateway"
"$work/src/lambdaotel-gateway" components >"$work/components.txt" 2>&1 || fail "the built collector does not run: $(cat "$work/components.txt")"
for c in otlp batch memory_limiter tail_sampling otlp_grpc otlp_http file health_check; do
	grep -q "name: $c\$" "$work/components.txt" || fail "the built collector lacks the $c component"
done
mv "$work/src/lambdaotel-gateway" "$bin"
echo "$stamp" >"$cache/.stamp"
echo "$bin"
