package emulator

import (
	"bytes"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// CloudFront's invalidation limits (Amazon CloudFront Developer Guide,
// "Concurrent invalidation request maximum" and "Invalidation paths") and
// ListInvalidations' default page size.
const (
	maxPathsPerBatch       = 3000 // paths in one InvalidationBatch
	maxTagLength           = 256  // characters of a cache tag, without its "#"
	maxFilePathsInProgress = 3000 // non-wildcard paths in progress per distribution or tenant
	maxWildcardsInProgress = 15   // wildcard paths in progress per distribution or tenant
	maxPathLength          = 4000 // characters in one path
	defaultMaxItems        = 100  // ListInvalidations page size when MaxItems is absent
)

// The statuses an invalidation reports.
const (
	statusInProgress = "InProgress"
	statusCompleted  = "Completed"
)

const (
	// maxRequestBodyBytes bounds a CreateInvalidation body: 3,000 paths of
	// 4,000 characters fit, with room for XML and escaping.
	maxRequestBodyBytes = 16 << 20
	// An invalidation ID is "I" and invalidationIDLength characters of
	// invalidationIDAlphabet; random bytes at or above invalidationIDReroll
	// are dropped so that every character is equally likely.
	invalidationIDLength   = 13
	invalidationIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	invalidationIDReroll   = 256 - 256%len(invalidationIDAlphabet)
	// maxPathInErrorMessage is how much of a bad path an error message quotes.
	maxPathInErrorMessage = 80
)

// distribution holds the invalidations of one distribution, or of one
// distribution tenant: a tenant keeps its own, under the same rules and
// limits.
type distribution struct {
	invalidations []*invalidation          // oldest first
	byID          map[string]*invalidation // by invalidation ID
	byRef         map[string]*invalidation // by CallerReference
}

func newDistribution() *distribution {
	return &distribution{
		byID:  make(map[string]*invalidation),
		byRef: make(map[string]*invalidation),
	}
}

// invalidation is one accepted batch. It never changes after creation; its
// status is derived from created and the clock.
type invalidation struct {
	id              string
	callerReference string
	paths           []string
	created         time.Time
	files           int    // paths not ending in '*'
	wildcards       int    // paths ending in '*'
	accessKeyID     string // that signed the request that created it; "" if unsigned
}

// status reports the invalidation's status at now.
func (e *Emulator) status(inv *invalidation, now time.Time) string {
	if now.Before(inv.created.Add(e.completeAfter)) {
		return statusInProgress
	}
	return statusCompleted
}

func (e *Emulator) invalidationXML(inv *invalidation, now time.Time) invalidationXML {
	return invalidationXML{
		ID:         inv.id,
		Status:     e.status(inv, now),
		CreateTime: formatTime(inv.created),
		InvalidationBatch: batchXML{
			Paths:           pathsXML{Quantity: len(inv.paths), Items: inv.paths},
			CallerReference: inv.callerReference,
		},
	}
}

// owner returns the invalidations of res, or the error CloudFront answers
// when res does not exist: NoSuchDistribution, or EntityNotFound for a
// distribution tenant. The caller must hold e.mu.
func (e *Emulator) owner(res resource) (*distribution, *apiError) {
	d, ok := e.owners[res]
	if !ok {
		return nil, errNotFound(res)
	}
	return d, nil
}

// createInvalidation serves POST /2020-05-31/distribution/{Id}/invalidation
// and POST /2020-05-31/distribution-tenant/{Id}/invalidation.
func (e *Emulator) createInvalidation(w http.ResponseWriter, r *http.Request, op operation) *apiError {
	e.mu.Lock()
	_, aerr := e.owner(op.resource)
	e.mu.Unlock()
	if aerr != nil {
		return aerr
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return newAPIError(http.StatusRequestEntityTooLarge, codeBatchTooLarge,
				"Invalidation batch specified is too large.").wrap(err)
		}
		return errMalformedInput(fmt.Errorf("read request body: %w", err))
	}
	batch, aerr := parseBatch(body)
	if aerr != nil {
		return aerr
	}
	batch.accessKeyID = accessKeyID(r)

	inv, created, aerr := e.addInvalidation(op.resource, batch)
	if aerr != nil {
		return aerr
	}
	if created {
		// Not the access key ID: AWS keys stay out of logs.
		e.log.LogAttrs(r.Context(), slog.LevelInfo, "cloudfront emulator created invalidation",
			op.logAttr(),
			slog.String("invalidation_id", inv.id),
			slog.Int("paths", len(inv.paths)))
	}

	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	w.Header().Set("Location", (&url.URL{
		Scheme: scheme,
		Host:   r.Host,
		Path:   "/" + apiVersion + "/" + op.kind + "/" + op.id + "/invalidation/" + inv.id,
	}).String())
	// A repeated CallerReference with the same paths also answers 201: the
	// API reference documents no other success status for CreateInvalidation.
	return writeXML(w, http.StatusCreated, e.invalidationXML(inv, e.now()))
}

