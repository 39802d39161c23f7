#!/bin/sh
# awssdk.sh measures the cost per AWS SDK for Go v2 call of
# lambdaotel.InstrumentAWS next to the deprecated otelaws and the SDK alone
# (the benchmarks of bench/contrib/otelaws_test.go) and writes the section
# bench-awssdk of bench/results.md (make bench-awssdk):
#   - time and allocations: COUNT rounds (default 10), each running every
#     library once, summarised by benchstat;
#   - instructions: valgrind --tool=callgrind on the same test binary,
#     which counts the instructions of all its threads (GC included)
#     deterministically whatever else the machine runs; per call is
#     (Ir at N2 calls - Ir at N1 calls) / (N2 - N1), which cancels start-up,
#     set-up and the first (plan-building) call.
set -eu
COUNT=${COUNT:-10}
CALLS=${CALLS:-5000}
N1=${N1:-200}
N2=${N2:-1200}
BENCHSTAT=${BENCHSTAT:-golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da}
GO=${GO:-go}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$root/bench/contrib" && $GO test -c -o "$tmp/awssdk.test" .)
cd "$tmp"
benches='SQSSendMessage DynamoDBGetItem'
libs='aws-sdk-go-v2 otelaws lambdaotel'

i=0
while [ "$i" -lt "$COUNT" ]; do
	./awssdk.test -test.run '^$' -test.bench '^Benchmark(SQSSendMessage|DynamoDBGetItem)$/' \
		-test.benchtime "${CALLS}x" -test.benchmem >>bench.txt
	i=$((i + 1))
done
$GO run "$BENCHSTAT" -col /lib bench.txt >benchstat.txt

command -v valgrind >/dev/null || { echo "awssdk.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
ir() { # bench lib calls GOGC -> instructions of the whole run
	GOGC=$4 GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		./awssdk.test -test.run '^$' -test.bench "^Benchmark$1\$/^lib=$(echo "$2" | sed 's/+/\\+/')\$" -test.benchtime "$3x" >cg.log 2>&1 ||
		{ cat cg.log >&2; exit 1; }
	sed -n 's/.*Collected : \([0-9]*\).*/\1/p' cg.log
}
: >ir.txt
for b in $benches; do
	l2=$libs
	[ "$b" = SQSSendMessage ] && l2="$libs aws-sdk-go-v2+context"
	for l in $l2; do
		line="$b $l"
		for gc in off 100; do
			a=$(ir "$b" "$l" "$N1" "$gc")
			c=$(ir "$b" "$l" "$N2" "$gc")
			line="$line $(((c - a) / (N2 - N1)))"
		done
		echo "$line" >>ir.txt
	done
done

valgrind_version=$(valgrind --version)
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
{
	cat <<HEAD
## AWS SDK for Go v2 calls: lambdaotel.InstrumentAWS next to the deprecated otelaws

Machine: $cpu, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) when written, $($GO env GOOS)/$($GO env GOARCH), $($GO env GOVERSION)  
Date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  
Command: \`make bench-awssdk\` (bench/awssdk.sh: COUNT=$COUNT CALLS=$CALLS N1=$N1 N2=$N2)

One call with aws-sdk-go-v2 through an in-process transport that answers as
the service does (no network), inside a sampled parent span, spans ended
into a no-op exporter (bench/contrib/otelaws_test.go). otelaws is the
deprecated contrib module (in bench/contrib, a module of its own, never in
the library's go.mod) with the W3C propagator; lambdaotel adds the X-Ray
header and, on SendMessage, the \`traceparent\` message attribute and the
\`AWSTraceHeader\` system attribute, which otelaws does not. The row
aws-sdk-go-v2+context is the SDK alone sending a message that already has
those two attributes (set by the caller, the same maps every call): what
carrying the context costs the SDK itself.

Instructions per call: valgrind --tool=callgrind ($valgrind_version) on
the same test binary for every library, all threads of the process
counted, GOMAXPROCS=1 and GODEBUG=asyncpreemptoff=1 (so that no idle
thread spins and no timer signal interrupts: repeated runs agree within
0.2 % with GOGC=off and within 3 % with GOGC=100, where the collector's
pacing still varies); (instructions of a run of $N2 calls - those of a run of $N1 calls)
/ $((N2 - N1)), so that start-up, set-up and the first call fall out. Once with
GOGC=off (the call's own instructions) and once with the default GOGC=100
(the garbage collector's work for what the call allocated included, as in
a function: the heap of this benchmark is small, as a Lambda function's
often is, so the collector runs every few hundred calls).

| call | library | instructions per call, GOGC=off | over the SDK alone | instructions per call, GOGC=100 | over the SDK alone |
| --- | --- | ---: | ---: | ---: | ---: |
HEAD
	for b in $benches; do
		awk -v b="$b" '$1==b && $2=="aws-sdk-go-v2" {o=$3; g=$4} $1==b {printf "| %s | %s | %d | %+d (%+.1f %%) | %d | %+d (%+.1f %%) |\n", b, $2, $3, $3-o, 100*($3-o)/o, $4, $4-g, 100*($4-g)/g}' ir.txt
	done
	cat <<MID

Time and allocations: $COUNT rounds, each running every library's
benchmark once for $CALLS calls (so that the load of other processes falls
on all of them alike), summarised by benchstat (median, 95 % confidence
interval):

\`\`\`
MID
	cat benchstat.txt
	echo '```'
} >section.md
cd "$root" && $GO run ./bench -section "bench-awssdk=$tmp/section.md"
cat "$tmp/section.md"
