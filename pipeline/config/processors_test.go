package config

import (
	"github.com/lambdaotel/lambdaotel/internal/processor"
	"github.com/lambdaotel/lambdaotel/pipeline/resourcedetectionprocessor"
	"github.com/lambdaotel/lambdaotel/pipeline/resourceprocessor"
)

// The configurations of these tests use the resource and resourcedetection
// processors, which parse their own options; the extension's engine
// registers them.
func init() {
	processor.Register(resourceprocessor.Factory)
	processor.Register(resourcedetectionprocessor.Factory)
}
