#!/usr/bin/env bash
# The demo: a Go function (aws-lambda-go + the OpenTelemetry Go SDK) with the
# lambdaotel extension in a layer, run through the Lambda lifecycle in the
# local sandbox, exporting to the sink; then the traces the sink received.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
sink_pid=
cleanup() {
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building the function, the extension layer and the sink"
mkdir -p "$work/task" "$work/layer/extensions"
CGO_ENABLED=0 go build -o "$work/task/bootstrap" ./internal/fixtures/otelfunc
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$work/layer/extensions/lambdaotel" ./cmd/lambdaotel-extension
ls -l "$work/layer/extensions/lambdaotel" | awk '{printf "extension binary: %.1f MB\n", $5/1e6}'

./bin/lambdaotel sink --grpc 127.0.0.1:0 --http 127.0.0.1:0 --out "$work/sink.jsonl" 2>"$work/sink.log" &
sink_pid=$!
for _ in $(seq 100); do grep -q 'OTLP/HTTP on' "$work/sink.log" 2>/dev/null && break; sleep 0.05; done
sink_url=$(grep -o 'OTLP/HTTP on [^ ]*' "$work/sink.log" | cut -d' ' -f3)
echo "sink (the backend): $sink_url"

cat > "$work/config.yaml" <<YAML
receivers:
  telemetryapi:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:4318
processors:
  resource:
    attributes:
      - {key: deployment.environment.name, value: demo, action: upsert}
exporters:
  otlphttp:
    endpoint: $sink_url
service:
  pipelines:
    traces: {receivers: [otlp, telemetryapi], processors: [resource], exporters: [otlphttp]}
    metrics: {receivers: [otlp, telemetryapi], exporters: [otlphttp]}
    logs: {receivers: [otlp, telemetryapi], exporters: [otlphttp]}
YAML

run() {
  set +e
  ./bin/lambdaotel run --task-root "$work/task" --layer "$work/layer" --function-name demo \
    --env LAMBDAOTEL_CONFIG="$work/config.yaml" --env OTEL_SERVICE_NAME=demo \
    --env OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 \
    --freeze-min 200ms --report "$work/report.jsonl" "$@" >/dev/null 2>"$work/run.log"; grep -E "^(START|END|REPORT)|lambdaotel: (WARN|ERROR)" "$work/run.log"
}
echo
echo "== a cold start and two warm invocations (frozen 200 ms between them), then a failing one"
echo '{"spans":2,"logs":1}' > "$work/ok.json"
echo '{"spans":1,"fail":true}' > "$work/fail.json"
run --event "$work/ok.json" --event "$work/ok.json" --event "$work/ok.json" --event "$work/fail.json"

kill "$sink_pid"; wait "$sink_pid" 2>/dev/null || true; sink_pid=

echo
echo "== what reached the backend"
./bin/lambdaotel sink print "$work/sink.jsonl"

echo
echo "== what each invocation cost after the function's response (ms)"
echo "   postRuntimeMs: response -> the extension's event/next (billed); afterRuntimeDoneMs: the extension's own part"
grep '"type":"invoke"' "$work/report.jsonl" | sed -E 's/.*"requestId":"([^"]*)".*"postRuntimeMs":([0-9.]*)(,"afterRuntimeDoneMs":([0-9.]*))?.*/   \1  postRuntimeMs \2  afterRuntimeDoneMs \4/'

cat <<'TEXT'

What happened: the function sent its spans, metrics and logs over OTLP to the
lambdaotel extension on localhost; the extension also turned the Lambda
Telemetry API's events into a span per invocation ("demo", with the init span
of the cold start under the first), FaaS metrics and log records, and made the
function's root span ("handler") a child of it. After each invocation it waited
for the Telemetry API's runtimeDone, exported everything to the backend, and
only then let Lambda freeze the environment — so every trace above was at the
backend before the next invocation started, including the failing one. Most
of postRuntimeMs is the Telemetry API's own delivery delay (it buffers events
for up to 25 ms); the extension's work after runtimeDone is a fraction of a
millisecond.
TEXT
