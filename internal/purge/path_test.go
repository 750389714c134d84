package purge

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNormalizePath(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  string // substring of the user message; "" means no error
		noHint   bool   // the message suggests no path
	}{
		{in: "/index.html", want: "/index.html"},
		{in: "/blog/*", want: "/blog/*"},
		{in: "/*", want: "/*"},
		{in: "/Images/Logo.PNG", want: "/Images/Logo.PNG"},
		{in: "/a b", want: "/a%20b"},
		{in: "/café", want: "/caf%C3%A9"},
		{in: "/caf%C3%A9", want: "/caf%C3%A9"},
		{in: "/100%", want: "/100%25"},
		{in: "/100%zz", want: "/100%25zz"},
		{in: "/a{b}|c^[d]`e\\f", want: "/a%7Bb%7D%7Cc%5E%5Bd%5D%60e%5Cf"},
		{in: "/~user/page", want: "/~user/page"},
		{in: "/a%2A", want: "/a*"},
		{in: "/a%2a", want: "/a*"},
		{in: "/%41%7e%2F", want: "/A~%2F"},
		{in: "/a%2Ab", wantErr: "only as the last character"},
		{in: "/%252A", want: "/%252A"},
		{in: "/%2%41", want: "/*"},
		{in: "/%2%41x", wantErr: "only as the last character"},
		{in: "/page?id=1&x=y", want: "/page?id=1&x=y"},
		{in: "/search?q=*", want: "/search?q=*"},
		{in: "/a:b@c!$&'()+,;=", want: "/a:b@c!$&'()+,;="},
		{in: "https://www.example.com/blog/post?id=1", want: "/blog/post?id=1"},
		{in: "HTTPS://www.example.com/Blog/", want: "/Blog/"},
		{in: "http://example.com", want: "/"},
		{in: "https://example.com/a#frag", want: "/a"},
		{in: "https://example.com/café", want: "/caf%C3%A9"},
		{in: "https://example.com/caf%C3%A9", want: "/caf%C3%A9"},
		{in: "https://example.com/blog/*", want: "/blog/*"},
		{in: "https://example.com/?", want: "/?"},
		{in: "blog/*", wantErr: "must start with / (did you mean /blog/*?)"},
		// No hint that would be refused in its turn.
		{in: "a*b", wantErr: `"a*b" must start with /`, noHint: true},
		{in: "x\xff", wantErr: "must start with /", noHint: true},
		{in: strings.Repeat("a", MaxPathLength), wantErr: "must start with /", noHint: true},
		{in: "", wantErr: "is empty"},
		{in: "/a*b", wantErr: "only as the last character"},
		{in: "/**", wantErr: "only as the last character"},
		{in: "https://", wantErr: "not a valid URL"},
		{in: "https://exa mple.com/", wantErr: "not a valid URL"},
		{in: "/" + strings.Repeat("a", MaxPathLength-1), want: "/" + strings.Repeat("a", MaxPathLength-1)},
		{in: "/" + strings.Repeat("a", MaxPathLength), wantErr: "at most 4000"},
		{in: "/" + strings.Repeat("é", 1000), wantErr: "6001 characters long once encoded"},
		{in: "/\xff", wantErr: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(Shorten(tt.in), func(t *testing.T) {
			got, err := NormalizePath(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("NormalizePath(%q) = %q, want error containing %q", tt.in, got, tt.wantErr)
				}
				if ErrorCode(err) != Invalid {
					t.Errorf("code = %q, want %q", ErrorCode(err), Invalid)
				}
				if msg := ErrorMessage(err); !strings.Contains(msg, tt.wantErr) {
					t.Errorf("message %q does not contain %q", msg, tt.wantErr)
				}
				if msg := ErrorMessage(err); tt.noHint && strings.Contains(msg, "did you mean") {
					t.Errorf("message %q suggests a path that is refused too", msg)
				}
				checkHint(t, ErrorMessage(err))
				return
			}
			if err != nil {
				t.Fatalf("NormalizePath(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("NormalizePath(%q) = %q, want %q", tt.in, got, tt.want)
			}
			again, err := NormalizePath(got)
			if err != nil || again != got {
				t.Errorf("not idempotent: NormalizePath(%q) = %q, %v", got, again, err)
			}
		})
	}
}