// addInvalidation stores a new invalidation for batch, or returns the one
// already created with the same CallerReference and paths. created reports
// whether it is new.
func (e *Emulator) addInvalidation(res resource, batch *invalidation) (inv *invalidation, created bool, _ *apiError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, aerr := e.owner(res)
	if aerr != nil {
		return nil, false, aerr
	}
	if prev, ok := d.byRef[batch.callerReference]; ok {
		if samePaths(prev.paths, batch.paths) {
			return prev, false, nil
		}
		return nil, false, newAPIError(http.StatusBadRequest, codeInvalidationBatchAlreadyExists,
			"An invalidation batch with CallerReference %q already exists with different paths (invalidation %s).",
			batch.callerReference, prev.id)
	}

	now := e.now()
	var files, wildcards int
	for _, inv := range d.invalidations {
		if e.status(inv, now) == statusInProgress {
			files += inv.files
			wildcards += inv.wildcards
		}
	}
	if wildcards+batch.wildcards > maxWildcardsInProgress {
		return nil, false, newAPIError(http.StatusBadRequest, codeTooManyInvalidationsInProgress,
			"Processing your request would exceed the maximum of %d wildcard invalidation paths in progress for this %s (%d in progress, %d requested).",
			maxWildcardsInProgress, res.noun(), wildcards, batch.wildcards)
	}
	if files+batch.files > maxFilePathsInProgress {
		return nil, false, newAPIError(http.StatusBadRequest, codeTooManyInvalidationsInProgress,
			"Processing your request would exceed the maximum of %d file invalidation paths in progress for this %s (%d in progress, %d requested).",
			maxFilePathsInProgress, res.noun(), files, batch.files)
	}

	batch.id = e.newInvalidationID()
	batch.created = now
	d.invalidations = append(d.invalidations, batch)
	d.byID[batch.id] = batch
	d.byRef[batch.callerReference] = batch
	e.byID[batch.id] = batch
	return batch, true, nil
}

// getInvalidation serves GET /2020-05-31/distribution/{Id}/invalidation/{InvId}
// and GET /2020-05-31/distribution-tenant/{DistributionTenantId}/invalidation/{Id}.
func (e *Emulator) getInvalidation(w http.ResponseWriter, _ *http.Request, op operation) *apiError {
	e.mu.Lock()
	d, aerr := e.owner(op.resource)
	var inv *invalidation
	if aerr == nil {
		inv = d.byID[op.invalidationID]
	}
	e.mu.Unlock()
	if aerr != nil {
		return aerr
	}
	if inv == nil {
		return errNoSuchInvalidation(op.invalidationID)
	}
	return writeXML(w, http.StatusOK, e.invalidationXML(inv, e.now()))
}

// listInvalidations serves GET /2020-05-31/distribution/{Id}/invalidation
// and GET /2020-05-31/distribution-tenant/{Id}/invalidation, newest first.
// Marker is the ID of the last invalidation of the previous page (its
// NextMarker); the page starts after it.
func (e *Emulator) listInvalidations(w http.ResponseWriter, r *http.Request, op operation) *apiError {
	q := r.URL.Query()
	maxItems := defaultMaxItems
	if q.Has("MaxItems") {
		n, err := strconv.ParseInt(q.Get("MaxItems"), 10, 32)
		if err != nil || n < 1 {
			return errInvalidArgument("MaxItems must be a positive integer, not %q.", q.Get("MaxItems")).wrap(err)
		}
		maxItems = int(n)
	}
	marker := q.Get("Marker")

	e.mu.Lock()
	d, aerr := e.owner(op.resource)
	var all []*invalidation
	if aerr == nil {
		all = slices.Clone(d.invalidations)
	}
	e.mu.Unlock()
	if aerr != nil {
		return aerr
	}
	slices.Reverse(all)

	start := 0
	if marker != "" {
		i := slices.IndexFunc(all, func(inv *invalidation) bool { return inv.id == marker })
		if i < 0 {
			return errInvalidArgument("Marker %q does not name an invalidation of %s %s.", marker, op.noun(), op.id)
		}
		start = i + 1
	}
	end := min(start+maxItems, len(all))
	page := all[start:end]

	now := e.now()
	out := invalidationListXML{
		Marker:      marker,
		MaxItems:    maxItems,
		IsTruncated: end < len(all),
		Quantity:    len(page),
	}
	if out.IsTruncated {
		out.NextMarker = page[len(page)-1].id
	}
	if len(page) > 0 {
		out.Items = &summaryList{}
		for _, inv := range page {
			out.Items.Summaries = append(out.Items.Summaries, summaryXML{
				ID:         inv.id,
				CreateTime: formatTime(inv.created),
				Status:     e.status(inv, now),
			})
		}
	}
	return writeXML(w, http.StatusOK, out)
}

