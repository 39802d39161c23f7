package config

import "github.com/lambdaotel/lambdaotel/internal/pipeline/prometheusremotewriteexporter"

// PrometheusRemoteWriteExporter configures the prometheusremotewrite
// exporter (its package's Config, which owns its parsing).
type PrometheusRemoteWriteExporter = prometheusremotewriteexporter.Config

// DefaultMaxBatchSizeBytes is the collector's default max_batch_size_bytes.
const DefaultMaxBatchSizeBytes = prometheusremotewriteexporter.DefaultMaxBatchSizeBytes

// DefaultPrometheusRemoteWriteTimeout is the collector's default timeout.
const DefaultPrometheusRemoteWriteTimeout = prometheusremotewriteexporter.DefaultTimeout
