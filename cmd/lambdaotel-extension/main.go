// Command lambdaotel-extension is lambdaotel's Lambda extension. Packaged in
// a layer as extensions/lambdaotel, it receives OTLP from the function on
// 127.0.0.1:4317 (gRPC) and 127.0.0.1:4318 (HTTP) and exports it to the
// configured backend before Lambda freezes the environment.
package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/lambdaotel/lambdaotel/internal/extension"
)

func main() {
	os.Exit(extension.Run(context.Background(), extension.Options{
		Name:       filepath.Base(os.Args[0]),
		Getenv:     os.Getenv,
		Stderr:     os.Stderr,
		Executable: os.Args[0],
	}))
}
