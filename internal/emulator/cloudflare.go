package emulator

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The emulator also speaks Cloudflare's Purge Cached Content operation,
// POST /client/v4/zones/{zone_id}/purge_cache, as Cloudflare documents it
// (developers.cloudflare.com/api/resources/cache/methods/purge and
// /cache/how-to/purge-cache/): so that cloudflare-go, pointed at the
// emulator with option.WithBaseURL(srv.URL + "/client/v4"), and any other
// client of that API work against it unchanged.
//
// A body names exactly one kind: "files" (URLs, or objects {"url", "headers"}),
// "tags", "hosts", "prefixes" (host/path, no scheme), or
// "purge_everything": true; at most cloudflareMaxItems items. Every answer
// is Cloudflare's envelope, {"success", "errors", "messages", "result"}. A
// purge is done when it is answered: Cloudflare's purges have no status to
// follow.

// OpCloudflarePurgeCache names Cloudflare's purge_cache operation for
// Options.Faults (Faults.All applies to it; see CloudflareCalls for its
// count) and InjectedFaults.
const OpCloudflarePurgeCache = "CloudflarePurgeCache"

// cloudflareAPIPrefix is where Cloudflare's API lives, as under
// https://api.cloudflare.com/client/v4.
const cloudflareAPIPrefix = "/client/v4/"

// CloudflarePurgesPathPrefix is where the emulator reports, outside
// Cloudflare's API, what was purged in a zone: a GET from loopback of
// CloudflarePurgesPathPrefix + "{zone_id}/purges" answers a JSON array of
// CloudflarePurge, oldest first.
const CloudflarePurgesPathPrefix = "/_emulator/cloudflare/zones/"

// cloudflareMaxItems is the most items one purge request takes: Cloudflare
// documents "Max operations per request: 100" on every plan for files,
// tags, hosts and prefixes
// (developers.cloudflare.com/cache/how-to/purge-cache/#availability-and-limits).
const cloudflareMaxItems = 100

// cloudflareMaxPrefixes is the most prefixes one request takes: "Maximum 30
// prefixes per API call" (purge by prefix, in Cloudflare's cache docs).
const cloudflareMaxPrefixes = 30

// cloudflareMaxBody bounds a purge body: 100 files with headers fit many
// times over.
const cloudflareMaxBody = 1 << 20

// Cloudflare's error codes the emulator answers with: those its API
// returns for these failures, as clients see them and as Cloudflare's
// published list of purge codes has them (1012 to 1115).
const (
	cfCodeNoRoute         = 7000 // No route for that URI
	cfCodeBadZone         = 7003 // Could not route to ..., perhaps your object identifier is invalid?
	cfCodeMissingAuth     = 9106 // Missing X-Auth-Key, X-Auth-Email or Authorization headers
	cfCodeBadHeaders      = 6003 // Invalid request headers, with 6111 in its error_chain
	cfCodeBadAuthFormat   = 6111 // Invalid format for Authorization header
	cfCodeMalformedJSON   = 6007 // Malformed JSON in request body
	cfCodeAuthentication  = 10000
	cfCodeNoKind          = 1012 // Request must contain one of ...
	cfCodeEverythingFalse = 1013 // 'purge_everything' must be true
	cfCodeNotArray        = 1014 // ... must be an array
	cfCodeBadItem         = 1015 // Unable to purge <item>
	cfCodeMixed           = 1092 // Request cannot contain 'purge_everything' and any of ...
	cfCodeTooManyFiles    = 1094
	cfCodeTagTooLong      = 1100
	cfCodeTooManyTags     = 1101
	cfCodeTooManyHosts    = 1111
	cfCodeHostTooLong     = 1114
	cfCodeBadHost         = 1115
	cfCodeRateLimited     = 971 // Please wait and consider throttling your request speed
	cfCodeInternal        = 10001
)

// The kinds of a purge, as CloudflarePurge.Kind names them: the body's
// keys, and "everything" for purge_everything.
const (
	cloudflareFiles      = "files"
	cloudflareTags       = "tags"
	cloudflareHosts      = "hosts"
	cloudflarePrefixes   = "prefixes"
	cloudflareEverything = "everything"
)

// cloudflareListKinds are the body's list keys, in the order messages name
// them.
var cloudflareListKinds = []string{cloudflareFiles, cloudflareTags, cloudflareHosts, cloudflarePrefixes}

