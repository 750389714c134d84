package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
)

// CallsPath is where an Emulator reports the requests it has served per
// operation (see CallCounts), outside CloudFront's API paths: a GET from a
// loopback address gets them as one JSON object, operation name to count,
// every operation included. Anything else sent there is an unknown
// resource (404 NotFound), as on any other path outside the API. It lets a
// benchmark read the counts of a `cdnpurge emulate` it spawned; ReadCalls
// is its client.
const CallsPath = "/_emulator/calls"

// countedOps are the operations counted, in the order of callCounter.n.
var countedOps = Operations()

// callCounter counts the requests routed to each operation of countedOps.
// TestCalls checks that it has room for every operation.
type callCounter struct {
	n [6]atomic.Int64
}

// index is op's place in countedOps, or -1.
func (c *callCounter) index(op string) int {
	if i := slices.Index(countedOps, op); i < len(c.n) {
		return i
	}
	return -1
}

func (c *callCounter) add(op string) {
	if i := c.index(op); i >= 0 {
		c.n[i].Add(1)
	}
}

// Calls returns how many requests the emulator has served for op, one of
// the Op* names (0 for any other): every request routed to the operation,
// whatever the answer, errors and injected faults included, so that a
// client's retries count as the calls they are. Requests to no operation
// (an unknown path, a wrong method, CallsPath) count nowhere.
func (e *Emulator) Calls(op string) int {
	if i := e.calls.index(op); i >= 0 {
		return int(e.calls.n[i].Load())
	}
	return 0
}

// CallCounts returns Calls for every operation of Operations, zeros
// included.
func (e *Emulator) CallCounts() map[string]int {
	m := make(map[string]int, len(countedOps))
	for _, op := range countedOps {
		m[op] = e.Calls(op)
	}
	return m
}

// serveCalls answers a GET of CallsPath from loopback with CallCounts. It
// reports whether it answered; when it did not, the request goes on to be
// routed (and found unknown).
func (e *Emulator) serveCalls(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet || r.URL.Path != CallsPath || !fromLoopback(r) {
		return false
	}
	body, _ := json.Marshal(e.CallCounts()) // a map of ints: never fails
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return true
}

// fromLoopback reports whether r came from a loopback address.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ReadCalls reads the counts of requests per operation from an emulator
// served at baseURL (such as a `cdnpurge emulate` on loopback), from
// CallsPath. An emulator built before CallsPath existed answers 404, which
// is an error here.
func ReadCalls(ctx context.Context, client *http.Client, baseURL string) (map[string]int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+CallsPath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d (an emulator without call counts?)", CallsPath, resp.StatusCode)
	}
	var m map[string]int
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("GET %s: %w", CallsPath, err)
	}
	return m, nil
}
