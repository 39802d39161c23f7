package config

import (
	"github.com/lambdaotel/lambdaotel/internal/pipeline/resourcedetectionprocessor"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/resourceprocessor"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// The configurations of these tests use the resource and resourcedetection
// processors, which parse their own options; the extension's engine
// registers them.
func init() {
	processor.Register(resourceprocessor.Factory)
	processor.Register(resourcedetectionprocessor.Factory)
}
