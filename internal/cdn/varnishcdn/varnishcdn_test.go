package varnishcdn_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/cdn/varnishcdn"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// sent is one request as the stand-in for Varnish received it.
type sent struct {
	Method, Host, URI string
	Header            map[string]string // the cdnpurge.vcl headers it carried
}

// vclHeaders are the request headers cdnpurge.vcl reads.
var vclHeaders = []string{"X-Ban-Prefix", "X-Cdnpurge-Soft", "Xkey-Purge", "Xkey-Softpurge"}

// standIn answers as cdnpurge.vcl would, records what it received, and
// answers the requests listed in fail (by their number, from 0) with a
// status of their own.
type standIn struct {
	mu   sync.Mutex
	got  []sent
	fail map[int]int
	auth []string // the Authorization headers received
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.got)
	rec := sent{Method: r.Method, Host: r.Host, URI: r.RequestURI, Header: map[string]string{}}
	for _, h := range vclHeaders {
		if v := r.Header.Get(h); v != "" {
			rec.Header[h] = v
		}
	}
	s.got = append(s.got, rec)
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	status, failing := s.fail[n]
	s.mu.Unlock()
	if failing {
		w.WriteHeader(status)
		return
	}
	switch r.Method {
	case "BAN":
		w.Header().Set("X-Cdnpurge-Banned", "1")
	case "PURGE":
		w.Header().Set("X-Cdnpurge-Purged", "1")
	}
}

func (s *standIn) requests() []sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

func mustStandIn(tb testing.TB, fail map[int]int) (*standIn, string) {
	tb.Helper()
	s := &standIn{fail: fail}
	srv := httptest.NewServer(s)
	tb.Cleanup(srv.Close)
	return s, srv.URL
}

func TestPurgeRequests(t *testing.T) {
	tags := manyTags(varnishcdn.MaxTags+1, "#last")
	tests := []struct {
		name  string
		soft  bool
		items []string
		want  []sent
	}{
		{"file on the first domain", false, []string{"/a/b.html?x=1"},
			[]sent{{"PURGE", www, "/a/b.html?x=1", map[string]string{}}}},
		{"soft file", true, []string{"/a"},
			[]sent{{"PURGE", www, "/a", map[string]string{"X-Cdnpurge-Soft": "1"}}}},
		{"pasted URL keeps its host", false, []string{"https://SHOP.example.com/p"},
			[]sent{{"PURGE", shop, "/p", map[string]string{}}}},
		{"prefix, regex-quoted", false, []string{"/a.b+c/*"},
			[]sent{{"BAN", www, "/a.b+c/", map[string]string{"X-Ban-Prefix": `/a\.b\+c/`}}}},
		{"host", false, []string{"http://shop.example.com/*"},
			[]sent{{"BAN", shop, "/", map[string]string{"X-Ban-Prefix": "/"}}}},
		{"everything: each domain", false, []string{"/*"},
			[]sent{{"BAN", www, "/", map[string]string{"X-Ban-Prefix": "/"}}, {"BAN", shop, "/", map[string]string{"X-Ban-Prefix": "/"}}}},
		{"tags in one header", false, []string{"#News", "#sports"},
			[]sent{{"PURGE", www, "/", map[string]string{"Xkey-Purge": "News sports"}}}},
		{"soft tags", true, []string{"#news"},
			[]sent{{"PURGE", www, "/", map[string]string{"Xkey-Softpurge": "news"}}}},
		{"tags over MaxTags", false, tags, []sent{
			{"PURGE", www, "/", map[string]string{"Xkey-Purge": strings.Join(keys(tags[:varnishcdn.MaxTags]), " ")}},
			{"PURGE", www, "/", map[string]string{"Xkey-Purge": "last"}},
		}},
		{"kinds apart, in order of first appearance", false, []string{"#a", "/f", "#b"}, []sent{
			{"PURGE", www, "/", map[string]string{"Xkey-Purge": "a b"}},
			{"PURGE", www, "/f", map[string]string{}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, url := mustStandIn(t, nil)
			p := mustNew(t, varnishcdn.Options{URL: url, Domains: []string{"WWW.example.com.", shop}, Soft: tt.soft})
			if _, err := p.Purge(context.Background(), purge.Request{Items: testutil.MustItems(t, tt.items...)}); err != nil {
				t.Fatal(err)
			}
			got := s.requests()
			if len(got) != len(tt.want) {
				t.Fatalf("sent %+v, want %+v", got, tt.want)
			}
			for i := range got {
				w := tt.want[i]
				if got[i].Method != w.Method || got[i].Host != w.Host || got[i].URI != w.URI || !mapsEqual(got[i].Header, w.Header) {
					t.Errorf("request %d: %+v, want %+v", i, got[i], w)
				}
			}
		})
	}
}

func keys(tags []string) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = strings.TrimPrefix(t, "#")
	}
	return out
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestPurgeRefusesBeforeSending(t *testing.T) {
	s, url := mustStandIn(t, nil)
	p := mustNew(t, varnishcdn.Options{URL: url, Domains: []string{www}})
	_, err := p.Purge(context.Background(), purge.Request{Items: testutil.MustItems(t, "/ok", "https://elsewhere.example.net/x")})
	if purge.ErrorCode(err) != purge.Invalid || !strings.Contains(purge.ErrorMessage(err), "elsewhere.example.net") {
		t.Fatalf("a URL off the domains: %v, want Invalid naming it", err)
	}
	if got := s.requests(); len(got) != 0 {
		t.Errorf("sent %+v before refusing", got)
	}
}

