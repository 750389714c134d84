package emulator

import (
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Options configures an Emulator. The zero value is usable: no distributions
// or tenants, invalidations that complete at once, the real clock, no logging
// and no injected faults.
type Options struct {
	// Distributions are the IDs of the distributions that exist; any other
	// ID gets NoSuchDistribution. More can be added with AddDistribution.
	Distributions []string
	// Tenants are the IDs of the distribution tenants that exist (dt_...);
	// any other ID gets EntityNotFound from the tenant operations. More can
	// be added with AddTenant.
	Tenants []string
	// CompleteAfter is how long an invalidation stays InProgress after its
	// creation before it is Completed. Zero completes it at once.
	CompleteAfter time.Duration
	// Now is the clock; nil means time.Now. Tests inject a fake clock.
	Now func() time.Time
	// Logger receives a debug line per request and an info line per new
	// invalidation; nil discards them.
	Logger *slog.Logger
	// Faults injects errors and latency, as CloudFront does at a peak (see
	// Faults); the zero value injects nothing. InjectedFaults counts them.
	Faults Faults
	// FastlyServices are the IDs of the Fastly services that exist for
	// the emulator's Fastly purge API (fastly.go); more can be added with
	// AddFastlyService. FastlyTokens, when set, are the only Fastly-Key
	// values it accepts; otherwise any non-empty one is.
	FastlyServices, FastlyTokens []string
	// CloudflareZones are the IDs of the Cloudflare zones that exist (see
	// cloudflare.go); more can be added with AddCloudflareZone.
	CloudflareZones []string
	// CloudflareTokens, when not nil, are the only Cloudflare API tokens
	// accepted; nil accepts any well-formed token.
	CloudflareTokens []string
}

// Emulator is a CloudFront API emulator. It implements http.Handler and is
// safe for concurrent use. Create one with New.
type Emulator struct {
	completeAfter time.Duration
	now           func() time.Time
	log           *slog.Logger
	faults        *faultInjector // nil when no faults are configured
	calls         callCounter    // requests served per operation (calls.go)
	fastly        fastlyState    // the Fastly purge API's services and purges (fastly.go)

	cloudflare cloudflareState // Cloudflare's zones, tokens and purges (cloudflare.go)

	mu     sync.Mutex
	owners map[resource]*distribution // the distributions and tenants that exist
	byID   map[string]*invalidation   // every invalidation, whoever owns it: IDs are unique
}

// New returns an Emulator configured by opts.
func New(opts Options) *Emulator {
	e := &Emulator{
		completeAfter: max(opts.CompleteAfter, 0),
		now:           opts.Now,
		log:           opts.Logger,
		owners:        make(map[resource]*distribution),
		byID:          make(map[string]*invalidation),
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.faults = newFaultInjector(opts.Faults, e.now)
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	for _, id := range opts.Distributions {
		e.AddDistribution(id)
	}
	for _, id := range opts.Tenants {
		e.AddTenant(id)
	}
	e.initFastly(opts)
	e.cloudflare.init(opts.CloudflareZones, opts.CloudflareTokens)
	return e
}

// AddDistribution makes a distribution with the given ID exist. Adding an ID
// that already exists changes nothing.
func (e *Emulator) AddDistribution(id string) { e.add(resource{kindDistribution, id}) }

// AddTenant makes a distribution tenant with the given ID (dt_...) exist,
// with invalidations of its own, under the same rules and limits as a
// distribution's. Adding an ID that already exists changes nothing.
func (e *Emulator) AddTenant(id string) { e.add(resource{kindTenant, id}) }

func (e *Emulator) add(res resource) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.owners[res]; !ok {
		e.owners[res] = newDistribution()
	}
}

// The kinds of resource that own invalidations, as the API's paths name
// them: /2020-05-31/{kind}/{id}/invalidation.
const (
	kindDistribution = "distribution"
	kindTenant       = "distribution-tenant"
)

// resource is what owns invalidations: a distribution, or a distribution
// tenant of a multi-tenant distribution.
type resource struct {
	kind string // kindDistribution or kindTenant
	id   string
}

// noun names the kind of r for messages.
func (r resource) noun() string {
	if r.kind == kindTenant {
		return "distribution tenant"
	}
	return "distribution"
}

// logAttr is r's ID for a log line, under a key that says its kind.
func (r resource) logAttr() slog.Attr {
	if r.kind == kindTenant {
		return slog.String("distribution_tenant_id", r.id)
	}
	return slog.String("distribution_id", r.id)
}

// tenantSuffix turns an invalidation operation's name into the name of its
// distribution-tenant twin: CreateInvalidation and
// CreateInvalidationForDistributionTenant.
const tenantSuffix = "ForDistributionTenant"

// operation is a request resolved to one CloudFront API operation.
type operation struct {
	action string // OpCreateInvalidation, OpGetInvalidation or OpListInvalidations
	resource
	invalidationID string // GetInvalidation only
}

// name is CloudFront's name of the operation, e.g. CreateInvalidation or
// CreateInvalidationForDistributionTenant; "" if the request was not routed.
func (op operation) name() string {
	if op.kind == kindTenant {
		return op.action + tenantSuffix
	}
	return op.action
}

// ServeHTTP answers one CloudFront API request, or one of Fastly's
// (fastly.go) or Cloudflare's (cloudflare.go) purge APIs.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e.serveFastly(w, r) || e.serveCloudflare(w, r) {
		return
	}
	requestID := newRequestID()
	w.Header().Set("x-amzn-RequestId", requestID)
	if e.serveCalls(w, r) {
		return
	}
	// CloudFront's Date and its CreateTimes come from one clock, the
	// emulator's (which a test may set): a client tells a repeated
	// CallerReference's answer from a new invalidation by comparing them.
	w.Header().Set("Date", e.now().UTC().Format(http.TimeFormat))
	sw := &statusWriter{ResponseWriter: w}
	w = sw

	op, err := route(r)
	if err == nil {
		e.calls.add(op.name())
	}
	// Injected faults come after routing, so that they can target
	// operations, and before the handler, so that a fault leaves the
	// emulator's state untouched.
	if err == nil && e.faults != nil {
		r, err = e.faults.inject(w, r, op.name())
	}
	if err == nil {
		switch op.action {
		case OpCreateInvalidation:
			err = e.createInvalidation(w, r, op)
		case OpGetInvalidation:
			err = e.getInvalidation(w, r, op)
		case OpListInvalidations:
			err = e.listInvalidations(w, r, op)
		}
	}

	attrs := []slog.Attr{
		slog.String("request_id", requestID),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("operation", op.name()),
	}
	if err != nil {
		attrs = append(attrs, slog.String("code", err.code))
		if err.err != nil {
			attrs = append(attrs, slog.String("detail", err.err.Error()))
		}
		writeError(w, requestID, err)
	}
	attrs = append(attrs, slog.Int("status", sw.status))
	e.log.LogAttrs(r.Context(), slog.LevelDebug, "cloudfront emulator request", attrs...)
}

