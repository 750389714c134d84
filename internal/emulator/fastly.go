package emulator

// The emulator's Fastly purge API, next to its CloudFront one: the calls
// of Fastly's API reference, "Purging", in their wire format, so that
// internal/cdn/fastlycdn (or curl) can purge against it with its endpoint
// set to the emulator's URL:
//
//   - POST /purge/{cached_url}: purge one URL ("www.example.com/a?b=1",
//     the host and path of the cached object, no scheme), answered with
//     {"status":"ok","id":"..."};
//   - POST /service/{service_id}/purge: purge up to 256 surrogate keys,
//     named in a JSON body {"surrogate_keys":[...]} or in a Surrogate-Key
//     header (keys separated by spaces), answered with a JSON object of key
//     to purge ID;
//   - POST /service/{service_id}/purge/{surrogate_key}: purge one key,
//     answered like a URL purge;
//   - POST /service/{service_id}/purge_all: purge everything, answered
//     with {"status":"ok"} (Fastly gives no purge ID for it).
//
// Every call needs a Fastly-Key header (401 without one, or with one not
// among Options.FastlyTokens when that is set). Real Fastly takes URL purges
// without a token unless the service asks for one (Fastly-Purge-Requires-Auth);
// the emulator always asks, as a service set up for cdnpurge should. An
// unknown service is 404, a bad key list 400, and errors are Fastly's JSON
// {"msg":"...","detail":"..."}. A Fastly-Soft-Purge header, whatever its
// value, makes a URL or key purge soft; purge_all has no soft form and
// records Soft false.
//
// URL purges are not per service on Fastly's API (the URL's host picks the
// service), so the emulator records them under the service ID "", which
// FastlyURLPurges reads.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The Fastly operations the emulator serves, by the names FastlyCalls, the
// JSON view of FastlyCallsPath and Faults.ByOperation use.
const (
	OpFastlyPurgeURL  = "FastlyPurgeURL"
	OpFastlyPurgeKey  = "FastlyPurgeKey"
	OpFastlyPurgeKeys = "FastlyPurgeKeys"
	OpFastlyPurgeAll  = "FastlyPurgeAll"
)

// FastlyOperations lists the Fastly operations the emulator serves.
func FastlyOperations() []string {
	return []string{OpFastlyPurgeURL, OpFastlyPurgeKey, OpFastlyPurgeKeys, OpFastlyPurgeAll}
}

// FastlyMaxKeys is the most surrogate keys one bulk purge takes (Fastly API
// reference, "Purge multiple surrogate key tags").
const FastlyMaxKeys = 256

// Where the emulator reports its Fastly state, outside Fastly's API paths,
// to a GET from loopback: FastlyPurgesPath?service=ID gives FastlyPurges(ID)
// as a JSON array (no service: the URL purges), FastlyCallsPath gives
// FastlyCallCounts as a JSON object.
const (
	FastlyPurgesPath = "/_emulator/fastly/purges"
	FastlyCallsPath  = "/_emulator/fastly/calls"
)

// The kinds of FastlyPurge.
const (
	FastlyKindURL  = "url"
	FastlyKindKeys = "keys"
	FastlyKindAll  = "all"
)

// FastlyPurge is one purge the emulator's Fastly API took.
type FastlyPurge struct {
	// ID is the purge ID answered; for a bulk key purge, the IDs of its
	// keys in the order sent, joined by ","; "" for a purge all.
	ID string `json:"id"`
	// Kind is FastlyKindURL, FastlyKindKeys or FastlyKindAll.
	Kind string `json:"kind"`
	// Items are the URL purged (host and path, as sent) or the keys, in
	// the order sent; nil for a purge all.
	Items []string `json:"items"`
	// Soft is set when the request had a Fastly-Soft-Purge header.
	Soft bool      `json:"soft"`
	Time time.Time `json:"time"`
}

// fastlyMaxBody bounds a bulk purge body: 256 keys of 1,024 bytes fit
// many times over.
const fastlyMaxBody = 1 << 20

// fastlyState is the emulator's Fastly side. Its own lock keeps it apart
// from the CloudFront state.
type fastlyState struct {
	mu       sync.Mutex
	services map[string]bool
	tokens   map[string]bool          // nil: any token is accepted
	purges   map[string][]FastlyPurge // by service ID; "" holds URL purges
	calls    map[string]int           // by operation
	seq      int                      // the last purge ID's sequence number
}

// initFastly sets up the Fastly side from opts.
func (e *Emulator) initFastly(opts Options) {
	f := &e.fastly
	f.services = make(map[string]bool)
	f.purges = make(map[string][]FastlyPurge)
	f.calls = make(map[string]int)
	for _, id := range opts.FastlyServices {
		f.services[id] = true
	}
	if len(opts.FastlyTokens) > 0 {
		f.tokens = make(map[string]bool, len(opts.FastlyTokens))
		for _, tok := range opts.FastlyTokens {
			f.tokens[tok] = true
		}
	}
}