func TestCapabilities(t *testing.T) {
	for _, soft := range []bool{false, true} {
		p := mustNew(t, varnishcdn.Options{URL: "http://127.0.0.1:6081", Domains: []string{www}, Soft: soft})
		c := p.Capabilities()
		all := purge.KindFile | purge.KindPrefix | purge.KindTag | purge.KindHost | purge.KindEverything
		if c.Provider != "Varnish" || c.Kinds != all || c.Status || c.History || c.Idempotent || c.Soft != soft ||
			c.MaxBatch != varnishcdn.MaxTags || !c.OneKindPerRequest || c.Pricing != nil {
			t.Errorf("soft %v: Capabilities() = %+v", soft, c)
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		opts    varnishcdn.Options
		wantErr string
	}{
		{"ok", varnishcdn.Options{URL: "http://127.0.0.1:6081", Domains: []string{www}}, ""},
		{"trailing slash", varnishcdn.Options{URL: "https://varnish.internal/", Domains: []string{www}}, ""},
		{"no domains", varnishcdn.Options{URL: "http://127.0.0.1:6081"}, "domains"},
		{"a URL as a domain", varnishcdn.Options{URL: "http://127.0.0.1:6081", Domains: []string{"https://www.example.com"}}, "not a host name"},
		{"no scheme", varnishcdn.Options{URL: "127.0.0.1:6081", Domains: []string{www}}, "url"},
		{"ftp", varnishcdn.Options{URL: "ftp://127.0.0.1", Domains: []string{www}}, "http(s)"},
		{"a path", varnishcdn.Options{URL: "http://127.0.0.1:6081/purge", Domains: []string{www}}, "http(s)"},
		{"empty", varnishcdn.Options{Domains: []string{www}}, "url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := varnishcdn.New(tt.opts)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr != "" && (purge.ErrorCode(err) != purge.Invalid || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New: %v, want Invalid containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestPurgeErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		wantCode purge.Code
		wantMsg  string
	}{
		{"not in the ACL (403)", http.StatusForbidden, purge.PermissionDenied, "acl purgers"},
		{"not in the ACL (405)", http.StatusMethodNotAllowed, purge.PermissionDenied, "acl purgers"},
		{"server error", http.StatusServiceUnavailable, purge.Unavailable, "server error (503)"},
		{"500", http.StatusInternalServerError, purge.Unavailable, "server error (500)"},
		{"other status", http.StatusTeapot, purge.Internal, "internal error"},
		{"bad request", http.StatusBadRequest, purge.Internal, "internal error"},
		{"redirect is not followed", http.StatusMovedPermanently, purge.Internal, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := mustStandIn(t, map[int]int{0: tt.status})
			p := mustNew(t, varnishcdn.Options{URL: url, Domains: []string{www}})
			inv, err := p.Purge(context.Background(), purge.Request{Items: testutil.MustItems(t, "/x")})
			if inv != nil || purge.ErrorCode(err) != tt.wantCode || !strings.Contains(purge.ErrorMessage(err), tt.wantMsg) {
				t.Fatalf("Purge = %v, %v (%s), want %s with %q", inv, err, purge.ErrorCode(err), tt.wantCode, tt.wantMsg)
			}
			if !strings.Contains(err.Error(), http.StatusText(tt.status)) {
				t.Errorf("the log detail %q does not name the status", err)
			}
			if purge.Unreachable(err) {
				t.Errorf("an answer was taken for unreachable: %v", err)
			}
		})
	}
}

// TestPurgeWithoutTheVCL: a 200 that does not carry cdnpurge.vcl's result
// (the VCL is not loaded; the request went to the origin) is not a purge.
func TestPurgeWithoutTheVCL(t *testing.T) {
	for _, h := range []http.Header{
		{},
		{"X-Cdnpurge-Purged": {"-1"}},
		{"X-Cdnpurge-Purged": {"1", "2"}},
		{"X-Cdnpurge-Banned": {"1"}}, // a BAN's answer to a PURGE
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for k, v := range h {
				w.Header()[k] = v
			}
			w.Write([]byte("<html>the origin's page</html>"))
		}))
		p := mustNew(t, varnishcdn.Options{URL: srv.URL, Domains: []string{www}})
		_, err := p.Purge(context.Background(), purge.Request{Items: testutil.MustItems(t, "/x")})
		srv.Close()
		if purge.ErrorCode(err) != purge.Internal || !strings.Contains(purge.ErrorMessage(err), "cdnpurge.vcl") {
			t.Errorf("answer with %v: %v, want Internal naming cdnpurge.vcl", h, err)
		}
	}
}

