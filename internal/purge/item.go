package purge

import (
	"net/url"
	"strconv"
	"strings"
)

// Kind is what a purge item names. Kinds are bits, so that a provider's
// Capabilities can hold the set it takes.
type Kind uint8

// The kinds of item a purge may name.
const (
	// KindFile is one object: a path on the target's domain ("/index.html")
	// or a pasted URL ("https://www.example.com/a?b=1").
	KindFile Kind = 1 << iota
	// KindPrefix is every object under a path: "/blog/*".
	KindPrefix
	// KindTag is every object that carries a cache tag (a surrogate key):
	// "#news".
	KindTag
	// KindHost is every object on one host: a pasted URL whose path is "/*"
	// ("https://shop.example.com/*").
	KindHost
	// KindEverything is every object of the target: "/*".
	KindEverything
)

// AllKinds is the set of every kind.
const AllKinds = KindFile | KindPrefix | KindTag | KindHost | KindEverything

// Split lists the kinds in the set k, in the order messages name them.
func (k Kind) Split() []Kind {
	var out []Kind
	for _, one := range []Kind{KindFile, KindPrefix, KindTag, KindHost, KindEverything} {
		if k.Has(one) {
			out = append(out, one)
		}
	}
	return out
}

// String names the kind for messages: "file", "prefix", "tag", "host",
// "everything".
func (k Kind) String() string {
	switch k {
	case KindFile:
		return "file"
	case KindPrefix:
		return "prefix"
	case KindTag:
		return "tag"
	case KindHost:
		return "host"
	case KindEverything:
		return "everything"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Has reports whether the set k holds every kind of want.
func (k Kind) Has(want Kind) bool { return k&want == want }

// Item is one thing a purge names, normalized: String gives it back in the
// form the command takes.
type Item struct {
	Kind Kind
	// Host is the lower-cased host of a pasted URL, without port or
	// trailing dot; empty for a bare path, a tag, or everything.
	Host string
	// Path is the normalized path (see NormalizePath), query included, for
	// KindFile; the path ending in "*" for KindPrefix; FullPurge for
	// KindHost and KindEverything; empty for KindTag.
	Path string
	// Scheme is "https" or "http" for a pasted URL, empty otherwise.
	Scheme string
	// Tag is the tag without "#", for KindTag, in the case it was given:
	// surrogate keys match exactly (CloudFront lower-cases its tags).
	Tag string
}

// String returns the item as a command names it: "#news", "/blog/*", or
// the pasted URL.
func (it Item) String() string {
	switch {
	case it.Kind == KindTag:
		return "#" + it.Tag
	case it.Host != "":
		return it.Scheme + "://" + it.Host + it.Path
	}
	return it.Path
}

// ItemStrings returns each item as a command names it (see Item.String).
func ItemStrings(items []Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.String()
	}
	return out
}

// ItemOf returns the item a normalized path, URL or tag names (see
// NormalizeItem): its kind by its form. A string that was not normalized
// gets the kind its form suggests.
func ItemOf(normalized string) Item {
	if IsTag(normalized) {
		return Item{Kind: KindTag, Tag: strings.TrimPrefix(normalized, "#")}
	}
	var it Item
	it.Path = normalized
	if isHTTPURL(normalized) {
		if u, err := url.Parse(normalized); err == nil {
			it.Scheme, it.Host = urlHost(u)
			it.Path = u.EscapedPath()
			if it.Path == "" {
				it.Path = "/"
			}
			if u.RawQuery != "" || u.ForceQuery {
				it.Path += "?" + u.RawQuery
			}
		}
	}
	switch {
	case it.Path == FullPurge && it.Host != "":
		it.Kind = KindHost
	case it.Path == FullPurge:
		it.Kind = KindEverything
	case IsWildcard(it.Path):
		it.Kind = KindPrefix
	default:
		it.Kind = KindFile
	}
	return it
}

// ParseItem normalizes what a user typed (a path, a pasted URL or a cache
// tag) into an Item, with the same rules and errors as NormalizeItem; a
// pasted URL keeps its host and scheme.
func ParseItem(raw string) (Item, error) {
	p, err := NormalizeItem(raw)
	if err != nil {
		return Item{}, err
	}
	return itemFrom(raw, p), nil
}

// itemFrom is the Item of raw, whose normalized form (NormalizeItem) is p.
func itemFrom(raw, p string) Item {
	it := ItemOf(p)
	if it.Kind == KindTag {
		// NormalizeTag lower-cases, as CloudFront matches tags; Fastly's
		// and Varnish's surrogate keys match exactly, so the item keeps
		// the case it was given, and CloudFront lower-cases it.
		it.Tag = strings.TrimPrefix(raw, "#")
	}
	if isHTTPURL(raw) {
		if u, err := url.Parse(raw); err == nil {
			it.Scheme, it.Host = urlHost(u)
			if it.Kind == KindEverything && it.Host != "" {
				it.Kind = KindHost
			}
		}
	}
	return it
}

// urlHost returns a pasted URL's scheme and host, lower-cased, the host
// without port or trailing dot; both empty when no host remains.
func urlHost(u *url.URL) (scheme, host string) {
	host = strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "" {
		return "", ""
	}
	return strings.ToLower(u.Scheme), host
}
