//go:build cdnpurge_lambda

package main

import (
	"log/slog"
	"net/http"

	"github.com/cdnpurge/cdnpurge/internal/metrics"
)

// serveMetrics, in the Lambda build (tag cdnpurge_lambda, see
// internal/buildtags), has no sink and no Prometheus client: `serve` run
// from this binary counts nothing, and its /metrics answers 404 saying
// why. The Lambda itself counts with the EMF sink.
func serveMetrics(*slog.Logger) (metrics.Sink, http.Handler) {
	return nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no /metrics: this is the Lambda build of cdnpurge, which writes its metrics to CloudWatch as EMF log lines", http.StatusNotFound)
	})
}
