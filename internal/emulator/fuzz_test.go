package emulator_test

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
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