// AddFastlyService makes a Fastly service with the given ID exist. Adding
// an ID that already exists changes nothing.
func (e *Emulator) AddFastlyService(id string) {
	e.fastly.mu.Lock()
	defer e.fastly.mu.Unlock()
	e.fastly.services[id] = true
}

// FastlyPurges returns the purges the Fastly API took on serviceID, oldest
// first; for "", the URL purges (see FastlyURLPurges). It reads the state
// directly, past any Faults.
func (e *Emulator) FastlyPurges(serviceID string) []FastlyPurge {
	e.fastly.mu.Lock()
	defer e.fastly.mu.Unlock()
	return slices.Clone(e.fastly.purges[serviceID])
}

// FastlyURLPurges returns the URL purges the Fastly API took, oldest first:
// Fastly's URL purges name no service.
func (e *Emulator) FastlyURLPurges() []FastlyPurge { return e.FastlyPurges("") }

// FastlyCalls returns how many requests the emulator routed to the Fastly
// operation op (one of FastlyOperations; 0 for any other), whatever the
// answer: errors and injected faults count. A wrong method counts nowhere.
func (e *Emulator) FastlyCalls(op string) int {
	e.fastly.mu.Lock()
	defer e.fastly.mu.Unlock()
	return e.fastly.calls[op]
}

// FastlyCallCounts returns FastlyCalls for every Fastly operation, zeros
// included.
func (e *Emulator) FastlyCallCounts() map[string]int {
	m := make(map[string]int)
	for _, op := range FastlyOperations() {
		m[op] = e.FastlyCalls(op)
	}
	return m
}

// fastlyCall is a request routed to a Fastly operation.
type fastlyCall struct {
	op        string
	serviceID string // "" for a URL purge
	target    string // the URL of a URL purge (host/path?query), the key of a single-key purge
}

// parseFastlyPath routes a request by its escaped path and raw query to a
// Fastly operation; ok is false for a path outside Fastly's purge API.
func parseFastlyPath(escapedPath, rawQuery string) (c fastlyCall, ok bool) {
	if rest, found := strings.CutPrefix(escapedPath, "/purge/"); found {
		c = fastlyCall{op: OpFastlyPurgeURL, target: rest}
		if rawQuery != "" {
			c.target += "?" + rawQuery
		}
		return c, true
	}
	seg := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	if len(seg) < 3 || len(seg) > 4 || seg[0] != "service" {
		return fastlyCall{}, false
	}
	id, err := url.PathUnescape(seg[1])
	if err != nil || id == "" {
		return fastlyCall{}, false
	}
	c.serviceID = id
	switch {
	case len(seg) == 3 && seg[2] == "purge":
		c.op = OpFastlyPurgeKeys
	case len(seg) == 3 && seg[2] == "purge_all":
		c.op = OpFastlyPurgeAll
	case len(seg) == 4 && seg[2] == "purge":
		key, err := url.PathUnescape(seg[3])
		if err != nil || key == "" {
			return fastlyCall{}, false
		}
		c.op, c.target = OpFastlyPurgeKey, key
	default:
		return fastlyCall{}, false
	}
	return c, true
}

// fastlyError is a failure answered as Fastly's JSON error. Detail may be
// empty: Fastly's 401 has a msg only.
type fastlyError struct {
	status int
	msg    string
	detail string
	header http.Header // extra headers (Retry-After, Allow)
	err    error       // for the log only
}

func newFastlyError(status int, msg, detail string) *fastlyError {
	return &fastlyError{status: status, msg: msg, detail: detail}
}

// fastlyErrorBody is the body of Fastly's API errors.
type fastlyErrorBody struct {
	Msg    string `json:"msg"`
	Detail string `json:"detail,omitempty"`
}

// serveFastly answers a request to Fastly's purge API or to the Fastly
// views, and reports whether it did; any other request goes on to the
// CloudFront routes.
func (e *Emulator) serveFastly(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path == FastlyPurgesPath || r.URL.Path == FastlyCallsPath {
		return e.serveFastlyView(w, r)
	}
	c, ok := parseFastlyPath(r.URL.EscapedPath(), r.URL.RawQuery)
	if !ok {
		return false
	}
	sw := &statusWriter{ResponseWriter: w}
	var ferr *fastlyError
	if r.Method != http.MethodPost {
		ferr = newFastlyError(http.StatusMethodNotAllowed, "Method not allowed",
			"Only POST is allowed on "+r.URL.Path)
		ferr.header = http.Header{"Allow": {http.MethodPost}}
	} else {
		e.fastly.count(c.op)
		ferr = e.fastlyPurge(sw, r, c)
	}
	if ferr != nil {
		writeFastlyError(sw, ferr)
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("operation", c.op),
		slog.Int("status", sw.status),
	}
	if ferr != nil && ferr.err != nil {
		attrs = append(attrs, slog.String("detail", ferr.err.Error()))
	}
	e.log.LogAttrs(r.Context(), slog.LevelDebug, "fastly emulator request", attrs...)
	return true
}

