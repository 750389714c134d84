package purge

import (
	"strings"
	"testing"
)

// FuzzNormalizePath checks the properties every accepted path must have:
// CloudFront would accept it, and normalizing it again changes nothing.
func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/a", "/blog/*", "/café", "/100%", "/%zz", "https://x.example/a?b=c#d",
		"http://x.example", "/a*b", "blog", "/~u", "/a b\tc", "/\x00", "/%C3%A9", "HTTP://X/Y", "a*b", "\xff", "a%2Ab"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := NormalizePath(in)
		if err != nil {
			if ErrorCode(err) != Invalid || ErrorMessage(err) == "" {
				t.Fatalf("error without a user message or not Invalid: %v", err)
			}
			checkHint(t, ErrorMessage(err))
			return
		}
		checkCloudFrontPath(t, p)
		again, err := NormalizePath(p)
		if err != nil || again != p {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, p, again, err)
		}
	})
}

// FuzzParseCommand checks that a command either fails with a user message or
// yields a non-empty minimal cover of valid paths within CloudFront's limits.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"", "help", "#News #news /a", "#a,b", "/a /a /b/*", "/blog/* /blog/x https://e.example/x?y", "/a*b", "x y z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		cmd, err := ParseCommand(text)
		if err != nil {
			if ErrorMessage(err) == "internal error" {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if cmd.Action != ActionPurge {
			return
		}
		if len(cmd.Paths) == 0 || len(cmd.Paths) > cmd.Requested {
			t.Fatalf("%d paths from %d items", len(cmd.Paths), cmd.Requested)
		}
		for i, p := range cmd.Paths {
			checkCloudFrontPath(t, p)
			for j, q := range cmd.Paths {
				if i != j && Covers(q, p) {
					t.Fatalf("%q is covered by %q: not minimal", p, q)
				}
			}
		}
	})
}

func checkCloudFrontPath(t *testing.T, p string) {
	t.Helper()
	if IsTag(p) {
		tag := p[1:]
		if tag == "" || len(tag) > MaxTagLength || strings.ContainsAny(tag, ",*") || tag != strings.ToLower(tag) {
			t.Fatalf("%q is not a valid normalized cache tag", p)
		}
		for i := 0; i < len(tag); i++ {
			if tag[i] < 33 || tag[i] > 126 {
				t.Fatalf("%q has a byte CloudFront refuses in a tag", p)
			}
		}
		return
	}
	switch {
	case !strings.HasPrefix(p, "/"):
		t.Fatalf("%q does not start with /", p)
	case len(p) > MaxPathLength:
		t.Fatalf("%q is longer than %d", p, MaxPathLength)
	case strings.Contains(strings.TrimSuffix(p, "*"), "*"):
		t.Fatalf("%q has * before the end", p)
	case strings.Contains(strings.ToUpper(p), "%2A"):
		t.Fatalf("%q encodes *", p)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f {
			t.Fatalf("%q has unencoded byte %#x", p, c)
		}
	}
}

// checkHint fails if a refusal's "did you mean X?" suggests an X that would
// be refused too.
func checkHint(t *testing.T, msg string) {
	t.Helper()
	_, rest, ok := strings.Cut(msg, "(did you mean ")
	if !ok {
		return
	}
	hint, ok := strings.CutSuffix(rest, "?)")
	if !ok {
		t.Fatalf("hint not closed: %q", msg)
	}
	if _, err := NormalizePath(hint); err != nil {
		t.Fatalf("%q suggests %q, which is refused too: %v", msg, hint, err)
	}
}

// FuzzParseItem checks that an accepted item has one kind, that String
// gives it back in a form that parses to the same item, and that a pasted
// URL keeps its host.
func FuzzParseItem(f *testing.F) {
	for _, s := range []string{"/a", "/blog/*", "/*", "#News", "https://Shop.example.com/*", "http://x.example/a?b#c", "https://x.example", "/café", "#a,b", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		it, err := ParseItem(raw)
		if err != nil {
			if ErrorCode(err) != Invalid {
				t.Fatalf("error not Invalid: %v", err)
			}
			return
		}
		switch it.Kind {
		case KindFile, KindPrefix, KindTag, KindHost, KindEverything:
		default:
			t.Fatalf("ParseItem(%q) has kind %v", raw, it.Kind)
		}
		if it.Kind == KindHost && it.Host == "" {
			t.Fatalf("ParseItem(%q): a host item without a host", raw)
		}
		again, err := ParseItem(it.String())
		if err != nil || again != it {
			t.Fatalf("not stable: %q -> %+v -> %q -> %+v, %v", raw, it, it.String(), again, err)
		}
	})
}
