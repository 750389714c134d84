//go:build cdnpurge_lambda

package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// TestLambdaBuildHasNoMetrics: `serve` run from the Lambda build, which
// links no Prometheus client, answers /metrics with a 404 and one line of
// plain text that says why. TestLambdaBuild runs it.
func TestLambdaBuildHasNoMetrics(t *testing.T) {
	a := mustStartApp(t, lambdaConfig(testutil.MustEmulator(t, time.Hour)), io.Discard)
	resp, err := http.Get(a.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("GET /metrics: %d %q, want 404 text/plain", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(string(body), "Lambda build") || !strings.Contains(string(body), "EMF") || strings.Count(string(body), "\n") != 1 {
		t.Errorf("GET /metrics: body %q, want one line saying this is the Lambda build, which writes EMF", body)
	}
}
