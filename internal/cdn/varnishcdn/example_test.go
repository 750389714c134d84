package varnishcdn_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/cdnpurge/cdnpurge/internal/cdn/varnishcdn"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// A Provider purging a file and a prefix on a Varnish running
// cdnpurge.vcl; a stand-in answers here as the VCL does.
func Example() {
	varnish := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(strings.TrimSpace(fmt.Sprintln(r.Method, r.Host, r.RequestURI, r.Header.Get("X-Ban-Prefix"))))
		if r.Method == "BAN" {
			w.Header().Set("X-Cdnpurge-Banned", "1")
		} else {
			w.Header().Set("X-Cdnpurge-Purged", "1")
		}
	}))
	defer varnish.Close()

	p, err := varnishcdn.New(varnishcdn.Options{URL: varnish.URL, Domains: []string{"www.example.com"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	var items []purge.Item
	for _, raw := range []string{"/index.html", "/a.b/*"} {
		it, _ := purge.ParseItem(raw)
		items = append(items, it)
	}
	inv, err := p.Purge(context.Background(), purge.Request{Items: items})
	if err != nil {
		fmt.Println(purge.ErrorMessage(err))
		return
	}
	fmt.Println(inv.Status, inv.Requests, inv.Paths)
	// Output:
	// PURGE www.example.com /index.html
	// BAN www.example.com /a.b/ /a\.b/
	// Completed 2 [/index.html /a.b/*]
}
