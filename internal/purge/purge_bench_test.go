package purge

import (
	"strconv"
	"testing"
)

// Micro-benchmarks of path handling, no network:
//
//	go test -run '^$' -bench . -benchmem ./internal/purge

// The longest purge CloudFront takes, 3,000 files and 15 wildcards
// (cloudfrontcdn.MaxFilePaths, MaxWildcardPaths): the lists benchmarked.
const (
	cloudFrontFiles     = 3000
	cloudFrontWildcards = 15
)

func BenchmarkNormalizePath(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"path", "/blog/2026/05/post-03/index.html"},
		{"url", "https://www.example.com/%7Eops/runbook.html?utm_source=slack#top"},
		{"encode", "/café/menu du jour.html"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NormalizePath(bc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNormalizePaths normalizes and reduces a few typed paths, the
// realistic list of testdata/requested_paths.txt, and 3,000 file paths under
// 15 wildcards (CloudFront's per-batch limits, what a pipeline may send).
func BenchmarkNormalizePaths(b *testing.B) {
	limits := make([]string, 0, cloudFrontFiles+cloudFrontWildcards)
	for i := range cloudFrontWildcards {
		limits = append(limits, "/section"+strconv.Itoa(i)+"/*")
	}
	for i := range cloudFrontFiles {
		limits = append(limits, "/page/"+strconv.Itoa(i)+".html")
	}
	for _, bc := range []struct {
		name  string
		items []string
	}{
		{"typed", []string{"/blog/*", "/blog/post.html", "/index.html", "/index.html"}},
		{"realistic", realisticList(b)},
		{"limits", limits},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var out []string
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if out, err = NormalizePaths(bc.items); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(bc.items)), "requested/op")
			b.ReportMetric(float64(len(out)), "billed/op")
		})
	}
}
