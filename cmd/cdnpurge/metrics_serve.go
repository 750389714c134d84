//go:build !cdnpurge_lambda

package main

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cdnpurge/cdnpurge/internal/metrics"
	"github.com/cdnpurge/cdnpurge/internal/metrics/prommetrics"
)

// serveMetrics returns serve's Prometheus sink, on a registry of its own
// with the Go runtime's and the process's collectors, and the /metrics
// handler that serves that registry. The Lambda build has a stand-in
// (metrics_lambda.go), so that it does not link the Prometheus client.
func serveMetrics(log *slog.Logger) (metrics.Sink, http.Handler) {
	reg := prommetrics.NewRegistry()
	return prommetrics.New(reg), promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)})
}
