package varnishcdn_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/cdn/varnishcdn"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// The sites of the tests: www and shop are the target's Domains; other is
// served by the same Varnish but not the target's.
const (
	www   = "www.example.com"
	shop  = "shop.example.com"
	other = "other.example.com"
)

// originTags are the xkey headers the origin sends, by path.
var originTags = map[string]string{
	"/t/1":      "news",
	"/t/2":      "sports",
	"/t/3":      "news other",
	"/t/4":      "sports",
	"/t/tail":   "tail",
	"/soft/t/1": "softnews",
	"/soft/t/2": "softsports",
}

// origin is the site behind Varnish: it counts the requests for each host
// and URL, tags objects with xkey, and lets everything be cached an hour.
type origin struct {
	mu      sync.Mutex
	hits    map[string]int
	changed chan struct{} // closed and replaced on every request
}

func newOrigin() *origin {
	return &origin{hits: map[string]int{}, changed: make(chan struct{})}
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Host + r.URL.RequestURI()
	o.mu.Lock()
	o.hits[key]++
	n := o.hits[key]
	close(o.changed)
	o.changed = make(chan struct{})
	o.mu.Unlock()
	w.Header().Set("Cache-Control", "max-age=3600")
	if tags := originTags[r.URL.Path]; tags != "" {
		w.Header().Set("xkey", tags)
	}
	fmt.Fprintf(w, "%s #%d", key, n)
}

// Hits returns how many requests the origin saw for host and uri.
func (o *origin) Hits(host, uri string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits[host+uri]
}

// waitHits waits until the origin has seen n requests for host and uri, or
// 15 seconds have passed, and returns how many it saw.
func (o *origin) waitHits(host, uri string, n int) int {
	deadline := time.After(15 * time.Second)
	for {
		o.mu.Lock()
		got, changed := o.hits[host+uri], o.changed
		o.mu.Unlock()
		if got >= n {
			return got
		}
		select {
		case <-changed:
		case <-deadline:
			return got
		}
	}
}

// object is one cached object: a host and a URL.
type object struct{ host, uri string }

func (ob object) String() string { return ob.host + ob.uri }

// fetched is what a GET through Varnish answered.
type fetched struct {
	body string
	hit  bool // X-Varnish holds two transaction IDs: this one and the object's
	age  bool // an Age header came with it
}

func mustFetch(tb testing.TB, v *testutil.Varnish, ob object) fetched {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, v.URL+ob.uri, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Host = ob.host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %d %q %v", ob, resp.StatusCode, body, err)
	}
	for _, h := range []string{"X-Url", "X-Host", "Xkey"} {
		if resp.Header.Get(h) != "" {
			tb.Errorf("GET %s: the object's %s reached the client", ob, h)
		}
	}
	return fetched{
		body: string(body),
		hit:  len(strings.Fields(resp.Header.Get("X-Varnish"))) == 2,
		age:  resp.Header.Get("Age") != "",
	}
}

// mustWarm fetches ob twice: the origin sees it once, and the second answer
// comes from the cache.
func mustWarm(tb testing.TB, v *testutil.Varnish, o *origin, ob object) {
	tb.Helper()
	before := o.Hits(ob.host, ob.uri)
	if f := mustFetch(tb, v, ob); f.hit {
		tb.Fatalf("%s: the first fetch was a hit; the object was cached before the test", ob)
	}
	f := mustFetch(tb, v, ob)
	if !f.hit || !f.age {
		tb.Fatalf("%s: the second fetch was not served from the cache (hit %v, Age %v)", ob, f.hit, f.age)
	}
	if got := o.Hits(ob.host, ob.uri); got != before+1 {
		tb.Fatalf("%s: the origin saw %d requests for two fetches, want 1", ob, got-before)
	}
}

