package varnishcdn

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// FuzzParsePurged: X-Cdnpurge-Purged comes from the network. A value is
// taken only when it is a plain decimal count, and then it reads back as
// itself.
func FuzzParsePurged(f *testing.F) {
	for _, s := range []string{"0", "1", "42", "-1", "+1", " 1", "1 ", "0x1", "99999999999", "", "١"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parsePurged([]string{s})
		if err != nil {
			return
		}
		if n < 0 || strings.TrimLeft(strconv.Itoa(n), "0") != strings.TrimLeft(s, "0") {
			t.Fatalf("parsePurged(%q) = %d", s, n)
		}
	})
}

// vclPrefixCheck is the check cdnpurge.vcl makes of X-Ban-Prefix before it
// puts it in a ban expression.
var vclPrefixCheck = regexp.MustCompile(`^/[!#-~]*$`)

// FuzzBanPrefix: for any prefix a user can type, the header passes
// cdnpurge.vcl's check (one word of the ban expression), and anchored as
// the VCL anchors it, it matches exactly the URLs that start with the
// prefix: "/a.b/*" bans "/a.b/x" and not "/aXb/x".
func FuzzBanPrefix(f *testing.F) {
	for _, s := range []string{"/a.b/*", "/p+q/*", "/(x)|y/*", "/[a-z]/*", "/$^/*", "/*", "/é/*", `/a\b/*`, "/a b/*", `/"q"/*`} {
		f.Add(s, "x")
	}
	f.Fuzz(func(t *testing.T, raw, rest string) {
		it, err := purge.ParseItem(raw)
		if err != nil || it.Kind != purge.KindPrefix {
			return
		}
		prefix := strings.TrimSuffix(it.Path, "*")
		h := BanPrefix(prefix)
		if !vclPrefixCheck.MatchString(h) {
			t.Fatalf("BanPrefix(%q) = %q, which cdnpurge.vcl refuses", prefix, h)
		}
		re := regexp.MustCompile("^" + h)
		if !re.MatchString(prefix + rest) {
			t.Fatalf("%q does not match %q", re, prefix+rest)
		}
		// Change one byte of the prefix: the URL no longer starts with it.
		for i := 1; i < len(prefix); i++ {
			other := []byte(prefix)
			other[i] ^= 0x01
			if re.MatchString(string(other) + rest) {
				t.Fatalf("%q matches %q, which does not start with %q", re, string(other)+rest, prefix)
			}
		}
	})
}
