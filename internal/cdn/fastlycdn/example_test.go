package fastlycdn_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/cdnpurge/cdnpurge/internal/cdn/fastlycdn"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// Purge a path and a surrogate key on a Fastly service, here the
// emulator's; without Endpoint the provider talks to api.fastly.com.
func Example() {
	e := emulator.New(emulator.Options{FastlyServices: []string{"SU1Z0isxPaozGVKXdv0eY"}})
	srv := httptest.NewServer(e)
	defer srv.Close()

	p, err := fastlycdn.New(fastlycdn.Options{
		ServiceID: "SU1Z0isxPaozGVKXdv0eY",
		Token:     "a-fastly-api-token",
		Domains:   []string{"www.example.com"},
		Soft:      true,
		Endpoint:  srv.URL,
	})
	if err != nil {
		log.Fatal(err)
	}
	var items []purge.Item
	for _, raw := range []string{"/index.html", "#news"} {
		it, err := purge.ParseItem(raw)
		if err != nil {
			log.Fatal(err)
		}
		items = append(items, it)
	}
	inv, err := p.Purge(context.Background(), purge.Request{Items: items})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inv.Status, inv.Paths, inv.Requests)
	for _, fp := range append(e.FastlyURLPurges(), e.FastlyPurges("SU1Z0isxPaozGVKXdv0eY")...) {
		fmt.Println(fp.Kind, fp.Items, "soft:", fp.Soft)
	}
	// Output:
	// Completed [/index.html #news] 2
	// url [www.example.com/index.html] soft: true
	// keys [news] soft: true
}