func (f *fastlyState) count(op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
}

// fastlyPurge carries out one routed POST: faults, then the token, the
// service, the keys; then it records the purge and answers.
func (e *Emulator) fastlyPurge(w http.ResponseWriter, r *http.Request, c fastlyCall) *fastlyError {
	r, ferr := e.fastlyFault(w, r, c.op)
	if ferr != nil {
		return ferr
	}
	if ferr := e.fastly.authorize(r.Header.Get("Fastly-Key")); ferr != nil {
		return ferr
	}
	if c.op != OpFastlyPurgeURL && !e.fastly.exists(c.serviceID) {
		return newFastlyError(http.StatusNotFound, "Record not found",
			fmt.Sprintf("Cannot find service '%s'", c.serviceID))
	}
	p := FastlyPurge{Soft: r.Header.Get("Fastly-Soft-Purge") != "", Time: e.now()}
	switch c.op {
	case OpFastlyPurgeURL:
		host, _, _ := strings.Cut(c.target, "/")
		if host == "" {
			return newFastlyError(http.StatusBadRequest, "Bad request", "No URL to purge: the path is /purge/{host}/{path}")
		}
		p.Kind, p.Items = FastlyKindURL, []string{c.target}
	case OpFastlyPurgeKey:
		if ferr := checkFastlyKey(c.target); ferr != nil {
			return ferr
		}
		p.Kind, p.Items = FastlyKindKeys, []string{c.target}
	case OpFastlyPurgeKeys:
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, fastlyMaxBody))
		if err != nil {
			return newFastlyError(http.StatusBadRequest, "Bad request", "Could not read the request body")
		}
		keys, ferr := parseFastlyKeys(r.Header.Get("Surrogate-Key"), body)
		if ferr != nil {
			return ferr
		}
		p.Kind, p.Items = FastlyKindKeys, keys
	case OpFastlyPurgeAll:
		p.Kind, p.Soft = FastlyKindAll, false // purge_all has no soft form
	}
	ids := e.fastly.record(c.serviceID, &p)
	switch c.op {
	case OpFastlyPurgeKeys:
		answer := make(map[string]string, len(ids))
		for i, key := range p.Items {
			answer[key] = ids[i]
		}
		writeFastlyJSON(w, http.StatusOK, answer)
	case OpFastlyPurgeAll:
		writeFastlyJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	default:
		writeFastlyJSON(w, http.StatusOK, map[string]string{"status": "ok", "id": ids[0]})
	}
	e.log.LogAttrs(r.Context(), slog.LevelInfo, "fastly purge",
		slog.String("service_id", c.serviceID), slog.String("kind", p.Kind),
		slog.Int("items", len(p.Items)), slog.Bool("soft", p.Soft))
	return nil
}

// fastlyFault serves the injected fault of a request to op, if any, as
// Fastly answers: Throttle is 429 with Retry-After, Unavailable 503. A
// delay is waited out first; a client that goes away during it gets
// nothing done.
func (e *Emulator) fastlyFault(w http.ResponseWriter, r *http.Request, op string) (*http.Request, *fastlyError) {
	if e.faults == nil {
		return r, nil
	}
	f, delay := e.faults.decide(op)
	if delay > 0 {
		r = bufferBody(w, r) // so that a client going away is seen (see inject)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
			e.faults.record(op, func(c *FaultCounts) { c.Delayed++; c.Delay += delay })
		case <-r.Context().Done():
			t.Stop()
			e.faults.record(op, func(c *FaultCounts) { c.Abandoned++ })
			ferr := newFastlyError(http.StatusServiceUnavailable, "Service unavailable", "The client went away during the injected delay.")
			ferr.err = r.Context().Err()
			return r, ferr
		}
	}
	injected := errors.New("injected fault")
	switch f {
	case faultThrottle:
		e.faults.record(op, func(c *FaultCounts) { c.Throttled++ })
		ferr := newFastlyError(http.StatusTooManyRequests, "Too many requests",
			"You have exceeded the rate limit; wait before making further requests")
		ferr.header = http.Header{
			"Retry-After":                {"1"},
			"Fastly-Ratelimit-Remaining": {"0"},
			"Fastly-Ratelimit-Reset":     {strconv.FormatInt(e.now().Add(time.Second).Unix(), 10)},
		}
		ferr.err = injected
		return r, ferr
	case faultUnavailable:
		e.faults.record(op, func(c *FaultCounts) { c.Unavailable++ })
		ferr := newFastlyError(http.StatusServiceUnavailable, "Service unavailable",
			"The request has failed due to a temporary failure of the server")
		ferr.err = injected
		return r, ferr
	}
	return r, nil
}