// CloudflarePurge is one purge the emulator answered with success.
type CloudflarePurge struct {
	// ID is the result ID the emulator answered with (32 hex digits).
	ID string `json:"id"`
	// Kind is "files", "tags", "hosts", "prefixes" or "everything".
	Kind string `json:"kind"`
	// Items are the items purged, as sent: a file's URL (its headers
	// dropped), a tag, a host or a prefix; nil for everything.
	Items []string `json:"items"`
	// Time is when the emulator answered, by Options.Now.
	Time time.Time `json:"time"`
}

// cloudflareState is what the emulator keeps of Cloudflare: the zones that
// exist, the tokens it accepts and the purges made.
type cloudflareState struct {
	calls atomic.Int64 // purge_cache requests routed, whatever the answer

	mu     sync.Mutex
	zones  map[string][]CloudflarePurge // zone ID to its purges, oldest first
	tokens map[string]bool              // nil: any well-formed token
}

func (s *cloudflareState) init(zones, tokens []string) {
	s.zones = make(map[string][]CloudflarePurge, len(zones))
	for _, z := range zones {
		s.zones[z] = nil
	}
	if tokens != nil {
		s.tokens = make(map[string]bool, len(tokens))
		for _, t := range tokens {
			s.tokens[t] = true
		}
	}
}

// AddCloudflareZone makes a Cloudflare zone with the given ID exist. Adding
// an ID that already exists changes nothing.
func (e *Emulator) AddCloudflareZone(id string) {
	s := &e.cloudflare
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.zones[id]; !ok {
		s.zones[id] = nil
	}
}

// CloudflarePurges returns the purges made in the zone, oldest first, or
// nil if it has none or does not exist. It reads the emulator's state
// directly, past any Faults.
func (e *Emulator) CloudflarePurges(zoneID string) []CloudflarePurge {
	s := &e.cloudflare
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.zones[zoneID])
}

// CloudflareCalls returns how many purge_cache requests the emulator has
// served: every request routed to the operation, whatever the answer,
// errors and injected faults included, so that a client's retries count as
// the calls they are.
func (e *Emulator) CloudflareCalls() int { return int(e.cloudflare.calls.Load()) }

// cloudflareError is one failure as Cloudflare's envelope reports it.
// detail, when set, is for the emulator's log only.
type cloudflareError struct {
	status  int
	code    int
	message string
	chain   []cloudflareMessage // error_chain, as 6003 carries it
	header  http.Header         // extra response headers (Retry-After)
	detail  error
}

func cfError(status, code int, format string, args ...any) *cloudflareError {
	return &cloudflareError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// cloudflareMessage is one entry of an envelope's errors or messages.
type cloudflareMessage struct {
	Code       int                 `json:"code"`
	Message    string              `json:"message"`
	ErrorChain []cloudflareMessage `json:"error_chain,omitempty"`
}

// cloudflareEnvelope is the body of every answer of Cloudflare's v4 API.
type cloudflareEnvelope struct {
	Success  bool                `json:"success"`
	Errors   []cloudflareMessage `json:"errors"`
	Messages []cloudflareMessage `json:"messages"`
	Result   any                 `json:"result"`
}

// serveCloudflare answers a request to Cloudflare's API or to the
// emulator's Cloudflare reports, and reports whether the request was one.
func (e *Emulator) serveCloudflare(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case strings.HasPrefix(r.URL.Path, CloudflarePurgesPathPrefix):
		e.serveCloudflarePurges(w, r)
		return true
	case !strings.HasPrefix(r.URL.Path, cloudflareAPIPrefix):
		return false
	}
	sw := &statusWriter{ResponseWriter: w}
	zone, cerr := cloudflareRoute(r)
	if cerr == nil {
		e.cloudflare.calls.Add(1)
		cerr = e.cloudflareAuthorize(r)
	}
	if cerr == nil {
		cerr = e.cloudflareZone(zone)
	}
	if cerr == nil && e.faults != nil {
		r, cerr = e.cloudflareFault(sw, r)
	}
	var p *CloudflarePurge
	if cerr == nil {
		p, cerr = e.cloudflarePurge(sw, r, zone)
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("operation", OpCloudflarePurgeCache),
	}
	if cerr != nil {
		attrs = append(attrs, slog.Int("code", cerr.code))
		if cerr.detail != nil {
			attrs = append(attrs, slog.String("detail", cerr.detail.Error()))
		}
		writeCloudflareError(sw, cerr)
	} else {
		attrs = append(attrs, slog.String("purge_id", p.ID), slog.String("kind", p.Kind), slog.Int("items", len(p.Items)))
		writeCloudflare(sw, http.StatusOK, cloudflareEnvelope{
			Success: true, Errors: []cloudflareMessage{}, Messages: []cloudflareMessage{},
			Result: map[string]string{"id": p.ID},
		})
	}
	attrs = append(attrs, slog.Int("status", sw.status))
	// Never the Authorization header: it holds the token.
	e.log.LogAttrs(r.Context(), slog.LevelDebug, "cloudflare emulator request", attrs...)
	return true
}

