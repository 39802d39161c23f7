// Command lambdaotel is the lambdaotel command-line tool: it runs functions
// in a local Lambda execution environment (run), receives OTLP as a test
// backend (sink), validates extension configurations (config check) and
// builds the extension's layer zips (layer build).
package main

import (
	"fmt"
	"os"
)

const usage = `usage: lambdaotel <command> [flags]

commands:
  run     run a function and its layers in a local Lambda execution environment
  sink    receive OTLP (gRPC and HTTP) and store it as JSON lines; "sink print FILE" prints trace trees
  config  "config check FILE" validates an extension configuration
  layer   "layer build" builds the extension's layer zips (x86_64, arm64) into dist/

Run "lambdaotel <command> -h" for the flags of a command.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var code int
	switch os.Args[1] {
	case "run":
		code = runMain(os.Args[2:])
	case "sink":
		code = sinkMain(os.Args[2:])
	case "config":
		code = configMain(os.Args[2:])
	case "layer":
		code = layerMain(os.Args[2:])
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "lambdaotel: unknown command %q\n\n%s", os.Args[1], usage)
		code = 2
	}
	os.Exit(code)
}
