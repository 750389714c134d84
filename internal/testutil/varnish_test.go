package testutil

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// TestStartVarnish starts the real varnishd with the shipped VCL in front
// of an origin, fetches through it twice (the origin sees one request, the
// second answer is a hit), and checks that Stop ends it.
func TestStartVarnish(t *testing.T) {
	var hits atomic.Int32
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Cache-Control", "max-age=3600")
		io.WriteString(w, "hello from "+r.Host)
	}))
	t.Cleanup(origin.Close)

	v := MustStartVarnish(t, CdnpurgeVCL(t), origin.Listener.Addr().String())
	if !strings.HasPrefix(v.Addr, "127.0.0.1:") || v.URL != "http://"+v.Addr {
		t.Fatalf("Addr %q, URL %q", v.Addr, v.URL)
	}
	for i, wantHit := range []bool{false, true} {
		req, _ := http.NewRequest(http.MethodGet, v.URL+"/index.html", nil)
		req.Host = "www.example.com"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "hello from www.example.com" {
			t.Fatalf("fetch %d: %d %q", i, resp.StatusCode, body)
		}
		// X-Varnish holds two transaction IDs on a hit, one on a miss.
		if hit := len(strings.Fields(resp.Header.Get("X-Varnish"))) == 2; hit != wantHit {
			t.Errorf("fetch %d: X-Varnish %q, want hit %v", i, resp.Header.Get("X-Varnish"), wantHit)
		}
		for _, h := range []string{"X-Url", "X-Host"} {
			if got := resp.Header.Get(h); got != "" {
				t.Errorf("fetch %d: %s %q reached the client", i, h, got)
			}
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("origin saw %d requests, want 1", n)
	}
	if out := v.MustAdmin(t, "-t", "0", "status"); !strings.Contains(out, "running") {
		t.Errorf("varnishadm status: %q", out)
	}

	if err := v.Stop(); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", v.Addr)
	if err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections after Stop", v.Addr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial %s after Stop: %v, want connection refused", v.Addr, err)
	}
}

func TestStartVarnishBadVCL(t *testing.T) {
	if _, err := StartVarnish(t.TempDir(), "testdata/missing.vcl", "127.0.0.1:1"); errors.Is(err, ErrNoVarnish) {
		t.Skip(err)
	} else if err == nil || !strings.Contains(err.Error(), "varnishd exited") {
		t.Fatalf("StartVarnish with a missing VCL: %v, want varnishd exited", err)
	}
}
