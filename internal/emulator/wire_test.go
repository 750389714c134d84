package emulator_test

import (
	"bytes"
	"embed"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

//go:embed testdata/*.xml
var fixtures embed.FS

func mustFixture(tb testing.TB, name string) string {
	tb.Helper()
	b, err := fixtures.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSuffix(string(b), "\n")
}

const (
	distPath   = "/2020-05-31/distribution/" + testDistribution + "/invalidation"
	tenantPath = "/2020-05-31/distribution-tenant/" + testTenant + "/invalidation"
	// noTenantPath is the invalidations path of a tenant that does not exist.
	noTenantPath = "/2020-05-31/distribution-tenant/dt_NoSuchTenant/invalidation"
)

// do sends one raw request to srv and returns the response and its body.
func do(tb testing.TB, srv *httptest.Server, method, path, body string) (*http.Response, string) {
	tb.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/us-east-1/cloudfront/aws4_request, SignedHeaders=host, Signature=0000")
	resp, err := srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if resp.Header.Get("x-amzn-RequestId") == "" {
		tb.Errorf("%s %s: no x-amzn-RequestId header", method, path)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/xml" {
		tb.Errorf("%s %s: Content-Type %q, want text/xml", method, path, ct)
	}
	return resp, string(b)
}

var invalidationIDRE = regexp.MustCompile(`I[A-Z0-9]{13}`)

// TestWireGolden pins the exact XML documents against fixtures written from
// the CloudFront API reference.
func TestWireGolden(t *testing.T) {
	clock := newFakeClock()
	_, srv := MustStartEmulator(t, emulator.Options{CompleteAfter: time.Hour, Now: clock.Now})
	request := mustFixture(t, "create_invalidation_request.xml")

	resp, body := do(t, srv, http.MethodPost, distPath, request)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: HTTP %d: %s", resp.StatusCode, body)
	}
	id1 := invalidationIDRE.FindString(body)
	if want := srv.URL + distPath + "/" + id1; resp.Header.Get("Location") != want {
		t.Errorf("Location = %q, want %q", resp.Header.Get("Location"), want)
	}
	clock.Advance(30 * time.Minute)
	_, body2 := do(t, srv, http.MethodPost, distPath, strings.ReplaceAll(request, "deploy-42", "deploy-43"))
	id2 := invalidationIDRE.FindString(body2)
	if id1 == "" || id2 == "" || id1 == id2 {
		t.Fatalf("IDs %q and %q", id1, id2)
	}
	normalize := func(s string) string {
		return strings.NewReplacer(id1, "ID1", id2, "ID2").Replace(s)
	}

	tests := []struct {
		name       string
		advance    time.Duration
		method     string
		path       string
		body       string
		wantStatus int
		golden     string
	}{
		{"repeat create", 0, http.MethodPost, distPath, request, http.StatusCreated, "create_invalidation_response.xml"},
		{"list page 1", 0, http.MethodGet, distPath + "?MaxItems=1", "", http.StatusOK, "list_invalidations_page1_response.xml"},
		{"list page 2", 0, http.MethodGet, distPath + "?MaxItems=1&Marker=" + id2, "", http.StatusOK, "list_invalidations_page2_response.xml"},
		{"get after an hour", 30 * time.Minute, http.MethodGet, distPath + "/" + id1, "", http.StatusOK, "get_invalidation_response.xml"},
		{"unknown invalidation", 0, http.MethodGet, distPath + "/I0000000000000", "", http.StatusNotFound, "no_such_invalidation_response.xml"},
	}
	if got := normalize(body); got != mustFixture(t, "create_invalidation_response.xml") {
		t.Errorf("create body:\n got %s\nwant %s", got, mustFixture(t, "create_invalidation_response.xml"))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Advance(tt.advance)
			resp, body := do(t, srv, tt.method, tt.path, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("HTTP %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			got := strings.ReplaceAll(normalize(body), resp.Header.Get("x-amzn-RequestId"), "REQUEST-ID")
			if want := mustFixture(t, tt.golden); got != want {
				t.Errorf("body:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// errorResponse is CloudFront's error document, decoded independently of
// the emulator's own types.
type errorResponse struct {
	XMLName   xml.Name `xml:"http://cloudfront.amazonaws.com/doc/2020-05-31/ ErrorResponse"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

func TestWireErrors(t *testing.T) {
	const ns = `xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"`
	good := `<InvalidationBatch ` + ns + `><CallerReference>r</CallerReference><Paths><Quantity>1</Quantity><Items><Path>/a</Path></Items></Paths></InvalidationBatch>`
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantCode   string // "" means success
		wantAllow  string
	}{
		{"root", http.MethodGet, "/", "", 404, "NotFound", ""},
		{"distribution resource", http.MethodGet, "/2020-05-31/distribution/" + testDistribution, "", 404, "NotFound", ""},
		{"other API version", http.MethodGet, "/2019-03-26/distribution/" + testDistribution + "/invalidation", "", 404, "NotFound", ""},
		{"trailing slash", http.MethodGet, distPath + "/", "", 404, "NotFound", ""},
		{"too deep", http.MethodGet, distPath + "/I0000000000000/x", "", 404, "NotFound", ""},
		{"DELETE on invalidations", http.MethodDelete, distPath, "", 405, "MethodNotAllowed", "GET, POST"},
		{"PUT on an invalidation", http.MethodPut, distPath + "/I0000000000000", good, 405, "MethodNotAllowed", "GET"},
		{"MaxItems not a number", http.MethodGet, distPath + "?MaxItems=abc", "", 400, "InvalidArgument", ""},
		{"MaxItems empty", http.MethodGet, distPath + "?MaxItems=", "", 400, "InvalidArgument", ""},
		{"MaxItems too big for int32", http.MethodGet, distPath + "?MaxItems=99999999999", "", 400, "InvalidArgument", ""},
		{"MaxItems 1000", http.MethodGet, distPath + "?MaxItems=1000", "", 200, "", ""},
		{"no namespace", http.MethodPost, distPath, strings.Replace(good, " "+ns, "", 1), 201, "", ""},
		{"wrong namespace", http.MethodPost, distPath, strings.Replace(good, "2020-05-31", "2019-03-26", 1), 400, "MalformedInput", ""},
		{"text before root", http.MethodPost, distPath, "junk" + good, 400, "MalformedInput", ""},
		{"element after root", http.MethodPost, distPath, good + "<x/>", 400, "MalformedInput", ""},
		{"comments around root", http.MethodPost, distPath, "<!-- a -->" + good + "\n<!-- b -->\n", 201, "", ""},
		{"missing Quantity", http.MethodPost, distPath, strings.Replace(good, "<Quantity>1</Quantity>", "", 1), 400, "MalformedInput", ""},
		{"missing Paths", http.MethodPost, distPath, `<InvalidationBatch><CallerReference>r</CallerReference></InvalidationBatch>`, 400, "InvalidArgument", ""},
		{"missing CallerReference", http.MethodPost, distPath, strings.Replace(good, "<CallerReference>r</CallerReference>", "", 1), 400, "InvalidArgument", ""},
		{"negative Quantity", http.MethodPost, distPath, strings.Replace(good, "<Quantity>1", "<Quantity>-1", 1), 400, "InconsistentQuantities", ""},
		{"ISO-8859-1 declaration", http.MethodPost, distPath, `<?xml version="1.0" encoding="ISO-8859-1"?>` + good, 400, "MalformedInput", ""},
		{"body over 16 MiB", http.MethodPost, distPath, strings.Repeat(" ", 16<<20+1), 413, "BatchTooLarge", ""},
		{"unknown distribution beats a bad body", http.MethodPost, "/2020-05-31/distribution/E2NOPE/invalidation", "junk", 404, "NoSuchDistribution", ""},

		// The distribution-tenant twins: the same rules on their own paths,
		// and EntityNotFound for a tenant that does not exist.
		{"tenant create", http.MethodPost, tenantPath, good, 201, "", ""},
		{"tenant list", http.MethodGet, tenantPath + "?MaxItems=1", "", 200, "", ""},
		{"tenant unknown invalidation", http.MethodGet, tenantPath + "/I0000000000000", "", 404, "NoSuchInvalidation", ""},
		{"tenant bad path", http.MethodPost, tenantPath, strings.Replace(good, "/a", "a", 1), 400, "InvalidArgument", ""},
		{"tenant MaxItems not a number", http.MethodGet, tenantPath + "?MaxItems=abc", "", 400, "InvalidArgument", ""},
		{"tenant unknown Marker", http.MethodGet, tenantPath + "?Marker=I0000000000000", "", 400, "InvalidArgument", ""},
		{"unknown tenant create", http.MethodPost, noTenantPath, good, 404, "EntityNotFound", ""},
		{"unknown tenant list", http.MethodGet, noTenantPath, "", 404, "EntityNotFound", ""},
		{"unknown tenant get", http.MethodGet, noTenantPath + "/I0000000000000", "", 404, "EntityNotFound", ""},
		{"unknown tenant beats a bad body", http.MethodPost, noTenantPath, "junk", 404, "EntityNotFound", ""},
		{"tenant ID on the distribution path", http.MethodGet, "/2020-05-31/distribution/" + testTenant + "/invalidation", "", 404, "NoSuchDistribution", ""},
		{"distribution ID on the tenant path", http.MethodGet, "/2020-05-31/distribution-tenant/" + testDistribution + "/invalidation", "", 404, "EntityNotFound", ""},
		{"tenant resource", http.MethodGet, "/2020-05-31/distribution-tenant/" + testTenant, "", 404, "NotFound", ""},
		{"tenant trailing slash", http.MethodGet, tenantPath + "/", "", 404, "NotFound", ""},
		{"DELETE on tenant invalidations", http.MethodDelete, tenantPath, "", 405, "MethodNotAllowed", "GET, POST"},
		{"POST on a tenant invalidation", http.MethodPost, tenantPath + "/I0000000000000", good, 405, "MethodNotAllowed", "GET"},
		{"PUT on an unknown tenant", http.MethodPut, noTenantPath, good, 405, "MethodNotAllowed", "GET, POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := MustStartEmulator(t, emulator.Options{})
			resp, body := do(t, srv, tt.method, tt.path, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("HTTP %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantCode == "" {
				return
			}
			if !strings.HasPrefix(body, `<?xml version="1.0"?>`) {
				t.Errorf("error body does not start with the XML declaration: %.60s", body)
			}
			var er errorResponse
			if err := xml.Unmarshal([]byte(body), &er); err != nil {
				t.Fatalf("error body does not parse: %v: %s", err, body)
			}
			if er.Code != tt.wantCode || er.Type != "Sender" || er.Message == "" {
				t.Errorf("Type %q Code %q Message %q, want Sender %q", er.Type, er.Code, er.Message, tt.wantCode)
			}
			if er.RequestID == "" || er.RequestID != resp.Header.Get("x-amzn-RequestId") {
				t.Errorf("RequestId %q, header %q", er.RequestID, resp.Header.Get("x-amzn-RequestId"))
			}
			if got := resp.Header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
		})
	}
}

// TestLogger checks that a logger passed in hears about requests and new
// invalidations.
func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	e := emulator.New(emulator.Options{
		Distributions: []string{testDistribution},
		Logger:        slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodPost, distPath, strings.NewReader(mustFixture(t, "create_invalidation_request.xml"))),
		httptest.NewRequest(http.MethodGet, distPath+"/I0000000000000", nil),
	} {
		e.ServeHTTP(httptest.NewRecorder(), r)
	}
	out := buf.String()
	for _, want := range []string{"created invalidation", "operation=CreateInvalidation", "status=201", "code=NoSuchInvalidation", "status=404"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
