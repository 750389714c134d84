package purge

import (
	"strings"
)

// MaxTagLength is the longest cache tag CloudFront accepts, without the "#".
const MaxTagLength = 256

// IsTag reports whether an item is a cache tag ("#product:tv") rather than a
// path. CloudFront takes both in the same Paths list.
func IsTag(item string) bool { return strings.HasPrefix(item, "#") }

// NormalizeTag checks a cache-tag item by CloudFront's rules
// (invalidation-specifying-tags in the developer guide): "#" and then 1 to
// 256 visible ASCII characters (33–126), no commas, no wildcard. Tags are
// case-insensitive, so the result is lower-cased: "#Product:TV" and
// "#product:tv" are one tag, billed once.
func NormalizeTag(raw string) (string, error) {
	tag := strings.TrimPrefix(raw, "#")
	switch {
	case !IsTag(raw):
		return "", pathErrorf(raw, "is not a cache tag: tags must start with #")
	case tag == "":
		return "", pathErrorf(raw, "is an empty cache tag")
	case len(tag) > MaxTagLength:
		return "", pathErrorf(shorten(raw), "is a cache tag of %d characters; CloudFront allows at most %d", len(tag), MaxTagLength)
	case strings.Contains(tag, "*"):
		return "", pathErrorf(raw, "is a cache tag with *: tags match exactly, CloudFront allows no wildcard in them")
	case strings.Contains(tag, ","):
		return "", pathErrorf(raw, "is a cache tag with a comma: CloudFront refuses commas in tags (give each tag on its own)")
	}
	for i := 0; i < len(tag); i++ {
		if c := tag[i]; c < 33 || c > 126 {
			return "", pathErrorf(raw, "is a cache tag with a character CloudFront refuses: only visible ASCII (33–126)")
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
