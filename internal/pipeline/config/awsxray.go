package config

import "github.com/lambdaotel/lambdaotel/internal/pipeline/awsxrayexporter"

// AWSXRayExporter configures the awsxray exporter (its package's Options,
// which owns their parsing).
type AWSXRayExporter = awsxrayexporter.Options

// DefaultAWSXRayTimeout is the awsxray exporter's request timeout when
// request_timeout_seconds is not given (upstream's default).
const DefaultAWSXRayTimeout = awsxrayexporter.DefaultTimeout
