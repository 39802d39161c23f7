#!/usr/bin/env bash
# The demo: a Go function (aws-lambda-go) with a telemetry-recording
# extension, run through the Lambda lifecycle in the local sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/task" "$work/layer/extensions"
CGO_ENABLED=0 go build -o "$work/task/bootstrap" ./internal/fixtures/plainfunc
CGO_ENABLED=0 go build -o "$work/layer/extensions/recorder" ./internal/fixtures/recorder
echo '{"action":"print","lines":2}' > "$work/event.json"

echo "== three invocations (a cold start, then warm ones with 200 ms freezes between them)"
./bin/lambdaotel run --task-root "$work/task" --layer "$work/layer" \
  --function-name demo --env REC_OUT="$work/recorded.jsonl" --env REC_WAIT_RUNTIME_DONE=1 \
  --event "$work/event.json" --repeat 3 --freeze-min 200ms --report "$work/report.jsonl" >/dev/null

echo
echo "== the sandbox's report (one JSON line per init, invocation and shutdown)"
cat "$work/report.jsonl"
echo
echo "== Telemetry API events the extension received, in order"
grep '"kind":"telemetry"' "$work/recorded.jsonl" | grep -o '"type":"[a-zA-Z.]*"' | cut -d'"' -f4 | uniq -c