// cloudflareRoute returns the zone ID of a purge_cache request, or the
// error Cloudflare answers a path or method it does not serve with.
func cloudflareRoute(r *http.Request) (string, *cloudflareError) {
	seg := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), cloudflareAPIPrefix), "/")
	if len(seg) != 3 || seg[0] != "zones" || seg[2] != "purge_cache" {
		return "", cfError(http.StatusNotFound, cfCodeNoRoute, "No route for that URI")
	}
	zone, err := url.PathUnescape(seg[1])
	if err != nil || zone == "" {
		return "", cfError(http.StatusNotFound, cfCodeBadZone,
			"Could not route to %s, perhaps your object identifier is invalid?", strings.TrimPrefix(r.URL.Path, "/client/v4"))
	}
	if r.Method != http.MethodPost {
		e := cfError(http.StatusMethodNotAllowed, cfCodeNoRoute, "No route for that URI")
		e.header = http.Header{"Allow": {http.MethodPost}}
		return "", e
	}
	return zone, nil
}

// cloudflareAuthorize checks the API token of r as Cloudflare does: an
// Authorization header is required (9106 otherwise), of the form
// "Bearer <token>" (6003 with 6111 otherwise), and the token must be one
// Options.CloudflareTokens lists, when it lists any (10000 otherwise). A
// Global API Key (X-Auth-Key and X-Auth-Email) is not emulated.
func (e *Emulator) cloudflareAuthorize(r *http.Request) *cloudflareError {
	h, ok := r.Header["Authorization"]
	if !ok || len(h) == 0 {
		return cfError(http.StatusBadRequest, cfCodeMissingAuth, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
	}
	scheme, token, found := strings.Cut(h[0], " ")
	if len(h) != 1 || !found || !strings.EqualFold(scheme, "Bearer") || !isToken(token) {
		err := cfError(http.StatusBadRequest, cfCodeBadHeaders, "Invalid request headers")
		err.chain = []cloudflareMessage{{Code: cfCodeBadAuthFormat, Message: "Invalid format for Authorization header"}}
		return err
	}
	s := &e.cloudflare
	s.mu.Lock()
	known := s.tokens == nil || s.tokens[token]
	s.mu.Unlock()
	if !known {
		return cfError(http.StatusUnauthorized, cfCodeAuthentication, "Authentication error")
	}
	return nil
}

// isToken reports whether t has the form of an API token: letters, digits
// and the characters of RFC 6750's b64token.
func isToken(t string) bool {
	t = strings.TrimRight(t, "=")
	if t == "" {
		return false
	}
	for _, c := range []byte(t) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}

// cloudflareZone refuses a zone that does not exist, as Cloudflare routes
// a zone ID it does not know.
func (e *Emulator) cloudflareZone(zone string) *cloudflareError {
	s := &e.cloudflare
	s.mu.Lock()
	_, ok := s.zones[zone]
	s.mu.Unlock()
	if !ok {
		return cfError(http.StatusNotFound, cfCodeBadZone,
			"Could not route to /zones/%s/purge_cache, perhaps your object identifier is invalid?", zone)
	}
	return nil
}

// cloudflareFault serves the faults Options.Faults draws for the request
// (the injector's, as for CloudFront's operations: the delay, then the
// error), answering a throttle as Cloudflare's token bucket does, 429 with
// Retry-After, and an outage with 503. It returns the request to go on
// with (its body held in memory after a delay), or the error to answer.
func (e *Emulator) cloudflareFault(w http.ResponseWriter, r *http.Request) (*http.Request, *cloudflareError) {
	r, injected := e.faults.inject(w, r, OpCloudflarePurgeCache)
	switch {
	case injected == nil:
		return r, nil
	case injected.code == codeThrottling:
		err := cfError(http.StatusTooManyRequests, cfCodeRateLimited, "Please wait and consider throttling your request speed")
		// Cloudflare's REST API sends Retry-After, in whole seconds rounded
		// up, with every 429.
		err.header = http.Header{"Retry-After": {CloudflareRetryAfter}}
		err.detail = injected
		return r, err
	}
	err := cfError(http.StatusServiceUnavailable, cfCodeInternal, "Service temporarily unavailable, please try again later")
	err.detail = injected
	return r, err
}

// CloudflareRetryAfter is the Retry-After, in seconds, of an injected
// Cloudflare 429.
const CloudflareRetryAfter = "1"

// cloudflarePurge reads, checks and records the purge r asks for in zone.
func (e *Emulator) cloudflarePurge(w http.ResponseWriter, r *http.Request, zone string) (*CloudflarePurge, *cloudflareError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, cloudflareMaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, cfError(http.StatusRequestEntityTooLarge, cfCodeMalformedJSON, "Request body too large")
		}
		e := cfError(http.StatusBadRequest, cfCodeMalformedJSON, "Malformed JSON in request body")
		e.detail = err
		return nil, e
	}
	kind, items, cerr := parseCloudflarePurge(body)
	if cerr != nil {
		return nil, cerr
	}
	p := CloudflarePurge{ID: newCloudflareID(), Kind: kind, Items: items, Time: e.now()}
	s := &e.cloudflare
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zones[zone] = append(s.zones[zone], p) // zones are never removed: it still exists
	return &p, nil
}

