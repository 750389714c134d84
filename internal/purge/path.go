package purge

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxPathLength is the longest path an item may be, in bytes, after
// encoding: CloudFront's limit (InvalidationLimits in its developer guide),
// and a sane one for every provider.
const MaxPathLength = 4000

// FullPurge is the path that invalidates everything on a distribution.
const FullPurge = "/*"

// NormalizePath turns what a user typed, a path or a pasted http(s) URL, into
// an invalidation path CloudFront accepts and matches:
//
//   - a URL becomes its path plus its query string; the fragment is dropped;
//   - the path must start with "/";
//   - "*" may appear only as the last character;
//   - non-ASCII and unsafe characters are percent-encoded, and nothing else
//     is: an over-encoded path (%2A for *) silently invalidates nothing, so
//     escapes of unreserved characters and of "*" are decoded;
//   - the result is at most MaxPathLength bytes.
//
// Case is kept: CloudFront paths are case-sensitive. NormalizePath is
// idempotent: normalizing its result again changes nothing.
func NormalizePath(raw string) (string, error) {
	p := raw
	if isHTTPURL(raw) {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return "", pathErrorf(raw, "is not a valid URL")
		}
		// url.Parse decodes what it can into Path; RawPath (when set) keeps the
		// sender's encoding, which is what the cache saw.
		p = u.EscapedPath()
		if p == "" {
			p = "/"
		}
		if u.RawQuery != "" || u.ForceQuery {
			p += "?" + u.RawQuery
		}
	}
	if p == "" {
		return "", pathErrorf(raw, "is empty")
	}
	if p[0] != '/' {
		// The hint is given only when it would itself be accepted.
		hint := ""
		if _, err := NormalizePath("/" + p); err == nil && !strings.ContainsAny(p, " \t") {
			hint = fmt.Sprintf(" (did you mean /%s?)", p)
		}
		return "", pathErrorf(raw, "must start with /%s", hint)
	}
	p = decodeOverEncoded(p)
	if i := strings.IndexByte(p, '*'); i >= 0 && i != len(p)-1 {
		return "", pathErrorf(raw, "has * before the end: CloudFront allows * only as the last character")
	}
	if !utf8.ValidString(p) {
		return "", pathErrorf(raw, "is not valid UTF-8")
	}
	p = encodePath(p)
	if len(p) > MaxPathLength {
		return "", pathErrorf(Shorten(raw), "is %d characters long once encoded; CloudFront allows at most %d", len(p), MaxPathLength)
	}
	return p, nil
}

// IsWildcard reports whether p is a wildcard path (ends in "*"). CloudFront
// bills a wildcard as one path but limits how many may be in progress.
func IsWildcard(p string) bool { return strings.HasSuffix(p, "*") }

// Covers reports whether invalidating a also invalidates b: they are equal, or
// a is a wildcard whose prefix b starts with.
func Covers(a, b string) bool {
	if a == b {
		return true
	}
	return IsWildcard(a) && strings.HasPrefix(b, a[:len(a)-1])
}

// MinimalCover returns the paths with duplicates and paths already covered
// by a wildcard among them removed, in the order first given. The result
// invalidates exactly what the input does, with the fewest billed paths.
//
// Lists of up to minimalCoverQuadraticMax paths are reduced by the
// definition, every path against every other: quadratic, and the fastest
// way for the few paths people type. Longer lists, up to CloudFront's limits
// (3,000 file paths under 15 wildcards, CloudFront's most), take the sorted route of
// minimalCoverSorted, O(n log n), with the same result in the same order
// (BENCHMARKS.md has the figures).
func MinimalCover(paths []string) []string {
	if len(paths) > minimalCoverQuadraticMax && !slices.ContainsFunc(paths, hasInnerStar) {
		return minimalCoverSorted(paths)
	}
	out := make([]string, 0, len(paths))
next:
	for i, p := range paths {
		for j, q := range paths {
			if i == j {
				continue
			}
			// q covers p strictly, or they are equal and q came first.
			if Covers(q, p) && (q != p || j < i) {
				continue next
			}
		}
		out = append(out, p)
	}
	return out
}

// minimalCoverQuadraticMax is the longest list MinimalCover reduces by its
// quadratic definition; beyond it the sorted route is faster.
const minimalCoverQuadraticMax = 32

// hasInnerStar reports whether p has a "*" before its last character, which
// NormalizePath refuses. Among paths without one, covering is a partial
// order (transitive, and two paths that cover each other are equal), which
// minimalCoverSorted relies on; "/a**" and "/a*" cover each other.
func hasInnerStar(p string) bool {
	i := strings.IndexByte(p, '*')
	return i >= 0 && i < len(p)-1
}