// parseBatch decodes and checks a CreateInvalidation body. It returns the
// batch as an invalidation without ID and creation time.
func parseBatch(body []byte) (*invalidation, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, newAPIError(http.StatusBadRequest, codeMissingBody,
			"This operation requires a body. Ensure that the body is present and the Content-Type header is set.")
	}
	in, err := decodeBatch(body)
	if err != nil {
		return nil, errMalformedInput(err)
	}

	var quantity int
	var items []string
	if in.Paths != nil {
		if in.Paths.Quantity == nil {
			return nil, errMalformedInput(errors.New("element Paths has no Quantity"))
		}
		quantity, err = strconv.Atoi(strings.TrimSpace(*in.Paths.Quantity))
		if err != nil {
			return nil, errMalformedInput(fmt.Errorf("element Quantity: %w", err))
		}
		if in.Paths.Items != nil {
			items = in.Paths.Items.Path
		}
	}
	if quantity != len(items) {
		return nil, newAPIError(http.StatusBadRequest, codeInconsistentQuantities,
			"The value of Quantity (%d) and the number of Items (%d) do not match.", quantity, len(items))
	}
	if len(items) == 0 {
		return nil, errInvalidArgument("The invalidation batch must contain at least one path.")
	}
	if len(items) > maxPathsPerBatch {
		return nil, newAPIError(http.StatusRequestEntityTooLarge, codeBatchTooLarge,
			"Invalidation batch specified is too large: %d paths, the maximum is %d.", len(items), maxPathsPerBatch)
	}
	if in.CallerReference == "" {
		return nil, errInvalidArgument("CallerReference must not be empty.")
	}

	inv := &invalidation{callerReference: in.CallerReference, paths: items}
	for _, p := range items {
		if err := checkPath(p); err != nil {
			return nil, errInvalidArgument("Your request contains an invalid invalidation path %q: %v.", shorten(p), err)
		}
		if strings.HasSuffix(p, "*") {
			inv.wildcards++
		} else {
			inv.files++
		}
	}
	return inv, nil
}

// decodeBatch decodes an InvalidationBatch document strictly: one root
// element, in CloudFront's namespace or none, and nothing but whitespace,
// comments and processing instructions around it.
func decodeBatch(body []byte) (*batchRequest, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	var in batchRequest
	for rootSeen := false; ; {
		tok, err := dec.Token()
		if err == io.EOF {
			if !rootSeen {
				return nil, errors.New("no root element")
			}
			return &in, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if rootSeen {
				return nil, fmt.Errorf("second root element <%s>", t.Name.Local)
			}
			rootSeen = true
			if t.Name.Local != "InvalidationBatch" || (t.Name.Space != "" && t.Name.Space != xmlNamespace) {
				return nil, fmt.Errorf("root element is {%s}%s, want {%s}InvalidationBatch", t.Name.Space, t.Name.Local, xmlNamespace)
			}
			if err := dec.DecodeElement(&in, &t); err != nil {
				return nil, fmt.Errorf("decode InvalidationBatch: %w", err)
			}
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, errors.New("text outside the root element")
			}
		}
	}
}

// checkPath applies CloudFront's rules for one invalidation path.
func checkPath(p string) error {
	if tag, ok := strings.CutPrefix(p, "#"); ok {
		return checkTag(tag)
	}
	switch {
	case !strings.HasPrefix(p, "/"):
		return errors.New(`it must start with "/" (or "#" for a cache tag)`)
	case utf8.RuneCountInString(p) > maxPathLength:
		return fmt.Errorf("it is longer than %d characters", maxPathLength)
	case strings.Contains(strings.TrimSuffix(p, "*"), "*"):
		return errors.New(`"*" is allowed only as the last character`)
	}
	return nil
}

// checkTag applies CloudFront's rules for cache-tag items ("#" and then
// the tag): 1 to 256 visible ASCII characters, no comma, no wildcard.
func checkTag(tag string) error {
	switch {
	case tag == "":
		return errors.New("the cache tag is empty")
	case len(tag) > maxTagLength:
		return fmt.Errorf("the cache tag is longer than %d characters", maxTagLength)
	case strings.ContainsAny(tag, ",*"):
		return errors.New("a cache tag may contain neither a comma nor a wildcard")
	}
	for i := 0; i < len(tag); i++ {
		if tag[i] < 33 || tag[i] > 126 {
			return errors.New("a cache tag may contain only visible ASCII characters")
		}
	}
	return nil
}

// shorten keeps an error message readable when a path is very long.
func shorten(p string) string {
	if len(p) <= maxPathInErrorMessage {
		return p
	}
	cut := maxPathInErrorMessage
	for cut > 0 && !utf8.RuneStart(p[cut]) {
		cut--
	}
	return p[:cut] + "..."
}

// samePaths reports whether a and b hold the same paths, in any order.
func samePaths(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// newInvalidationID returns an unused ID shaped like CloudFront's: "I" and 13
// random upper-case letters and digits. The caller must hold e.mu, and keep
// it until the new invalidation is in e.byID.
func (e *Emulator) newInvalidationID() string {
	for {
		id := make([]byte, 1, 1+invalidationIDLength)
		id[0] = 'I'
		var b [32]byte
		for len(id) < cap(id) {
			_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
			for _, c := range b {
				if int(c) < invalidationIDReroll && len(id) < cap(id) {
					id = append(id, invalidationIDAlphabet[int(c)%len(invalidationIDAlphabet)])
				}
			}
		}
		if s := string(id); e.byID[s] == nil {
			return s
		}
	}
}