// parseCloudflarePurge checks a purge_cache body by Cloudflare's rules and
// returns its kind and items, or the 400 Cloudflare answers it with.
func parseCloudflarePurge(body []byte) (string, []string, *cloudflareError) {
	malformed := cfError(http.StatusBadRequest, cfCodeMalformedJSON, "Malformed JSON in request body")
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return "", nil, malformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", nil, malformed // trailing data after the object
	}
	present := func(k string) bool {
		v, ok := fields[k]
		return ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null"))
	}
	var kinds []string
	for _, k := range cloudflareListKinds {
		if present(k) {
			kinds = append(kinds, k)
		}
	}
	everything := present("purge_everything")
	switch {
	case everything && len(kinds) > 0:
		return "", nil, cfError(http.StatusBadRequest, cfCodeMixed,
			"Request cannot contain 'purge_everything' and any of 'files', 'tags', 'hosts' or 'prefixes'")
	case everything:
		var v bool
		if err := json.Unmarshal(fields["purge_everything"], &v); err != nil || !v {
			return "", nil, cfError(http.StatusBadRequest, cfCodeEverythingFalse, "'purge_everything' must be true")
		}
		return cloudflareEverything, nil, nil
	case len(kinds) == 0:
		return "", nil, errNoKind()
	case len(kinds) > 1:
		return "", nil, cfError(http.StatusBadRequest, cfCodeMixed,
			"Request cannot contain more than one of 'files', 'tags', 'hosts' or 'prefixes': purge one kind per request")
	}
	kind := kinds[0]
	var raw []json.RawMessage
	if err := json.Unmarshal(fields[kind], &raw); err != nil {
		return "", nil, cfError(http.StatusBadRequest, cfCodeNotArray, "'files', 'tags', 'hosts' or 'prefixes' must be an array")
	}
	switch {
	case len(raw) == 0:
		return "", nil, errNoKind()
	case len(raw) > cloudflareMaxItems, kind == cloudflarePrefixes && len(raw) > cloudflareMaxPrefixes:
		return "", nil, errTooMany(kind, len(raw))
	}
	items := make([]string, 0, len(raw))
	for _, v := range raw {
		it, cerr := cloudflareItem(kind, v)
		if cerr != nil {
			return "", nil, cerr
		}
		items = append(items, it)
	}
	return kind, items, nil
}

func errNoKind() *cloudflareError {
	return cfError(http.StatusBadRequest, cfCodeNoKind,
		"Request must contain one of 'purge_everything', 'files', 'tags', 'hosts' or 'prefixes'")
}

// errTooMany is the refusal of a list of n items of kind, more than
// cloudflareMaxItems. Cloudflare's list has codes for files, tags and hosts;
// prefixes get the files' code.
func errTooMany(kind string, n int) *cloudflareError {
	code := map[string]int{cloudflareTags: cfCodeTooManyTags, cloudflareHosts: cfCodeTooManyHosts}[kind]
	if code == 0 {
		code = cfCodeTooManyFiles
	}
	limit := cloudflareMaxItems
	if kind == cloudflarePrefixes {
		limit = cloudflareMaxPrefixes
	}
	return cfError(http.StatusBadRequest, code,
		"Exceeded maximum amount of %d %s that can be purged on a single request (%d given)", limit, kind, n)
}

