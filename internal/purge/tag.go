package purge

import (
	"strings"
)

// MaxTagLength is the longest cache tag an item may name, without the "#":
// Cloudflare's and Fastly's limit (1,024). A provider may allow fewer
// (CloudFront: 256, see its ItemChecker).
const MaxTagLength = 1024

// IsTag reports whether an item is a cache tag ("#product:tv") rather than a
// path. CloudFront takes both in the same Paths list.
func IsTag(item string) bool { return strings.HasPrefix(item, "#") }

// NormalizeTag checks a cache-tag item by the rules every provider's tags
// or surrogate keys share: "#" and then 1 to MaxTagLength visible ASCII
// characters (33–126), no commas (they separate tags in headers), no
// wildcard (tags match exactly). The result is lower-cased, as CloudFront
// matches tags: "#Product:TV" and "#product:tv" are one tag there, billed
// once (ParseItem keeps the case for the providers whose keys match
// exactly).
func NormalizeTag(raw string) (string, error) {
	tag := strings.TrimPrefix(raw, "#")
	switch {
	case !IsTag(raw):
		return "", pathErrorf(raw, "is not a cache tag: tags must start with #")
	case tag == "":
		return "", pathErrorf(raw, "is an empty cache tag")
	case len(tag) > MaxTagLength:
		return "", pathErrorf(Shorten(raw), "is a cache tag of %d characters; at most %d are allowed", len(tag), MaxTagLength)
	case strings.Contains(tag, "*"):
		return "", pathErrorf(raw, "is a cache tag with *: tags match exactly, no wildcard in them")
	case strings.Contains(tag, ","):
		return "", pathErrorf(raw, "is a cache tag with a comma: give each tag on its own")
	}
	for i := 0; i < len(tag); i++ {
		if c := tag[i]; c < 33 || c > 126 {
			return "", pathErrorf(raw, "is a cache tag with a character tags may not hold: only visible ASCII (33–126)")
		}
	}
	return "#" + strings.ToLower(tag), nil
}

// NormalizeItem normalizes one requested item: a cache tag (see
// NormalizeTag) or a path or URL (see NormalizePath).
func NormalizeItem(raw string) (string, error) {
	if IsTag(raw) {
		return NormalizeTag(raw)
	}
	return NormalizePath(raw)
}