// authorize checks a Fastly-Key header value.
func (f *fastlyState) authorize(token string) *fastlyError {
	f.mu.Lock()
	defer f.mu.Unlock()
	if token == "" || f.tokens != nil && !f.tokens[token] {
		// Fastly's own answer has a msg and no detail.
		return newFastlyError(http.StatusUnauthorized, "Provided credentials are missing or invalid", "")
	}
	return nil
}

func (f *fastlyState) exists(serviceID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.services[serviceID]
}

// record keeps p under serviceID with new purge IDs, one per item (one
// for a URL purge, none for a purge all), and returns them.
func (f *fastlyState) record(serviceID string, p *FastlyPurge) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	if p.Kind != FastlyKindAll {
		for range max(len(p.Items), 1) {
			f.seq++
			// Shaped like Fastly's: "108-1391560174-974124".
			ids = append(ids, fmt.Sprintf("108-%d-%d", p.Time.Unix(), f.seq))
		}
	}
	p.ID = strings.Join(ids, ",")
	f.purges[serviceID] = append(f.purges[serviceID], *p)
	return ids
}

// parseFastlyKeys returns the surrogate keys of a bulk purge: those of the
// Surrogate-Key header (separated by spaces) when it is set, else those of
// the JSON body {"surrogate_keys":[...]}. It refuses an empty list, an
// empty key or one with white space, and more than FastlyMaxKeys keys.
func parseFastlyKeys(header string, body []byte) ([]string, *fastlyError) {
	var keys []string
	if strings.TrimSpace(header) != "" {
		keys = strings.Fields(header)
	} else {
		var req struct {
			SurrogateKeys []string `json:"surrogate_keys"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			ferr := newFastlyError(http.StatusBadRequest, "Bad request",
				`The body must be a JSON object {"surrogate_keys":[...]}, or the keys given in a Surrogate-Key header`)
			ferr.err = err
			return nil, ferr
		}
		keys = req.SurrogateKeys
	}
	switch {
	case len(keys) == 0:
		return nil, newFastlyError(http.StatusBadRequest, "Bad request", "No surrogate keys were given")
	case len(keys) > FastlyMaxKeys:
		return nil, newFastlyError(http.StatusBadRequest, "Bad request",
			fmt.Sprintf("Up to %d surrogate keys can be purged in one request; %d were given", FastlyMaxKeys, len(keys)))
	}
	for _, k := range keys {
		if ferr := checkFastlyKey(k); ferr != nil {
			return nil, ferr
		}
	}
	return keys, nil
}

// checkFastlyKey refuses an empty surrogate key or one with white space:
// Surrogate-Key headers separate keys with spaces.
func checkFastlyKey(k string) *fastlyError {
	if k == "" || strings.ContainsAny(k, " \t\r\n\v\f") {
		return newFastlyError(http.StatusBadRequest, "Bad request",
			fmt.Sprintf("Invalid surrogate key %q: a key is not empty and holds no white space", truncate(k, 64)))
	}
	return nil
}

// truncate cuts s to at most n bytes, for quoting in a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func writeFastlyError(w http.ResponseWriter, ferr *fastlyError) {
	maps.Copy(w.Header(), ferr.header)
	writeFastlyJSON(w, ferr.status, fastlyErrorBody{Msg: ferr.msg, Detail: ferr.detail})
}

// writeFastlyJSON writes v as JSON with the given status. Its callers pass
// maps, slices and structs of strings, ints, bools and times, which always
// marshal.
func writeFastlyJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// serveFastlyView answers a GET of FastlyPurgesPath or FastlyCallsPath
// from loopback, and reports whether it did (anything else there is not
// found, as on any path outside the APIs).
func (e *Emulator) serveFastlyView(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet || !fromLoopback(r) {
		return false
	}
	if r.URL.Path == FastlyCallsPath {
		writeFastlyJSON(w, http.StatusOK, e.FastlyCallCounts())
		return true
	}
	purges := e.FastlyPurges(r.URL.Query().Get("service"))
	if purges == nil {
		purges = []FastlyPurge{}
	}
	writeFastlyJSON(w, http.StatusOK, purges)
	return true
}
