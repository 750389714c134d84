package purge

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestParseItem(t *testing.T) {
	tests := []struct {
		raw  string
		want Item
		str  string
	}{
		{"/index.html", Item{Kind: KindFile, Path: "/index.html"}, "/index.html"},
		{"/blog/*", Item{Kind: KindPrefix, Path: "/blog/*"}, "/blog/*"},
		{"/*", Item{Kind: KindEverything, Path: "/*"}, "/*"},
		{"#News", Item{Kind: KindTag, Tag: "News"}, "#News"},
		{"https://WWW.Example.com./a?b=1", Item{Kind: KindFile, Host: "www.example.com", Scheme: "https", Path: "/a?b=1"}, "https://www.example.com/a?b=1"},
		{"http://shop.example.com/*", Item{Kind: KindHost, Host: "shop.example.com", Scheme: "http", Path: "/*"}, "http://shop.example.com/*"},
		{"https://shop.example.com/img/*", Item{Kind: KindPrefix, Host: "shop.example.com", Scheme: "https", Path: "/img/*"}, "https://shop.example.com/img/*"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := ParseItem(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("ParseItem(%q) = %+v, want %+v", tt.raw, got, tt.want)
			}
			if got.String() != tt.str {
				t.Errorf("String() = %q, want %q", got.String(), tt.str)
			}
			if again := ItemOf(got.String()); again != got {
				t.Errorf("ItemOf(String()) = %+v, want %+v", again, got)
			}
		})
	}
	if _, err := ParseItem("blog"); ErrorCode(err) != Invalid {
		t.Errorf("ParseItem(blog) error = %v, want Invalid", err)
	}
}

func TestCapabilitiesCheck(t *testing.T) {
	fastly := Capabilities{Provider: "Fastly", Kinds: KindFile | KindTag | KindEverything}
	tests := []struct {
		name  string
		caps  Capabilities
		items []string
		want  string // "" for no error
	}{
		{"all taken", fastly, []string{"/a", "#t", "/*"}, ""},
		{"prefix on fastly", fastly, []string{"/a", "/blog/*"}, "Fastly cannot purge by prefix (`/blog/*`): use a surrogate key (`#tag`) or purge everything (`/*`)"},
		{"host on fastly", fastly, []string{"https://shop.example.com/*"}, "Fastly cannot purge a whole host (`https://shop.example.com/*`): use a surrogate key (`#tag`) or purge everything (`/*`)"},
		{"tag without tags", Capabilities{Provider: "Varnish", Kinds: KindFile | KindPrefix | KindEverything}, []string{"#x"}, "Varnish cannot purge by cache tag (`#x`): purge the paths, a prefix (`/blog/*`) or everything (`/*`)"},
		{"nothing instead", Capabilities{Provider: "X", Kinds: KindFile}, []string{"/*"}, "X cannot purge everything (`/*`)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var items []Item
			for _, raw := range tt.items {
				it, err := ParseItem(raw)
				if err != nil {
					t.Fatal(err)
				}
				items = append(items, it)
			}
			err := tt.caps.Check(items)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if ErrorCode(err) != Invalid || !errors.Is(err, ErrUnsupported) {
				t.Fatalf("Check = %v, want Invalid wrapping ErrUnsupported", err)
			}
			if got := ErrorMessage(err); got != tt.want {
				t.Errorf("message = %q\nwant      %q", got, tt.want)
			}
		})
	}
}

func TestBatches(t *testing.T) {
	var items []Item
	for _, raw := range []string{"/a", "#t1", "/b", "/c/*", "#t2", "/d"} {
		it, _ := ParseItem(raw)
		items = append(items, it)
	}
	str := func(bs [][]Item) string {
		var parts []string
		for _, b := range bs {
			var s []string
			for _, it := range b {
				s = append(s, it.String())
			}
			parts = append(parts, strings.Join(s, " "))
		}
		return strings.Join(parts, " | ")
	}
	tests := []struct {
		name string
		caps Capabilities
		want string
	}{
		{"no limit", Capabilities{}, "/a #t1 /b /c/* #t2 /d"},
		{"two a request", Capabilities{MaxBatch: 2}, "/a #t1 | /b /c/* | #t2 /d"},
		{"one kind", Capabilities{OneKindPerRequest: true}, "/a /b /d | #t1 #t2 | /c/*"},
		{"one kind, two a request", Capabilities{OneKindPerRequest: true, MaxBatch: 2}, "/a /b | /d | #t1 #t2 | /c/*"},
		{"a file a request, tags by two", Capabilities{OneKindPerRequest: true, MaxBatch: 2, MaxBatchByKind: map[Kind]int{KindFile: 1}}, "/a | /b | /d | #t1 #t2 | /c/*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := str(tt.caps.Batches(items)); got != tt.want {
				t.Errorf("Batches = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	err := &Error{Code: RateLimited, Message: "slow down", Err: &RateLimit{After: 3e9}}
	if d, ok := RetryAfter(err); !ok || d != 3e9 {
		t.Errorf("RetryAfter = %v, %v", d, ok)
	}
	if _, ok := RetryAfter(Errorf(RateLimited, "x")); ok {
		t.Error("RetryAfter without a RateLimit said ok")
	}
}

func TestValidTenantID(t *testing.T) {
	for id, want := range map[string]bool{
		"dt_2wjDZi3hD1ivOXf6rpZJOSNE1AB": true, "dt_a": true, "dt_": false, "dt_a-b": false,
		"E2QWRUHEXAMPLE": false, "DT_abc": false, "dt_" + strings.Repeat("a", 65): false,
	} {
		if got := ValidTenantID(id); got != want {
			t.Errorf("ValidTenantID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestKindSplit(t *testing.T) {
	if got := (KindTag | KindFile | KindEverything).Split(); len(got) != 3 || got[0] != KindFile || got[1] != KindTag || got[2] != KindEverything {
		t.Errorf("Split = %v", got)
	}
	if got := AllKinds.Split(); len(got) != 5 {
		t.Errorf("AllKinds.Split = %v", got)
	}
	if got := Kind(0).Split(); len(got) != 0 {
		t.Errorf("Kind(0).Split = %v", got)
	}
}

// TestParseItems: each item once, in the order given, the long way (a map)
// as the short (a scan); the first bad item stops it.
func TestParseItems(t *testing.T) {
	long := []string{"/dup"}
	for i := range 40 {
		long = append(long, "/p"+strconv.Itoa(i), "/dup")
	}
	items, err := ParseItems(long)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 41 || items[0].Path != "/dup" || items[40].Path != "/p39" {
		t.Errorf("%d items (%v…), want /dup and /p0../p39, each once", len(items), items[0])
	}
	if items, _ := ParseItems([]string{"/a", "#T", "/a", "https://x.example/a", "#T"}); len(items) != 3 || items[1].Tag != "T" || items[2].Host != "x.example" {
		t.Errorf("ParseItems = %+v", items)
	}
	if _, err := ParseItems([]string{"/ok", "nope"}); ErrorCode(err) != Invalid || !strings.Contains(ErrorMessage(err), `"nope"`) {
		t.Errorf("a bad item: %v", err)
	}
}