func TestMinimalCover(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"empty", nil, []string{}},
		{"one", []string{"/a"}, []string{"/a"}},
		{"duplicates keep first", []string{"/a", "/b", "/a"}, []string{"/a", "/b"}},
		{"wildcard covers file", []string{"/blog/post", "/blog/*"}, []string{"/blog/*"}},
		{"wildcard covers query", []string{"/blog/*", "/blog/a?id=1"}, []string{"/blog/*"}},
		{"wildcard covers narrower wildcard", []string{"/blog/2024/*", "/blog/*"}, []string{"/blog/*"}},
		{"full purge covers all", []string{"/a", "/b/*", "/*", "/c"}, []string{"/*"}},
		{"prefix wildcard is not a directory", []string{"/blog*", "/blog2/x", "/blo"}, []string{"/blog*", "/blo"}},
		{"duplicate wildcards", []string{"/a/*", "/a/*"}, []string{"/a/*"}},
		{"case matters", []string{"/A/*", "/a/x"}, []string{"/A/*", "/a/x"}},
		{"file does not cover", []string{"/blog", "/blog/x"}, []string{"/blog", "/blog/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MinimalCover(tt.in)
			if strings.Join(got, " ") != strings.Join(tt.want, " ") || len(got) != len(tt.want) {
				t.Errorf("MinimalCover(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizePathsLeavesLimitsToProviders(t *testing.T) {
	many := func(n int, wildcard bool) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "/f" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "/" + itoa(i)
			if wildcard {
				out[i] += "/*"
			}
		}
		return out
	}
	tests := []struct {
		name    string
		in      []string
		wantErr string
	}{
		{"none", nil, "no paths given"},
		// CloudFront's limits are its provider's to check
		// (cloudfrontcdn.CheckPaths), not the parser's.
		{"3001 files", many(cloudFrontFiles+1, false), ""},
		{"16 wildcards", many(cloudFrontWildcards+1, true), ""},
		{"bad item names itself", []string{"/ok", "nope"}, `"nope" must start with /`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NormalizePaths(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(ErrorMessage(err), tt.wantErr) {
				t.Fatalf("err = %v, want message containing %q", err, tt.wantErr)
			}
		})
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		text       string
		wantAction Action
		wantTarget string
		wantPaths  []string
		wantHosts  []string
		wantID     string
		wantErr    string
	}{
		{text: "", wantAction: ActionPurge, wantPaths: []string{"/*"}},
		{text: "   ", wantAction: ActionPurge, wantPaths: []string{"/*"}},
		{text: "help", wantAction: ActionHelp},
		{text: " HELP ", wantAction: ActionHelp},
		{text: "targets", wantAction: ActionTargets},
		{text: "Usage", wantAction: ActionUsage},
		{text: "/blog/* /index.html", wantAction: ActionPurge, wantPaths: []string{"/blog/*", "/index.html"}},
		{text: "/blog/a /blog/*\n/blog/a", wantAction: ActionPurge, wantPaths: []string{"/blog/*"}},
		{text: "https://www.example.com/blog/post?id=1", wantAction: ActionPurge, wantPaths: []string{"/blog/post?id=1"}, wantHosts: []string{"www.example.com"}},
		{text: "HTTPS://WWW.Example.com:8443/a https://www.example.com/b http://docs.example.com/", wantAction: ActionPurge,
			wantPaths: []string{"/a", "/b", "/"}, wantHosts: []string{"docs.example.com", "www.example.com"}},
		{text: "https://Docs.Example.com./guide/a", wantAction: ActionPurge, wantPaths: []string{"/guide/a"}, wantHosts: []string{"docs.example.com"}},
		{text: "www /blog/*", wantAction: ActionPurge, wantTarget: "www", wantPaths: []string{"/blog/*"}},
		{text: "WWW-2 /a #Tag", wantAction: ActionPurge, wantTarget: "www-2", wantPaths: []string{"/a", "#tag"}},
		{text: "docs", wantAction: ActionPurge, wantTarget: "docs", wantPaths: []string{"/*"}},
		{text: "help /x", wantErr: "help takes nothing after it"},
		{text: "targets www", wantErr: "targets takes nothing after it"},
		{text: "status", wantAction: ActionStatus},
		{text: "STATUS I2J0I21PCUYOIK", wantAction: ActionStatus, wantID: "I2J0I21PCUYOIK"},
		{text: "status www I2J0I21PCUYOIK", wantAction: ActionStatus, wantTarget: "www", wantID: "I2J0I21PCUYOIK"},
		{text: "status docs", wantAction: ActionStatus, wantTarget: "docs"},
		{text: "status A B", wantErr: "at most a target name and one invalidation ID"},
		{text: "status www docs", wantErr: "at most a target name and one invalidation ID"},
		{text: "list", wantAction: ActionList},
		{text: "list www", wantAction: ActionList, wantTarget: "www"},
		{text: "list 5", wantErr: "list takes at most a target name"},
		{text: "/ok /a*b", wantErr: `"/a*b" has * before the end`},
		// Several target names and nothing to purge: the last is a path
		// without its slash, not "everything on both".
		{text: "www blog", wantErr: `"blog" must start with / (did you mean /blog?)`},
		{text: "www shop docs", wantErr: `"docs" must start with / (did you mean /docs?)`},
		{text: "index.html", wantErr: `"index.html" must start with /`},
		{text: "_www /a", wantErr: `"_www" must start with /`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			cmd, err := ParseCommand(tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(ErrorMessage(err), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cmd.Action != tt.wantAction || cmd.Target != tt.wantTarget || cmd.ID != tt.wantID ||
				strings.Join(cmd.Paths, " ") != strings.Join(tt.wantPaths, " ") || strings.Join(cmd.Hosts, " ") != strings.Join(tt.wantHosts, " ") {
				t.Errorf("ParseCommand(%q) = %+v, want action %v target %q paths %q hosts %q id %q",
					tt.text, cmd, tt.wantAction, tt.wantTarget, tt.wantPaths, tt.wantHosts, tt.wantID)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	detail := errors.New("secret detail")
	tests := []struct {
		err      error
		wantCode Code
		wantMsg  string
	}{
		{nil, "", ""},
		{detail, Internal, "internal error"},
		{&Error{Code: NotFound, Message: "no such thing", Err: detail}, NotFound, "no such thing"},
		{&Error{Code: RateLimited, Err: detail}, RateLimited, "internal error"},
	}
	for _, tt := range tests {
		if got := ErrorCode(tt.err); got != tt.wantCode {
			t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.wantCode)
		}
		if got := ErrorMessage(tt.err); got != tt.wantMsg {
			t.Errorf("ErrorMessage(%v) = %q, want %q", tt.err, got, tt.wantMsg)
		}
	}
	if !Temporary(&Error{Code: Unavailable}) || Temporary(&Error{Code: Invalid}) {
		t.Error("Temporary misclassifies")
	}
}

func TestCallerReferences(t *testing.T) {
	tests := []struct {
		ref            string
		source, userID string
	}{
		{SlackCallerReference("U2147483697", "13345224609.738474920.8088930838d88f008e0"), "slack", "U2147483697"},
		{SlackCallerReference("U-ODD", "a-b-c"), "slack", "UODD"},
		{SlackCallerReference("", "x"), "slack", ""},
		{CLICallerReference("build-42"), "cli", ""},
		{"cli-1795620495-928492", "", ""},
		{"cdnpurge-slack-", "slack", ""},
	}
	for _, tt := range tests {
		source, user := Requester(tt.ref)
		if source != tt.source || user != tt.userID {
			t.Errorf("Requester(%q) = %q, %q; want %q, %q", tt.ref, source, user, tt.source, tt.userID)
		}
	}
}

func TestConfirmPolicy(t *testing.T) {
	tests := []struct {
		policy ConfirmPolicy
		paths  []string
		want   bool
	}{
		{ConfirmPolicy{}, []string{"/*"}, false},
		{ConfirmPolicy{Mode: ConfirmFullPurge}, []string{"/*"}, true},
		{ConfirmPolicy{Mode: ConfirmFullPurge}, []string{"/blog/*"}, false},
		{ConfirmPolicy{Mode: ConfirmAlways}, []string{"/a"}, true},
		{ConfirmPolicy{Over: 2}, []string{"/a", "/b"}, false},
		{ConfirmPolicy{Over: 2}, []string{"/a", "/b", "/c"}, true},
	}
	for _, tt := range tests {
		if got, why := tt.policy.Needed(tt.paths); got != tt.want || got && why == "" {
			t.Errorf("%+v.Needed(%q) = %v %q, want %v", tt.policy, tt.paths, got, why, tt.want)
		}
	}
	for in, want := range map[string]ConfirmMode{"": ConfirmNever, "Full-Purge": ConfirmFullPurge, "always": ConfirmAlways} {
		if got, err := ParseConfirmMode(in); err != nil || got != want {
			t.Errorf("ParseConfirmMode(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseConfirmMode("sometimes"); err == nil {
		t.Error("ParseConfirmMode accepted a bad mode")
	}
}

func TestCacheTags(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "#product:tv", want: "#product:tv"},
		{in: "#Product:TV", want: "#product:tv"},
		{in: "#a!~", want: "#a!~"},
		{in: "#" + strings.Repeat("x", MaxTagLength), want: "#" + strings.Repeat("x", MaxTagLength)},
		{in: "#" + strings.Repeat("x", MaxTagLength+1), wantErr: "at most 1024"},
		{in: "#", wantErr: "empty cache tag"},
		{in: "#a,b", wantErr: "comma"},
		{in: "#news*", wantErr: "no wildcard"},
		{in: "#caf\u00e9", wantErr: "visible ASCII"},
		{in: "#a\tb", wantErr: "visible ASCII"},
	}
	for _, tt := range tests {
		got, err := NormalizeItem(tt.in)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(ErrorMessage(err), tt.wantErr) || ErrorCode(err) != Invalid {
				t.Errorf("NormalizeItem(%q) = %q, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
		case err != nil || got != tt.want:
			t.Errorf("NormalizeItem(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	paths, err := NormalizePaths([]string{"#News", "/blog/*", "#news", "#NEWS", "/blog/x", "#sports"})
	if err != nil || strings.Join(paths, " ") != "#news /blog/* #sports" {
		t.Fatalf("mixed list = %q, %v", paths, err)
	}
	if files, wildcards := CountPaths(paths); files != 2 || wildcards != 1 {
		t.Fatalf("CountPaths = %d files, %d wildcards", files, wildcards)
	}
	// A wildcard never covers a tag: "/*" purges paths, not tags.
	if got := MinimalCover([]string{"/*", "#news"}); len(got) != 2 {
		t.Fatalf("MinimalCover dropped a tag under /*: %q", got)
	}
}

// TestParseCommandItems checks the items a purge carries, with their
// kinds, each once; a pasted URL keeps its host.
func TestParseCommandItems(t *testing.T) {
	tests := []struct {
		text        string
		wantTargets []string
		wantItems   []string
	}{
		{"www /index.html", []string{"www"}, []string{"/index.html"}},
		{"/a https://Shop.example.com/b?c=1 #T /a", nil, []string{"/a", "https://shop.example.com/b?c=1", "#T"}},
		{"", nil, []string{"/*"}},
		{"www", []string{"www"}, []string{"/*"}},
		{"www shop /index.html", []string{"www", "shop"}, []string{"/index.html"}},
		{"Www www SHOP-2 /*", []string{"www", "shop-2"}, []string{"/*"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			cmd, err := ParseCommand(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cmd.Targets, tt.wantTargets) {
				t.Errorf("Targets = %q, want %q", cmd.Targets, tt.wantTargets)
			}
			var items []string
			for _, it := range cmd.Items {
				items = append(items, it.String())
			}
			if !slices.Equal(items, tt.wantItems) {
				t.Errorf("Items = %q, want %q", items, tt.wantItems)
			}
		})
	}
}

// TestNotATarget: a word after the first target that names no target is a
// path without its "/", and the command says so ("/cdn-purge www blog").
func TestNotATarget(t *testing.T) {
	cmd, err := ParseCommand("www blog /a")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ErrorMessage(cmd.NotATarget("blog")), `"blog" must start with / (did you mean /blog?)`; got != want {
		t.Errorf("NotATarget(blog) = %q, want %q", got, want)
	}
	if err := cmd.NotATarget("www"); err != nil {
		t.Errorf("NotATarget(www), the first, = %v, want nil", err)
	}
}
