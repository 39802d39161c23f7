package config

import (
	"github.com/lambdaotel/lambdaotel/internal/processor"
	"github.com/lambdaotel/lambdaotel/pipeline/resourceprocessor"
)

// The configurations of these tests use the resource processor, which
// parses its own options; the extension's engine registers it.
func init() { processor.Register(resourceprocessor.Factory) }
