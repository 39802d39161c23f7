// Package gateway holds the example deployment of an OpenTelemetry
// Collector gateway tier in front of the lambdaotel extension (the
// collector's builder manifest, a tested collector configuration and a
// Kubernetes manifest), and the tests that run a collector built from that
// manifest behind many sandbox environments at once: delivery by item id,
// tail sampling across functions, and a gateway killed mid-run.
package gateway