func mustNew(tb testing.TB, opts varnishcdn.Options) *varnishcdn.Provider {
	tb.Helper()
	p, err := varnishcdn.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func manyTags(n int, last string) []string {
	tags := make([]string, 0, n)
	for i := range n - 1 {
		tags = append(tags, fmt.Sprintf("#unused-%d", i))
	}
	return append(tags, last)
}

// TestPurgeThroughVarnish runs the Provider against the real varnishd with
// the shipped cdnpurge.vcl: each purge makes the next fetch of what it
// names reach the origin, and leaves what it does not name cached.
func TestPurgeThroughVarnish(t *testing.T) {
	o := newOrigin()
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	v := testutil.MustStartVarnish(t, testutil.CdnpurgeVCL(t), srv.Listener.Addr().String())
	domains := []string{www, shop}
	hard := mustNew(t, varnishcdn.Options{URL: v.URL, Domains: domains})
	soft := mustNew(t, varnishcdn.Options{URL: v.URL, Domains: domains, Soft: true})

	tests := []struct {
		name         string
		soft         bool
		items        []string
		purged, kept []object
		requests     int
	}{
		{"file", false, []string{"/file/a"},
			[]object{{www, "/file/a"}}, []object{{www, "/file/b"}, {shop, "/file/a"}}, 1},
		{"file with a query", false, []string{"/q?id=1"},
			[]object{{www, "/q?id=1"}}, []object{{www, "/q?id=2"}, {www, "/q"}}, 1},
		{"pasted URL on the second domain", false, []string{"https://shop.example.com/url/a"},
			[]object{{shop, "/url/a"}}, []object{{www, "/url/a"}}, 1},
		{"two files", false, []string{"/two/a", "/two/b"},
			[]object{{www, "/two/a"}, {www, "/two/b"}}, []object{{www, "/two/c"}}, 2},
		{"prefix", false, []string{"/blog/*"},
			[]object{{www, "/blog/1"}, {www, "/blog/2/x?y=1"}},
			[]object{{www, "/blogx/1"}, {www, "/other/blog/1"}, {shop, "/blog/1"}}, 1},
		{"prefix is not a regular expression: dot", false, []string{"/a.b/*"},
			[]object{{www, "/a.b/x"}}, []object{{www, "/aXb/x"}}, 1},
		{"prefix is not a regular expression: plus", false, []string{"/p+q/*"},
			[]object{{www, "/p+q/1"}}, []object{{www, "/ppq/1"}, {www, "/pq/1"}}, 1},
		{"tag", false, []string{"#news"},
			[]object{{www, "/t/1"}, {shop, "/t/3"}}, []object{{www, "/t/2"}}, 1},
		{"tags over two requests", false, manyTags(varnishcdn.MaxTags+5, "#tail"),
			[]object{{www, "/t/tail"}}, []object{{www, "/t/4"}}, 2},
		{"host", false, []string{"https://shop.example.com/*"},
			[]object{{shop, "/h/1"}, {shop, "/h/2"}}, []object{{www, "/h/1"}}, 1},
		{"everything", false, []string{"/*"},
			[]object{{www, "/e/1"}, {shop, "/e/2"}}, []object{{other, "/e/1"}}, 2},
		{"soft file", true, []string{"/soft/a"},
			[]object{{www, "/soft/a"}}, []object{{www, "/soft/b"}}, 1},
		{"soft tag", true, []string{"#softnews"},
			[]object{{www, "/soft/t/1"}}, []object{{www, "/soft/t/2"}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, ob := range slices.Concat(tt.purged, tt.kept) {
				mustWarm(t, v, o, ob)
			}
			p := hard
			if tt.soft {
				p = soft
			}
			items := testutil.MustItems(t, tt.items...)
			inv, err := p.Purge(context.Background(), purge.Request{Reference: "ref-" + tt.name, Items: items})
			if err != nil {
				t.Fatal(err)
			}
			want := make([]string, len(items))
			for i, it := range items {
				want[i] = it.String()
			}
			if inv.Status != purge.StatusCompleted || !inv.New || inv.Requests != tt.requests || !slices.Equal(inv.Paths, want) {
				t.Errorf("Purge = %+v, want Completed, New, %d requests, Paths %q", inv, tt.requests, want)
			}

			for _, ob := range tt.purged {
				f := mustFetch(t, v, ob)
				if !tt.soft {
					if f.hit || o.Hits(ob.host, ob.uri) != 2 {
						t.Errorf("%s: after the purge, hit %v and the origin saw %d requests, want a miss and 2", ob, f.hit, o.Hits(ob.host, ob.uri))
					}
					continue
				}
				// Soft: the stale object is served at once, and Varnish
				// refetches it in the background.
				if !f.hit || !strings.HasSuffix(f.body, " #1") {
					t.Errorf("%s: after the soft purge, hit %v body %q, want the stale object", ob, f.hit, f.body)
				}
				if got := o.waitHits(ob.host, ob.uri, 2); got != 2 {
					t.Fatalf("%s: after the soft purge the origin saw %d requests, want a refetch (2)", ob, got)
				}
				if f := mustFetchFresh(t, v, ob); !strings.HasSuffix(f.body, " #2") {
					t.Errorf("%s: after the refetch, body %q, want the new object", ob, f.body)
				}
			}
			for _, ob := range tt.kept {
				if f := mustFetch(t, v, ob); !f.hit || o.Hits(ob.host, ob.uri) != 1 {
					t.Errorf("%s was not purged but: hit %v, origin saw %d requests, want a hit and 1", ob, f.hit, o.Hits(ob.host, ob.uri))
				}
			}
		})
	}

	t.Run("refused outside acl purgers", func(t *testing.T) {
		ob := object{www, "/refused/a"}
		mustWarm(t, v, o, ob)
		// 127.0.0.2 is loopback too, but not in cdnpurge.vcl's acl purgers.
		from := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
		if ln, err := net.ListenTCP("tcp", from); err != nil {
			t.Skipf("cannot send from %s: %v", from.IP, err)
		} else {
			ln.Close()
		}
		client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: from}).DialContext}}
		p := mustNew(t, varnishcdn.Options{URL: v.URL, Domains: domains, HTTPClient: client})
		_, err := p.Purge(context.Background(), purge.Request{Items: testutil.MustItems(t, ob.uri)})
		if purge.ErrorCode(err) != purge.PermissionDenied || !strings.Contains(purge.ErrorMessage(err), "acl purgers") {
			t.Fatalf("Purge from %s: %v (%s), want PermissionDenied naming acl purgers", from.IP, err, purge.ErrorCode(err))
		}
		if f := mustFetch(t, v, ob); !f.hit {
			t.Errorf("%s: a refused purge purged it", ob)
		}
	})
}

// mustFetchFresh fetches ob until Varnish serves the object its background
// fetch got (a soft purge's refetch may still be being stored), for at most
// 15 seconds.
func mustFetchFresh(tb testing.TB, v *testutil.Varnish, ob object) fetched {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		f := mustFetch(tb, v, ob)
		if !strings.HasSuffix(f.body, " #1") {
			return f
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: still the first copy (%q) after 15 s", ob, f.body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestExampleVCLCompiles: deploy/varnish/example.vcl, which the README
// tells sites to follow, compiles with cdnpurge.vcl (varnishd -C).
func TestExampleVCLCompiles(t *testing.T) {
	varnishd, err := testutil.VarnishdPath()
	if err != nil {
		t.Skip(err)
	}
	example := filepath.Join(filepath.Dir(testutil.CdnpurgeVCL(t)), "example.vcl")
	out, err := exec.Command(varnishd, "-C", "-n", t.TempDir(), "-f", example).CombinedOutput()
	if err != nil {
		t.Fatalf("varnishd -C -f %s: %v\n%s", example, err, out)
	}
}