// minimalCoverSorted is MinimalCover for long lists of paths without inner
// stars. A path stays when it is the first of its repeats and no wildcard
// among the paths covers it strictly. Only the wildcards that no other
// wildcard covers (the outermost) need checking, and their prefixes, sorted,
// hold no prefix of one another: so the only one that can be a prefix of a
// path p is the greatest prefix not above p, found by binary search. (Any
// string between a prefix w of p and p itself starts with w.)
func minimalCoverSorted(paths []string) []string {
	var prefixes []string
	for _, p := range paths {
		if IsWildcard(p) {
			prefixes = append(prefixes, p[:len(p)-1])
		}
	}
	slices.Sort(prefixes)
	prefixes = slices.Compact(prefixes)
	// Keep the outermost: in sorted order a prefix comes before every
	// extension of it, and the last one kept is the only candidate.
	outer := prefixes[:0]
	for _, w := range prefixes {
		if len(outer) == 0 || !strings.HasPrefix(w, outer[len(outer)-1]) {
			outer = append(outer, w)
		}
	}
	coveredStrictly := func(p string) bool {
		i, found := slices.BinarySearch(outer, p)
		if found {
			// p equals an outer prefix: p+"*" covers p strictly (p is not a
			// wildcard: wildcards hold a "*" at the end, and outer prefixes
			// none, given no inner stars).
			return true
		}
		if i == 0 {
			return false
		}
		w := outer[i-1]
		// An outer wildcard covers itself, not strictly.
		return strings.HasPrefix(p, w) && p != w+"*"
	}
	seen := make(map[string]struct{}, len(paths))
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if _, dup := seen[p]; dup {
			continue
		}
		seen[p] = struct{}{}
		if !coveredStrictly(p) {
			out = append(out, p)
		}
	}
	return out
}

// CountPaths returns how many file and wildcard paths a list holds, the two
// numbers CloudFront's in-progress limits count. A cache tag counts as a
// file path: one billed path, matched exactly.
func CountPaths(paths []string) (files, wildcards int) {
	for _, p := range paths {
		if IsWildcard(p) {
			wildcards++
		} else {
			files++
		}
	}
	return files, wildcards
}

// NormalizePaths normalizes each item, a path, URL or cache tag (see
// NormalizeItem), and reduces the list to its minimal cover. The first bad
// item stops it with an Invalid error naming the item and the rule it
// breaks. A provider's own limits on one purge (CloudFront's 3,000 file
// and 15 wildcard paths) are its own to check (see ItemChecker).
func NormalizePaths(items []string) ([]string, error) {
	if len(items) == 0 {
		return nil, Errorf(Invalid, "no paths given")
	}
	paths := make([]string, 0, len(items))
	for _, item := range items {
		p, err := NormalizeItem(item)
		if err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return MinimalCover(paths), nil
}

func isHTTPURL(s string) bool {
	for _, scheme := range []string{"https://", "http://"} {
		if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			return true
		}
	}
	return false
}

func pathErrorf(raw, format string, args ...any) *Error {
	return Errorf(Invalid, "%q %s", raw, fmt.Sprintf(format, args...))
}

// Shorten keeps an error message about a huge path or tag readable: its
// first 40 and last 10 bytes around an ellipsis.
func Shorten(s string) string {
	if len(s) <= 60 {
		return s
	}
	return s[:40] + "…" + s[len(s)-10:]
}

// encodePath percent-encodes what CloudFront's documentation asks for
// (non-ASCII characters and RFC 1738's unsafe characters) and nothing else.
// net/url has no encoder for exactly this set: url.PathEscape also encodes
// characters such as "*", ":" and "@" that must stay literal, and it would
// re-encode an existing %XX escape.
func encodePath(p string) string {
	n := 0
	for i := 0; i < len(p); i++ {
		if needsEscape(p, i) {
			n++
		}
	}
	if n == 0 {
		return p
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(p)+2*n)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !needsEscape(p, i) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	return string(b)
}

// needsEscape reports whether p[i] must be percent-encoded. An existing %XX
// escape stays as the sender wrote it, so that normalizing twice changes
// nothing; a lone "%" is encoded.
func needsEscape(p string, i int) bool {
	c := p[i]
	if c == '%' {
		return !(i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]))
	}
	return mustEncode(c)
}

// mustEncode reports whether byte c is outside what CloudFront wants literal:
// control characters, non-ASCII bytes, and RFC 1738's unsafe characters
// (space < > " # % { } | \ ^ [ ] `). "~" is in RFC 1738's list too, but it is
// unreserved in RFC 3986, browsers send it literally, and encoding it would
// make the path miss the cached object, so it stays.
func mustEncode(c byte) bool {
	if c <= 0x20 || c >= 0x7f {
		return true
	}
	switch c {
	case '<', '>', '"', '#', '%', '{', '}', '|', '\\', '^', '[', ']', '`':
		return true
	}
	return false
}

// decodeOverEncoded decodes the %XX escapes of characters that CloudFront
// wants literal: RFC 3986's unreserved characters (the normalization RFC 3986
// section 6.2.2.2 prescribes) and "*", whose escaped form would silently
// invalidate nothing. Other escapes stay as the sender wrote them. It
// decodes until nothing changes: one pass over "/%2%41" leaves "/%2A", an
// escaped "*" (found by FuzzParseCommand).
func decodeOverEncoded(p string) string {
	for strings.Contains(p, "%") {
		q := decodeOverEncodedOnce(p)
		if q == p {
			break
		}
		p = q
	}
	return p
}

// decodeOverEncodedOnce is one pass of decodeOverEncoded; each pass that
// changes anything makes the string shorter.
func decodeOverEncodedOnce(p string) string {
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]) {
			if c := unhex(p[i+1])<<4 | unhex(p[i+2]); isUnreserved(c) || c == '*' {
				b = append(b, c)
				i += 2
				continue
			}
		}
		b = append(b, p[i])
	}
	return string(b)
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
