package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/cloudflare/cloudflare-go/v7/cache"
	"github.com/cloudflare/cloudflare-go/v7/option"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

// Point cloudflare-go at the emulator with option.WithBaseURL: the SDK
// sends Cloudflare's purge_cache request and reads its answer unchanged.
// cloudflare.NewClient(opts...).Cache is the same service; building it
// from the cache package alone spares compiling the SDK's hundred other
// services (and reading CLOUDFLARE_* from the environment).
func Example_cloudflare() {
	const zone = "023e105f4ecef8ad9ca31a8372d0c353"
	e := emulator.New(emulator.Options{CloudflareZones: []string{zone}})
	srv := httptest.NewServer(e)
	defer srv.Close()

	purges := cache.NewCacheService(
		option.WithBaseURL(srv.URL+"/client/v4"),
		option.WithAPIToken("Ys4hmcXfrDJ9dvIxQLQZS3JbXMn5S6oHqgHdd7ER"),
		option.WithMaxRetries(0),
	)
	var params cache.CachePurgeParams
	params.ZoneID.Value, params.ZoneID.Present = zone, true // what cloudflare.F(zone) makes
	var byPrefix cache.CachePurgeParamsBodyCachePurgeFlexPurgeByPrefixes
	byPrefix.Prefixes.Value, byPrefix.Prefixes.Present = []string{"www.example.com/blog/"}, true
	params.Body = byPrefix
	res, err := purges.Purge(context.Background(), params)
	if err != nil {
		log.Fatal(err)
	}
	p := e.CloudflarePurges(zone)[0]
	fmt.Println(res.ID == p.ID, p.Kind, p.Items)

	// A refusal comes back as the SDK's error type (cloudflare.Error, also
	// cache.Error), with Cloudflare's codes.
	var byURL cache.CachePurgeParamsBodyCachePurgeSingleFile
	byURL.Files.Value, byURL.Files.Present = []string{"/index.html"}, true
	params.Body = byURL
	_, err = purges.Purge(context.Background(), params)
	var cfErr *cache.Error
	if errors.As(err, &cfErr) {
		fmt.Println(cfErr.StatusCode, cfErr.Errors[0].Code, cfErr.Errors[0].Message)
	}
	// Output:
	// true prefixes [www.example.com/blog/]
	// 400 1015 Unable to purge /index.html, which is an invalid URL.
}
