package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/sink"
)

const sinkUsage = `usage: lambdaotel sink [--grpc ADDR] [--http ADDR] [--out FILE]
       lambdaotel sink print FILE
       lambdaotel sink check [--trees FUNCTION=N ...] [--metrics N] [--logs N] FILE

The first form receives OTLP over gRPC and HTTP (protobuf or JSON, gzip or
not) until interrupted, prints one line per request to stderr and, with
--out, appends every request to FILE as a line of JSON. Port 0 picks a free
port; the addresses in use are printed on start.

The second form prints the traces in FILE as trees, and counts its metric
data points and log records. The third checks that FILE holds at least
what is asked for, and exits 1 naming what is missing.

flags:
`

// sinkMain runs "lambdaotel sink" with args (the arguments after "sink") and
// returns the exit status.
func sinkMain(args []string) int {
	if len(args) > 0 && args[0] == "print" {
		return sinkPrint(args[1:], os.Stdout, os.Stderr)
	}
	if len(args) > 0 && args[0] == "check" {
		return sinkCheck(args[1:], os.Stdout, os.Stderr)
	}

	fs := flag.NewFlagSet("lambdaotel sink", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), sinkUsage)
		fs.PrintDefaults()
	}
	grpcAddr := fs.String("grpc", sink.DefaultGRPCAddr, "`address` to serve OTLP/gRPC on")
	httpAddr := fs.String("http", sink.DefaultHTTPAddr, "`address` to serve OTLP/HTTP on")
	out := fs.String("out", "", "append every request to `file` as a JSON line")
	latency := fs.Duration("latency", 0, "hold every request back this `long` before answering it (a backend that is not on loopback)")
	jitter := fs.Duration("jitter", 0, "vary the latency of each request by up to ± this `long`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "lambdaotel sink: unexpected argument %q\n\n", fs.Arg(0))
		fs.Usage()
		return 2
	}

	s, err := sink.Start(sink.Config{
		GRPCAddr: *grpcAddr,
		HTTPAddr: *httpAddr,
		Out:      *out,
		Latency:  *latency,
		Jitter:   *jitter,
		OnAccept: func(r sink.Request) {
			noun := map[string]string{"traces": "span", "metrics": "data point", "logs": "log record"}[r.Signal]
			fmt.Fprintf(os.Stderr, "%s %s via %s (%s): %s\n",
				r.Received.Format("15:04:05.000"), r.Signal, r.Transport, r.Encoding, count(r.Items, noun))
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "lambdaotel %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "lambdaotel sink: OTLP/gRPC on %s\n", s.GRPCAddr())
	fmt.Fprintf(os.Stderr, "lambdaotel sink: OTLP/HTTP on http://%s\n", s.HTTPAddr())
	if *out != "" {
		fmt.Fprintf(os.Stderr, "lambdaotel sink: appending requests to %s\n", *out)
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	got := <-sig
	signal.Stop(sig)
	err = s.Close()
	fmt.Fprintf(os.Stderr, "lambdaotel sink: %v: stopped; received %s, %s, %s\n", got,
		count(s.SpanCount(), "span"), count(s.DataPointCount(), "metric data point"), count(s.LogRecordCount(), "log record"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "lambdaotel %v\n", err)
		return 1
	}
	return 0
}

// readSinkFileArg parses args with fs, which takes one FILE argument, and
// reads that file as the sink wrote it. code is -1 when it succeeded, and
// otherwise the exit status to return (0 for -h, 2 for bad usage, 1 for a
// file that cannot be read), the reason already written to stderr.
func readSinkFileArg(fs *flag.FlagSet, args []string, stderr io.Writer) (traces []ptrace.Traces, metrics []pmetric.Metrics, logs []plog.Logs, code int) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, nil, 0
		}
		return nil, nil, nil, 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return nil, nil, nil, 2
	}
	traces, metrics, logs, err := sink.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "lambdaotel %v\n", err)
		return nil, nil, nil, 1
	}
	return traces, metrics, logs, -1
}

// sinkPrint runs "lambdaotel sink print FILE".
func sinkPrint(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lambdaotel sink print", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), "usage: lambdaotel sink print FILE\n") }
	traces, metrics, logs, code := readSinkFileArg(fs, args, stderr)
	if code >= 0 {
		return code
	}
	if err := sink.PrintTraces(stdout, traces); err != nil {
		fmt.Fprintf(stderr, "lambdaotel sink print: %v\n", err)
		return 1
	}
	points, records := 0, 0
	for _, m := range metrics {
		points += m.DataPointCount()
	}
	for _, l := range logs {
		records += l.LogRecordCount()
	}
	if len(traces) > 0 {
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "%s in %s%s\n", count(points, "metric data point"), count(len(metrics), "request"), metricNames(metrics))
	if err := sink.PrintMetrics(stdout, metrics); err != nil {
		fmt.Fprintf(stderr, "lambdaotel sink print: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s in %s\n", count(records, "log record"), count(len(logs), "request"))
	if err := sink.PrintLogs(stdout, logs); err != nil {
		fmt.Fprintf(stderr, "lambdaotel sink print: %v\n", err)
		return 1
	}
	return 0
}

// metricNames returns " (name, name, ...)" for the distinct metric names in
// metrics, in order of appearance, or "" if there are none.
func metricNames(metrics []pmetric.Metrics) string {
	var names []string
	seen := map[string]bool{}
	for _, md := range metrics {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if !seen[m.Name()] {
						seen[m.Name()] = true
						names = append(names, m.Name())
					}
				}
			}
		}
	}
	if len(names) == 0 {
		return ""
	}
	return " (" + strings.Join(names, ", ") + ")"
}

// count returns "1 noun" or "n nouns".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
