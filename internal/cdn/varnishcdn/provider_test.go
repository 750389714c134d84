package varnishcdn_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cdntest"
	"github.com/cdnpurge/cdnpurge/internal/cdn/varnishcdn"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// taggedPrefix is where the suite's origin serves objects tagged (xkey)
// with the last segment of their path: /tagged/news carries "news".
const taggedPrefix = "/tagged/"

// suiteOrigin is the site behind Varnish for the provider suite: it counts
// requests by host and URL, tags /tagged/... objects, and lets everything
// be cached an hour.
type suiteOrigin struct {
	mu   sync.Mutex
	hits map[string]int
}

func (o *suiteOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.hits[r.Host+r.URL.RequestURI()]++
	o.mu.Unlock()
	w.Header().Set("Cache-Control", "max-age=3600")
	if tag, ok := strings.CutPrefix(r.URL.Path, taggedPrefix); ok {
		w.Header().Set("xkey", tag)
	}
	fmt.Fprintln(w, r.Host+r.URL.RequestURI())
}

func (o *suiteOrigin) count(host, uri string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits[host+uri]
}

// countingTransport counts the PURGE and BAN requests Varnish answered.
type countingTransport struct {
	n atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		c.n.Add(1)
	}
	return resp, err
}

// objectOf is the object the suite primes and checks for an item: the file
// itself, an object under the prefix, an object tagged with the tag, or any
// object of the host.
func objectOf(domain string, it purge.Item) object {
	host := domain
	if it.Host != "" {
		host = it.Host
	}
	switch it.Kind {
	case purge.KindPrefix:
		return object{host, strings.TrimSuffix(it.Path, "*") + "under"}
	case purge.KindTag:
		return object{host, taggedPrefix + it.Tag}
	case purge.KindHost, purge.KindEverything:
		return object{host, "/cdntest-any-object"}
	}
	return object{host, it.Path}
}

// TestProviderSuite runs cdntest's provider suite against the real varnishd
// with the shipped VCL: each target is a host of its own, so that a purge
// of everything on one leaves the others cached.
func TestProviderSuite(t *testing.T) {
	o := &suiteOrigin{hits: map[string]int{}}
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	v := testutil.MustStartVarnish(t, testutil.CdnpurgeVCL(t), srv.Listener.Addr().String())
	var targets atomic.Int64
	cdntest.RunProvider(t, cdntest.ProviderHarness{NewTarget: func(t *testing.T) cdntest.ProviderTarget {
		domain := fmt.Sprintf("t%d.suite.example.com", targets.Add(1))
		counter := &countingTransport{}
		p := mustNew(t, varnishcdn.Options{URL: v.URL, Domains: []string{domain}, HTTPClient: &http.Client{Transport: counter}})
		var mu sync.Mutex
		primed := map[object]int{} // origin hits of each primed object once it was cached
		return cdntest.ProviderTarget{
			Provider: p,
			Domain:   domain,
			Requests: func(*testing.T) int { return int(counter.n.Load()) },
			Prime: func(t *testing.T, items []purge.Item) {
				t.Helper()
				for _, it := range items {
					ob := objectOf(domain, it)
					mustFetch(t, v, ob)
					if f := mustFetch(t, v, ob); !f.hit {
						t.Fatalf("%s was not cached after two fetches", ob)
					}
					mu.Lock()
					primed[ob] = o.count(ob.host, ob.uri)
					mu.Unlock()
				}
			},
			Purged: func(t *testing.T, it purge.Item) bool {
				t.Helper()
				ob := objectOf(domain, it)
				mu.Lock()
				before, ok := primed[ob]
				mu.Unlock()
				if !ok {
					t.Fatalf("%s was never primed", ob)
				}
				// Purged is asked once per item: this fetch caches the
				// object again.
				f := mustFetch(t, v, ob)
				return !f.hit && o.count(ob.host, ob.uri) == before+1
			},
		}
	}})
}
