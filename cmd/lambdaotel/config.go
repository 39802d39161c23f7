package main

import (
	"fmt"
	"os"

	"github.com/lambdaotel/lambdaotel/internal/extension"
)

const configUsage = `usage: lambdaotel config check FILE

Validates an extension configuration file with the extension's own code:
the file is read, ${env:VAR} references are expanded from this shell's
environment, and every component a pipeline uses is built. Prints the
pipelines it would run, or every error with its file and line. Exit status
0 when the file is valid, 1 when it is not, 2 for bad usage.
`

func configMain(args []string) int {
	if len(args) != 2 || args[0] != "check" {
		fmt.Fprint(os.Stderr, configUsage)
		return 2
	}
	summary, err := extension.CheckConfig(args[1], os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%v\n", err)
		return 1
	}
	fmt.Print(summary)
	return 0
}
