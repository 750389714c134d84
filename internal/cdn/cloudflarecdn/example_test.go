package cloudflarecdn_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudflarecdn"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// This example purges a prefix and a file on a zone served by cdnpurge's
// emulator on loopback. Against Cloudflare, leave Endpoint empty.
func Example() {
	const zone = "023e105f4ecef8ad9ca31a8372d0c353"
	e := emulator.New(emulator.Options{CloudflareZones: []string{zone}})
	srv := httptest.NewServer(e)
	defer srv.Close()

	cdn, err := cloudflarecdn.New(cloudflarecdn.Options{
		ZoneID:   zone,
		Token:    "Ys4hmcXfrDJ9dvIxQLQZS3JbXMn5S6oHqgHdd7ER",
		Domains:  []string{"www.example.com"},
		Endpoint: srv.URL + "/client/v4",
	})
	if err != nil {
		log.Fatal(err)
	}
	var items []purge.Item
	for _, raw := range []string{"/blog/*", "/index.html"} {
		it, err := purge.ParseItem(raw)
		if err != nil {
			log.Fatal(err)
		}
		items = append(items, it)
	}
	inv, err := cdn.Purge(context.Background(), purge.Request{Items: items})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inv.Status, inv.Requests, inv.Paths)
	for _, p := range e.CloudflarePurges(zone) {
		fmt.Println(p.Kind, p.Items)
	}

	// Errors carry a code to act on and a message to show the user.
	other, _ := cloudflarecdn.New(cloudflarecdn.Options{
		ZoneID: "ffffffffffffffffffffffffffffffff", Token: "t0ken", Domains: []string{"www.example.com"},
		Endpoint: srv.URL + "/client/v4",
	})
	_, err = other.Purge(context.Background(), purge.Request{Items: items})
	fmt.Println(purge.ErrorCode(err), "-", purge.ErrorMessage(err))
	// Output:
	// Completed 2 [/blog/* /index.html]
	// prefixes [www.example.com/blog/]
	// files [https://www.example.com/index.html]
	// not_found - Cloudflare has no zone ffffffffffffffffffffffffffffffff that its API token can see; check the target's zone ID
}
