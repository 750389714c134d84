package emulator_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

// refBatch decodes an InvalidationBatch independently of the emulator, to
// judge the batches it accepts.
type refBatch struct {
	XMLName         xml.Name `xml:"InvalidationBatch"`
	CallerReference string   `xml:"CallerReference"`
	Quantity        string   `xml:"Paths>Quantity"`
	Items           []string `xml:"Paths>Items>Path"`
}

// refInvalidation decodes the emulator's answer.
type refInvalidation struct {
	XMLName         xml.Name `xml:"http://cloudfront.amazonaws.com/doc/2020-05-31/ Invalidation"`
	ID              string   `xml:"Id"`
	Status          string   `xml:"Status"`
	Quantity        int      `xml:"InvalidationBatch>Paths>Quantity"`
	Items           []string `xml:"InvalidationBatch>Paths>Items>Path"`
	CallerReference string   `xml:"InvalidationBatch>CallerReference"`
}

// obeysRules reports why a body CloudFront would accept in an empty
// distribution breaks a rule, or "" when it breaks none.
func obeysRules(body []byte) string {
	var b refBatch
	if err := xml.Unmarshal(body, &b); err != nil {
		return "does not parse: " + err.Error()
	}
	q, err := strconv.Atoi(strings.TrimSpace(b.Quantity))
	switch {
	case err != nil:
		return "Quantity is not a number"
	case q != len(b.Items):
		return "Quantity differs from the number of Items"
	case len(b.Items) == 0 || len(b.Items) > 3000:
		return "wrong number of paths"
	case b.CallerReference == "":
		return "empty CallerReference"
	}
	wildcards := 0
	for _, p := range b.Items {
		if tag, ok := strings.CutPrefix(p, "#"); ok {
			if tag == "" || len(tag) > 256 || strings.ContainsAny(tag, ",*") || strings.IndexFunc(tag, func(r rune) bool { return r < 33 || r > 126 }) >= 0 {
				return "bad cache tag " + strconv.Quote(p)
			}
			continue
		}
		if !strings.HasPrefix(p, "/") || utf8.RuneCountInString(p) > 4000 || strings.Contains(strings.TrimSuffix(p, "*"), "*") {
			return "bad path " + strconv.Quote(p)
		}
		if strings.HasSuffix(p, "*") {
			wildcards++
		}
	}
	if wildcards > 15 {
		return "more than 15 wildcard paths"
	}
	return ""
}

// errorStatus is the HTTP status each CreateInvalidation error code must have.
var errorStatus = map[string]int{
	"MissingBody":                    400,
	"MalformedInput":                 400,
	"InconsistentQuantities":         400,
	"InvalidArgument":                400,
	"TooManyInvalidationsInProgress": 400,
	"BatchTooLarge":                  413,
}

func FuzzCreateInvalidationBody(f *testing.F) {
	good, err := fixtures.ReadFile("testdata/create_invalidation_request.xml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	for _, s := range []string{
		"",
		"<InvalidationBatch/>",
		`<InvalidationBatch><CallerReference>r</CallerReference><Paths><Quantity>1</Quantity><Items><Path>/a*</Path></Items></Paths></InvalidationBatch>`,
		`<InvalidationBatch><CallerReference>r</CallerReference><Paths><Quantity>2</Quantity><Items><Path>/a</Path></Items></Paths></InvalidationBatch>`,
		`<InvalidationBatch><CallerReference>r</CallerReference><Paths><Quantity>1</Quantity><Items><Path>/a*b</Path></Items></Paths></InvalidationBatch>`,
		`<InvalidationBatch><CallerReference></CallerReference><Paths><Quantity>1</Quantity><Items><Path>/a</Path></Items></Paths></InvalidationBatch>`,
		`<InvalidationBatch><CallerReference>r</CallerReference><Paths><Quantity>0</Quantity></Paths></InvalidationBatch>`,
		`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "/a">]><InvalidationBatch><CallerReference>r</CallerReference><Paths><Quantity>1</Quantity><Items><Path>&e;</Path></Items></Paths></InvalidationBatch>`,
		`<a:InvalidationBatch xmlns:a="http://cloudfront.amazonaws.com/doc/2020-05-31/"><a:CallerReference>r</a:CallerReference><a:Paths><a:Quantity>1</a:Quantity><a:Items><a:Path>/x</a:Path></a:Items></a:Paths></a:InvalidationBatch>`,
	} {
		f.Add([]byte(s))
	}

	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		e := emulator.New(emulator.Options{
			Distributions: []string{testDistribution},
			CompleteAfter: time.Hour,
			Now:           func() time.Time { return now },
		})
		post := func() *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, distPath, bytes.NewReader(body)))
			return rec
		}
		rec := post()
		if rec.Header().Get("x-amzn-RequestId") == "" {
			t.Error("no x-amzn-RequestId header")
		}

		if rec.Code != http.StatusCreated {
			var er errorResponse
			if err := xml.Unmarshal(rec.Body.Bytes(), &er); err != nil {
				t.Fatalf("HTTP %d with an unparsable error body: %v\n%s", rec.Code, err, rec.Body)
			}
			if want, ok := errorStatus[er.Code]; !ok || want != rec.Code {
				t.Fatalf("HTTP %d with code %q", rec.Code, er.Code)
			}
			return
		}

		if why := obeysRules(body); why != "" {
			t.Fatalf("201 for a batch that breaks a rule (%s):\n%q", why, body)
		}
		var inv refInvalidation
		if err := xml.Unmarshal(rec.Body.Bytes(), &inv); err != nil {
			t.Fatalf("201 with an unparsable body: %v\n%s", err, rec.Body)
		}
		var sent refBatch
		_ = xml.Unmarshal(body, &sent) // obeysRules parsed it already
		if !invalidationIDPattern.MatchString(inv.ID) || inv.Status != "InProgress" ||
			inv.CallerReference != sent.CallerReference || !slices.Equal(inv.Items, sent.Items) || inv.Quantity != len(sent.Items) {
			t.Fatalf("201 echoes %+v for %+v", inv, sent)
		}

		// The same body again is a repeat: the same invalidation comes back.
		again := post()
		var inv2 refInvalidation
		if again.Code != http.StatusCreated || xml.Unmarshal(again.Body.Bytes(), &inv2) != nil || inv2.ID != inv.ID {
			t.Fatalf("repeat: HTTP %d, Id %q, want 201 and %q", again.Code, inv2.ID, inv.ID)
		}
	})
}