// route resolves a request to an operation: the three invalidation
// operations under /2020-05-31/distribution/{Id}/invalidation, and their
// distribution-tenant twins under
// /2020-05-31/distribution-tenant/{Id}/invalidation. A path it does not know
// is NotFound; a known path with the wrong method is MethodNotAllowed.
func route(r *http.Request) (operation, *apiError) {
	notFound := newAPIError(http.StatusNotFound, codeNotFound,
		"The resource %s is not part of the CloudFront API this emulator serves.", r.URL.Path)
	seg := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	if len(seg) < 4 || len(seg) > 5 || seg[0] != apiVersion ||
		(seg[1] != kindDistribution && seg[1] != kindTenant) || seg[3] != "invalidation" {
		return operation{}, notFound
	}
	id, uerr := url.PathUnescape(seg[2])
	if uerr != nil || id == "" {
		return operation{}, notFound
	}
	op := operation{resource: resource{kind: seg[1], id: id}}
	var allow string
	if len(seg) == 4 {
		switch r.Method {
		case http.MethodPost:
			op.action = OpCreateInvalidation
			return op, nil
		case http.MethodGet:
			op.action = OpListInvalidations
			return op, nil
		}
		allow = http.MethodGet + ", " + http.MethodPost
	} else {
		invID, uerr := url.PathUnescape(seg[4])
		if uerr != nil || invID == "" {
			return operation{}, notFound
		}
		op.invalidationID = invID
		if r.Method == http.MethodGet {
			op.action = OpGetInvalidation
			return op, nil
		}
		allow = http.MethodGet
	}
	notAllowed := newAPIError(http.StatusMethodNotAllowed, codeMethodNotAllowed,
		"The method %s is not allowed on %s.", r.Method, r.URL.Path)
	notAllowed.allow = allow
	return operation{}, notAllowed
}

// writeXML writes v as an XML document with the given status.
func writeXML(w http.ResponseWriter, status int, v any) *apiError {
	body, err := xml.Marshal(v)
	if err != nil {
		// Only strings, ints and bools are marshalled; this does not happen.
		return newAPIError(http.StatusInternalServerError, "InternalError",
			"The emulator could not encode its answer.").wrap(fmt.Errorf("marshal %T: %w", v, err))
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write(append([]byte(xml.Header), body...))
	return nil
}

// writeError writes err as a CloudFront ErrorResponse.
func writeError(w http.ResponseWriter, requestID string, err *apiError) {
	body, merr := xml.Marshal(errorResponseXML{
		Error:     errorXML{Type: err.errorType(), Code: err.code, Message: err.message},
		RequestID: requestID,
	})
	if merr != nil {
		// Only strings are marshalled; this does not happen.
		http.Error(w, err.code+": "+err.message, err.status)
		return
	}
	if err.allow != "" {
		w.Header().Set("Allow", err.allow)
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(err.status)
	_, _ = w.Write(append([]byte(errorHeader), body...))
}

// newRequestID returns a random request ID shaped like CloudFront's (a UUID).
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// statusWriter remembers the status code written, for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
