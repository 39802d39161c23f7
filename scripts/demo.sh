#!/usr/bin/env bash
# The demo: the example Go functions (aws-lambda-go + the lambdaotel
# library) with the lambdaotel extension in a layer, run through the Lambda
# lifecycle in the local sandbox — cold start, warm invocations with
# freezes, an error, a timeout, an SQS batch — exporting to the sink; then
# what the sink received, checked: the script fails, naming the likely
# cause, when something the functions reported did not reach the sink.
# DEMO_RUN_FLAGS adds flags to every lambdaotel run (e.g. --network host).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
sink_pid=
cleanup() {
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building the example functions and the extension layer"
mkdir -p "$work/pets" "$work/orders" "$work/layer/extensions"
CGO_ENABLED=0 go build -o "$work/pets/bootstrap" ./examples/apigateway
CGO_ENABLED=0 go build -o "$work/orders/bootstrap" ./examples/sqs
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$work/layer/extensions/lambdaotel" ./cmd/lambdaotel-extension
ls -l "$work/layer/extensions/lambdaotel" | awk '{printf "extension binary: %.1f MB\n", $5/1e6}'

./bin/lambdaotel sink --grpc 127.0.0.1:0 --http 127.0.0.1:0 --out "$work/sink.jsonl" 2>"$work/sink.log" &
sink_pid=$!
for _ in $(seq 100); do grep -q 'OTLP/HTTP on' "$work/sink.log" 2>/dev/null && break; sleep 0.05; done
sink_url=$(grep -o 'OTLP/HTTP on [^ ]*' "$work/sink.log" | cut -d' ' -f3)
echo "sink (the backend): $sink_url"
sink_port=${sink_url##*:}

# The extension's configuration: OTLP from the functions and the Telemetry
# API's platform telemetry, to the sink. It flushes before every freeze, so
# that each invocation's data is at the sink when the invocation ends.
cat > "$work/config.yaml" <<YAML
receivers:
  telemetryapi:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:4318
exporters:
  otlphttp:
    endpoint: $sink_url
service:
  pipelines:
    traces: {receivers: [otlp, telemetryapi], exporters: [otlphttp]}
    metrics: {receivers: [otlp, telemetryapi], exporters: [otlphttp]}
    logs: {receivers: [otlp, telemetryapi], exporters: [otlphttp]}
lambdaotel:
  self_telemetry: false
  flush:
    strategy: end
YAML

run() {
  local name=$1
  shift
  set +e
  ./bin/lambdaotel run --layer "$work/layer" --function-name "$name" --forward "$sink_port" ${DEMO_RUN_FLAGS:-} \
    --env LAMBDAOTEL_CONFIG="$work/config.yaml" --freeze-min 200ms \
    --report "$work/report.jsonl" "$@" >/dev/null 2>"$work/run-$name.log"
  set -e
  grep -E "^(START|REPORT)|Task timed out|WARN|ERROR|Extension\.|lambdaotel run:" "$work/run-$name.log" | sed 's/^/   /'
}

# why names the likely cause of data missing at the backend, from the
# environments' logs.
why() {
  local logs=("$work"/run-*.log)
  echo "why:" >&2
  if grep -qE "Extension\.(StartFailed|ConfigInvalid)" "${logs[@]}"; then
    echo "   the extension could not start:" >&2
    grep -hE "lambdaotel: ERROR" "${logs[@]}" | sort -u | head -2 | sed 's/^/     /' >&2
    if grep -q "address already in use" "${logs[@]}"; then
      echo "   another program on this machine holds the extension's port (a local collector, Jaeger?)," >&2
      echo "   and the environment shared this machine's network: stop that program, or give each" >&2
      echo "   environment a network of its own (as root, or where unprivileged user namespaces are allowed; without --network host)" >&2
    fi
  elif grep -qE "Telemetry API subscriber|lambdaotel: (WARN|ERROR)" "${logs[@]}"; then
    grep -hE "Telemetry API subscriber|lambdaotel: (WARN|ERROR)" "${logs[@]}" | sort -u | head -5 | sed 's/^/   /' >&2
  else
    echo "   nothing in the environments' logs says; their last lines:" >&2
    tail -n 5 "${logs[@]}" | sed 's/^/   /' >&2
  fi
}
ev=examples/apigateway/events
echo
echo "== pets (API Gateway): a cold start, warm invocations frozen 200 ms apart, a 404,"
echo "   a failing dependency (an error), a hanging one (a timeout), and one more after the reset"
run pets --task-root "$work/pets" --timeout 2s --event $ev/pet7.json --event $ev/pet42.json \
  --event $ev/pet7.json --event $ev/broken.json --event $ev/slow.json --event $ev/pet7.json
echo
echo "== orders (SQS): a batch of three messages, one of which fails"
run orders --task-root "$work/orders" --event examples/sqs/events/orders.json

kill "$sink_pid"; wait "$sink_pid" 2>/dev/null || true; sink_pid=

echo
echo "== what reached the backend"
./bin/lambdaotel sink print "$work/sink.jsonl"

echo
echo "== what each invocation cost after the function's response (ms)"
echo "   postRuntimeMs: response -> the extension's event/next (billed); afterRuntimeDoneMs: the extension's own part"
grep '"type":"invoke"' "$work/report.jsonl" | sed -E 's/.*"requestId":"([^"]*)","status":"([a-z]*)".*"postRuntimeMs":([0-9.]*)(,"afterRuntimeDoneMs":([0-9.]*))?.*/   \1  \2  postRuntimeMs \3  afterRuntimeDoneMs \5/'

# The self-check: the closing paragraph below is said only when it is true.
echo
echo "== checking what reached the backend"
if ! ./bin/lambdaotel sink check --trees pets=6 --trees orders=1 --metrics 10 --logs 8 "$work/sink.jsonl" | sed 's/^/   /'; then
  why
  echo "make demo: FAIL: the backend did not receive everything the functions reported (above)" >&2
  exit 1
fi

cat <<'TEXT'

What happened: each function ran as it would in Lambda — started, frozen
between invocations, reset after the timeout — with the lambdaotel extension
beside it. The functions' own spans, metrics and logs (from the lambdaotel Go
library) went over OTLP to the extension on localhost; the extension added
what the Lambda Telemetry API saw (a span per invocation named after the
function, the init span of each cold start, FaaS metrics, every log line) and
joined the functions' spans under it, so each invocation is one tree. It
exported all of it after each invocation and before Lambda could freeze the
environment, so every tree above was at the backend before the next
invocation began — including the failing one and the one that timed out, whose
span carries the error the function never got to report.
TEXT