// routeRE is the emulator's routing written apart from it: the invalidations
// of a distribution or of a distribution tenant, and one invalidation.
var routeRE = regexp.MustCompile(`^/2020-05-31/(distribution|distribution-tenant)/([^/]+)/invalidation(?:/([^/]+))?$`)

// FuzzRoute sends any method to any request target and judges the answer by
// routeRE: NotFound off the routes, MethodNotAllowed for a wrong method,
// NoSuchDistribution or EntityNotFound (never the other) for an owner that
// does not exist, and the operation itself otherwise. The requests come
// from no address, so CallsPath, answered to loopback only, is off the
// routes too.
func FuzzRoute(f *testing.F) {
	for _, seed := range []struct{ method, target string }{
		{http.MethodPost, distPath},
		{http.MethodGet, distPath + "?MaxItems=1"},
		{http.MethodGet, distPath + "/I0000000000000"},
		{http.MethodPost, tenantPath},
		{http.MethodGet, tenantPath + "?Marker=x"},
		{http.MethodGet, tenantPath + "/I0000000000000"},
		{http.MethodDelete, tenantPath},
		{http.MethodPut, noTenantPath + "/I1"},
		{http.MethodGet, "/2020-05-31/distribution-tenant/" + testDistribution + "/invalidation"},
		{http.MethodGet, "/2020-05-31/distribution/" + testTenant + "/invalidation"},
		{http.MethodGet, "/2020-05-31/distribution-tenant/dt%5F2wjDZi3hD1ivOXf6rpZJOSNE1AB/invalidation"},
		{http.MethodGet, "/2020-05-31/distribution-tenant/a%2Fb/invalidation"},
		{http.MethodGet, "/2020-05-31/distribution-tenant//invalidation"},
		{http.MethodGet, "/"},
	} {
		f.Add(seed.method, seed.target)
	}
	body := mustFixture(f, "create_invalidation_request.xml")
	owners := map[string]string{"distribution": testDistribution, "distribution-tenant": testTenant}
	notFoundCode := map[string]string{"distribution": "NoSuchDistribution", "distribution-tenant": "EntityNotFound"}

	f.Fuzz(func(t *testing.T, method, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !validMethod(method) {
			t.Skip("not a request net/http would serve")
		}
		e := emulator.New(emulator.Options{Distributions: []string{testDistribution}, Tenants: []string{testTenant}})
		req := (&http.Request{
			Method: method, URL: u, RequestURI: target, Host: "cloudfront.example",
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)),
		}).WithContext(context.Background())
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Header().Get("x-amzn-RequestId") == "" {
			t.Error("no x-amzn-RequestId header")
		}
		var er errorResponse
		if rec.Code >= 300 {
			if err := xml.Unmarshal(rec.Body.Bytes(), &er); err != nil {
				t.Fatalf("HTTP %d with an unparsable error body: %v\n%s", rec.Code, err, rec.Body)
			}
		}

		// What the answer must be.
		m := routeRE.FindStringSubmatch(u.EscapedPath())
		var id, invID string
		if m != nil {
			id, err = url.PathUnescape(m[2])
			if err == nil && m[3] != "" {
				invID, err = url.PathUnescape(m[3])
			}
		}
		single := m != nil && m[3] != ""
		allowed := method == http.MethodGet || (method == http.MethodPost && !single)
		var wantStatus int
		var wantCodes []string
		switch {
		case m == nil || err != nil || id == "" || (single && invID == ""):
			wantStatus, wantCodes = 404, []string{"NotFound"}
		case !allowed:
			wantStatus, wantCodes = 405, []string{"MethodNotAllowed"}
		case id != owners[m[1]]:
			wantStatus, wantCodes = 404, []string{notFoundCode[m[1]]}
		case single:
			wantStatus, wantCodes = 404, []string{"NoSuchInvalidation"} // a fresh emulator has none
		case method == http.MethodPost:
			wantStatus = 201
		default: // the query may hold a bad MaxItems or Marker
			wantStatus = 200
			if rec.Code == 400 {
				wantStatus, wantCodes = 400, []string{"InvalidArgument"}
			}
		}
		if rec.Code != wantStatus || (wantCodes != nil && !slices.Contains(wantCodes, er.Code)) {
			t.Fatalf("%s %q: HTTP %d %q, want %d %v", method, target, rec.Code, er.Code, wantStatus, wantCodes)
		}
		if allow := rec.Header().Get("Allow"); rec.Code == 405 && (allow == "" || slices.Contains(strings.Split(allow, ", "), method)) {
			t.Errorf("405 for %s with Allow %q", method, rec.Header().Get("Allow"))
		}
	})
}

// validMethod reports whether m is an HTTP token, as net/http requires of a
// method.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range []byte(m) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
