# lambdaotel: OpenTelemetry for AWS Lambda.
GO ?= go
BIN := bin

.PHONY: all build test test-go-min vet demo bench bench-latency scoreboard bench-lib bench-awssdk layers layer-nodejs bench-nodejs clean fuzz

all: build

## build: the lambdaotel command (sandbox, sink) into bin/
build:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/lambdaotel ./cmd/lambdaotel

## vet: static checks
vet:
	$(GO) vet ./...
	cd internal/extension/promwrite && $(GO) vet ./...
	cd examples/deploy && $(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

## test: every test (unit and end to end through the sandbox), those of the modules of their own (internal/extension/promwrite, examples/deploy), and the library with the oldest Go it declares
test: vet test-go-min
	$(GO) test -count=1 -timeout 15m ./...
	cd internal/extension/promwrite && $(GO) test -count=1 -timeout 5m ./...
	cd examples/deploy && $(GO) test -count=1 ./...

# GO_MIN is the go line of go.mod: the oldest Go the module builds with
# (the newest its dependencies declare; see the README's Go library section).
GO_MIN := $(shell sed -n 's/^go \([0-9.]*\)$$/\1/p' go.mod)

## test-go-min: vets and tests the library (the root package, otlpgrpc) with Go $(GO_MIN), the toolchain from the module proxy (cached in the module cache); -short leaves its end-to-end tests to the main run
test-go-min:
	GOTOOLCHAIN=go$(GO_MIN) $(GO) version
	GOTOOLCHAIN=go$(GO_MIN) $(GO) vet . ./otlpgrpc
	GOTOOLCHAIN=go$(GO_MIN) $(GO) test -short -count=1 . ./otlpgrpc

## fuzz: each fuzz target for a bounded time (make test runs their seed corpus only)
FUZZTIME ?= 20s
fuzz:
	for t in FuzzDecodeProto FuzzDecodeJSON FuzzHTTPGzip FuzzGRPCFrame; do \
		$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) ./internal/pipeline/otlpreceiver || exit 1; done
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/pipeline/config
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/ottlsubset

## demo: a function with an extension in the local Lambda environment
demo: build
	./scripts/demo.sh

clean:
	rm -rf $(BIN) dist
## bench: every figure of bench/main.go, the latency bench included (upstream's columns with UPSTREAM_COLLECTOR=/path/to/collector)
bench:
	$(GO) run ./bench

## bench-latency: the latency bench alone (strategies × backend 0/20/80 ms × 50/s, 1/s, rare, burst; ~3 min), into its section of bench/results.md
bench-latency:
	$(GO) run ./bench -latency

## scoreboard: the fault-injection suite, writing faults/scoreboard.md
scoreboard:
	LAMBDAOTEL_SCOREBOARD=$(CURDIR)/faults/scoreboard.md $(GO) test -count=1 -v ./faults/ | grep -A40 '^| scenario'

## bench-lib: the Go library against otellambda, in bench/contrib, a module of its own (needs benchstat from the module proxy)
bench-lib:
	cd bench/contrib && $(GO) test -run '^$$' -bench 'APIGateway|SQSBatch10' -benchmem -count 10 . | tee ../lib.txt
	$(GO) run golang.org/x/perf/cmd/benchstat@latest -col '/lib@(otellambda lambdaotel aws-lambda-go)' bench/lib.txt

## bench-awssdk: InstrumentAWS next to the deprecated otelaws per AWS SDK call (benchstat and callgrind; needs valgrind), into its section of bench/results.md
bench-awssdk:
	GO=$(GO) bench/awssdk.sh

## layer-nodejs: the Node.js layer in dist/layer-nodejs and dist/lambdaotel-nodejs-layer.zip
layer-nodejs:
	layers/nodejs/build.sh dist/layer-nodejs dist/lambdaotel-nodejs-layer.zip

## bench-nodejs: what the Node.js layer adds to cold start and invocation time
bench-nodejs:
	$(GO) run ./bench/nodejs

## layers: the extension's layer zips for x86_64 and arm64 in dist/ (reproducible; lambdaotel layer -h)
layers: build
	$(BIN)/lambdaotel layer build --arch x86_64,arm64 --out dist/

.PHONY: gateway scale bench-gateway

## gateway: the gateway collector of examples/gateway (the collector's builder; cached in examples/gateway/.cache)
gateway:
	examples/gateway/build.sh

## scale: the gateway tests alone (eight environments through a real collector, tail sampling, failover; part of make test)
scale: gateway
	$(GO) test -count=1 -v -run 'TestScale|TestFailover|TestExampleConfig' ./examples/gateway/

## bench-gateway: spans per second through one extension to the gateway, and the gateway's CPU per 10,000 spans/s
bench-gateway: gateway
	$(GO) test -count=1 -run '^$$' -bench Gateway -benchtime 1x ./examples/gateway/
