package emulator_test

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

// TestCalls sends requests and checks the emulator's count per operation,
// as Calls, CallCounts and CallsPath (through ReadCalls) report it.
func TestCalls(t *testing.T) {
	create := mustFixture(t, "create_invalidation_request.xml")
	type request struct{ method, path, body string }
	var (
		createDist   = request{http.MethodPost, distPath, create}
		listDist     = request{http.MethodGet, distPath + "?MaxItems=10", ""}
		getDist      = request{http.MethodGet, distPath + "/I0000000000000", ""} // NoSuchInvalidation
		createTenant = request{http.MethodPost, tenantPath, create}
		listTenant   = request{http.MethodGet, tenantPath, ""}
		getTenant    = request{http.MethodGet, tenantPath + "/I0000000000000", ""}
	)
	tests := []struct {
		name     string
		faults   emulator.Faults
		requests []request
		want     map[string]int // operations not named: 0
	}{
		{"none", emulator.Faults{}, nil, nil},
		{"one purge, looked at first", emulator.Faults{}, []request{listDist, getDist, createDist},
			map[string]int{emulator.OpListInvalidations: 1, emulator.OpGetInvalidation: 1, emulator.OpCreateInvalidation: 1}},
		{"repeats and errors count", emulator.Faults{}, []request{
			createDist, createDist, // the second returns the first
			{http.MethodPost, distPath, "junk"},                                        // MalformedInput
			{http.MethodPost, "/2020-05-31/distribution/ENOSUCH/invalidation", create}, // NoSuchDistribution
		}, map[string]int{emulator.OpCreateInvalidation: 4}},
		{"tenant operations apart", emulator.Faults{}, []request{createTenant, listTenant, getTenant, getTenant, listDist},
			map[string]int{emulator.OpCreateInvalidationForDistributionTenant: 1, emulator.OpListInvalidationsForDistributionTenant: 1,
				emulator.OpGetInvalidationForDistributionTenant: 2, emulator.OpListInvalidations: 1}},
		{"injected faults count", emulator.Faults{All: emulator.FaultRates{Unavailable: 1}}, []request{createDist, createDist, listDist},
			map[string]int{emulator.OpCreateInvalidation: 2, emulator.OpListInvalidations: 1}},
		{"no operation counts nowhere", emulator.Faults{}, []request{
			{http.MethodGet, "/", ""},
			{http.MethodDelete, distPath, ""},         // MethodNotAllowed
			{http.MethodPost, distPath + "/I1", ""},   // MethodNotAllowed
			{http.MethodGet, emulator.CallsPath, ""},  // the counts themselves
			{http.MethodPost, emulator.CallsPath, ""}, // NotFound
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, srv := MustStartEmulator(t, emulator.Options{Faults: tt.faults})
			for _, r := range tt.requests {
				req, err := http.NewRequest(r.method, srv.URL+r.path, strings.NewReader(r.body))
				if err != nil {
					t.Fatal(err)
				}
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			want := map[string]int{}
			for _, op := range emulator.Operations() {
				want[op] = tt.want[op]
				if got := e.Calls(op); got != want[op] {
					t.Errorf("Calls(%s) = %d, want %d", op, got, want[op])
				}
			}
			if got := e.CallCounts(); !maps.Equal(got, want) {
				t.Errorf("CallCounts() = %v, want %v", got, want)
			}
			got, err := emulator.ReadCalls(context.Background(), srv.Client(), srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, want) {
				t.Errorf("ReadCalls = %v, want %v", got, want)
			}
			if n := e.Calls("DeleteDistribution"); n != 0 {
				t.Errorf("Calls of an operation the emulator does not serve = %d", n)
			}
		})
	}
}

// TestCallsOnlyFromLoopback: from another address, CallsPath is a resource
// the emulator does not serve.
func TestCallsOnlyFromLoopback(t *testing.T) {
	e := emulator.New(emulator.Options{Distributions: []string{testDistribution}})
	req := httptest.NewRequest(http.MethodGet, emulator.CallsPath, nil) // from 192.0.2.1
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "<Code>NotFound</Code>") {
		t.Errorf("GET %s from %s: HTTP %d %s, want 404 NotFound", emulator.CallsPath, req.RemoteAddr, rec.Code, rec.Body)
	}
}

// TestReadCallsOfAnOlderEmulator: an emulator without CallsPath is an
// error, not zero calls.
func TestReadCallsOfAnOlderEmulator(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	if m, err := emulator.ReadCalls(context.Background(), srv.Client(), srv.URL); err == nil {
		t.Errorf("ReadCalls = %v, want an error", m)
	}
}