func TestPurgeUnreachable(t *testing.T) {
	addr := testutil.MustRefusingAddr(t)
	p := mustNew(t, varnishcdn.Options{URL: "http://" + addr, Domains: []string{www}})
	_, err := p.Purge(context.Background(), purge.Request{Items: testutil.MustItems(t, "/x")})
	if purge.ErrorCode(err) != purge.Unavailable || !purge.Unreachable(err) {
		t.Fatalf("Purge: %v (%s), want Unavailable, unreachable", err, purge.ErrorCode(err))
	}
	if msg := purge.ErrorMessage(err); !strings.Contains(msg, "http://"+addr) || !strings.Contains(msg, "connection refused") {
		t.Errorf("message %q does not name http://%s and the refusal", msg, addr)
	}
}

func TestPurgePartial(t *testing.T) {
	s, url := mustStandIn(t, map[int]int{2: http.StatusServiceUnavailable})
	p := mustNew(t, varnishcdn.Options{URL: url, Domains: []string{www}})
	inv, err := p.Purge(context.Background(), purge.Request{Items: testutil.MustItems(t, "/a", "/b", "/c", "/d")})
	if !errors.Is(err, purge.ErrPartial) || purge.ErrorCode(err) != purge.Unavailable {
		t.Fatalf("Purge: %v, want Unavailable wrapping ErrPartial", err)
	}
	if inv == nil || inv.Requests != 2 || !slices.Equal(inv.Paths, []string{"/a", "/b"}) {
		t.Errorf("Invalidation %+v, want the 2 requests made, /a and /b", inv)
	}
	if n := len(s.requests()); n != 3 {
		t.Errorf("%d requests sent, want 3 (none after the failure)", n)
	}
}

// TestPurgePartialEverything: everything is purged only once every
// domain's ban is made, and a refusal after the first domain is not
// "unreachable": the first ban reached Varnish.
func TestPurgePartialEverything(t *testing.T) {
	_, url := mustStandIn(t, map[int]int{1: http.StatusForbidden})
	p := mustNew(t, varnishcdn.Options{URL: url, Domains: []string{www, shop}})
	inv, err := p.Purge(context.Background(), purge.Request{Items: testutil.MustItems(t, "/*")})
	if !errors.Is(err, purge.ErrPartial) || purge.ErrorCode(err) != purge.PermissionDenied {
		t.Fatalf("Purge: %v, want PermissionDenied wrapping ErrPartial", err)
	}
	if inv == nil || inv.Requests != 1 || len(inv.Paths) != 0 {
		t.Errorf("Invalidation %+v, want 1 request and nothing wholly purged", inv)
	}
}

// TestSecretsNeverShown: the user info of Options.URL (a proxy's basic
// auth) is sent, and appears in no error, neither its message nor its
// detail.
func TestSecretsNeverShown(t *testing.T) {
	const user, password = "purger-user", "S3cretPassw0rd"
	refusing := testutil.MustRefusingAddr(t)
	for _, status := range []int{0, http.StatusForbidden, http.StatusServiceUnavailable, http.StatusTeapot, http.StatusOK} {
		fail := map[int]int{0: status}
		if status == http.StatusOK {
			fail = nil
		}
		s, base := mustStandIn(t, fail)
		if status == 0 {
			base = "http://" + refusing
		}
		withAuth := strings.Replace(base, "http://", "http://"+user+":"+password+"@", 1)
		p := mustNew(t, varnishcdn.Options{URL: withAuth, Domains: []string{www}})
		_, err := p.Purge(context.Background(), purge.Request{Items: testutil.MustItems(t, "/x", "#t", "/p/*")})
		if status == http.StatusOK {
			if err != nil {
				t.Fatal(err)
			}
			if got := s.auth[0]; !strings.HasPrefix(got, "Basic ") {
				t.Errorf("Authorization %q, want the URL's basic auth", got)
			}
			continue
		}
		if err == nil {
			t.Fatalf("status %d: no error", status)
		}
		for _, text := range []string{err.Error(), purge.ErrorMessage(err)} {
			if strings.Contains(text, password) || strings.Contains(text, user) {
				t.Errorf("status %d: %q shows the URL's user info", status, text)
			}
		}
	}
	for _, bad := range []string{"ftp://" + user + ":" + password + "@h", "http://" + user + ":" + password + "@h/path", "http://" + user + ":" + password + "@h:bad port"} {
		_, err := varnishcdn.New(varnishcdn.Options{URL: bad, Domains: []string{www}})
		if err == nil || strings.Contains(err.Error(), password) {
			t.Errorf("New with a bad URL: %v, want an error without the password", err)
		}
	}
}