// cloudflareItem checks one item of a list of kind and returns it as
// recorded.
func cloudflareItem(kind string, v json.RawMessage) (string, *cloudflareError) {
	if kind == cloudflareFiles {
		return cloudflareFile(v)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", cfError(http.StatusBadRequest, cfCodeNotArray, "'%s' must be an array of strings", kind)
	}
	switch kind {
	case cloudflareTags:
		switch {
		case strings.TrimSpace(s) == "":
			return "", cfError(http.StatusBadRequest, cfCodeBadItem, "Unable to purge an empty tag")
		case len(s) > 1024:
			return "", cfError(http.StatusBadRequest, cfCodeTagTooLong, "Tag exceeds maximum length of 1024 characters")
		}
	case cloudflareHosts:
		switch {
		case len(s) > 200:
			return "", cfError(http.StatusBadRequest, cfCodeHostTooLong, "Host exceeds maximum length of 200 characters")
		case !isHostname(s):
			return "", cfError(http.StatusBadRequest, cfCodeBadHost, "Invalid host")
		}
	case cloudflarePrefixes:
		// "www.example.com/foo": a host, then a path, with no scheme, no
		// wildcard and no query string (purge by prefix).
		host, _, _ := strings.Cut(s, "/")
		switch {
		case strings.Contains(s, "://"):
			return "", cfError(http.StatusBadRequest, cfCodeBadItem,
				"Unable to purge %s: a prefix has no scheme (host/path)", s)
		case strings.ContainsAny(s, "*?#"), !isHostname(host):
			return "", cfError(http.StatusBadRequest, cfCodeBadItem, "Unable to purge %s, which is an invalid prefix.", s)
		}
	}
	return s, nil
}

// cloudflareFile checks one item of "files": a URL, or an object with a
// "url" and the "headers" of its cache key.
func cloudflareFile(v json.RawMessage) (string, *cloudflareError) {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		var obj struct {
			URL     *string           `json:"url"`
			Headers map[string]string `json:"headers"`
		}
		if err := json.Unmarshal(v, &obj); err != nil || obj.URL == nil {
			return "", cfError(http.StatusBadRequest, cfCodeNotArray,
				"'files' must be an array of URLs or of objects with a 'url' and 'headers'")
		}
		s = *obj.URL
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !isHostname(u.Hostname()) || u.User != nil {
		return "", cfError(http.StatusBadRequest, cfCodeBadItem, "Unable to purge %s, which is an invalid URL.", s)
	}
	return s, nil
}

// isHostname reports whether h looks like a host name: dot-separated
// labels of letters, digits, '-' and '_'.
func isHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// newCloudflareID returns a purge result ID shaped like Cloudflare's: 32
// hex digits.
func newCloudflareID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// writeCloudflareError writes err in Cloudflare's envelope.
func writeCloudflareError(w http.ResponseWriter, err *cloudflareError) {
	for k, vs := range err.header {
		w.Header()[k] = vs
	}
	writeCloudflare(w, err.status, cloudflareEnvelope{
		Errors:   []cloudflareMessage{{Code: err.code, Message: err.message, ErrorChain: err.chain}},
		Messages: []cloudflareMessage{},
	})
}

// writeCloudflare writes env as JSON with the given status, and a CF-Ray
// header as Cloudflare's edge sends with every answer.
func writeCloudflare(w http.ResponseWriter, status int, env cloudflareEnvelope) {
	body, err := json.Marshal(env)
	if err != nil {
		// Only strings, ints, bools and maps of strings: this does not happen.
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var ray [8]byte
	_, _ = rand.Read(ray[:])
	w.Header().Set("CF-Ray", hex.EncodeToString(ray[:])+"-EMU")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// serveCloudflarePurges answers a GET from loopback of
// CloudflarePurgesPathPrefix + "{zone_id}/purges" with the zone's purges
// as JSON; anything else there gets Cloudflare's 404.
func (e *Emulator) serveCloudflarePurges(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, CloudflarePurgesPathPrefix)
	zone, tail, _ := strings.Cut(rest, "/")
	if r.Method != http.MethodGet || tail != "purges" || zone == "" || !fromLoopback(r) {
		writeCloudflareError(w, cfError(http.StatusNotFound, cfCodeNoRoute, "No route for that URI"))
		return
	}
	s := &e.cloudflare
	s.mu.Lock()
	purges, ok := s.zones[zone]
	purges = slices.Clone(purges)
	s.mu.Unlock()
	if !ok {
		writeCloudflareError(w, cfError(http.StatusNotFound, cfCodeBadZone, "The emulator has no zone %s", zone))
		return
	}
	if purges == nil {
		purges = []CloudflarePurge{}
	}
	body, _ := json.Marshal(purges) // strings and times: never fails
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
