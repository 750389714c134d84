package main

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"
	"go.yaml.in/yaml/v3"
)

// mustParseManifest reads out as Slack would read the manifest, into
// slack-go's manifest types, strictly: a field they do not know fails.
func mustParseManifest(tb testing.TB, out string) *slackapi.Manifest {
	tb.Helper()
	dec := yaml.NewDecoder(strings.NewReader(out))
	dec.KnownFields(true)
	var m slackapi.Manifest
	if err := dec.Decode(&m); err != nil {
		tb.Fatalf("manifest does not parse into slack-go's Manifest: %v\n%s", err, out)
	}
	return &m
}

// checkManifestLimits checks the fields Slack requires and the lengths its
// manifest reference allows.
func checkManifestLimits(tb testing.TB, m *slackapi.Manifest) {
	tb.Helper()
	type limit struct {
		field, value string
		max          int
	}
	limits := []limit{
		{"display_information.name", m.Display.Name, 35},
		{"display_information.description", m.Display.Description, 140},
		{"display_information.long_description", m.Display.LongDescription, 4000},
		{"features.bot_user.display_name", m.Features.BotUser.DisplayName, 80},
	}
	for _, c := range m.Features.SlashCommands {
		limits = append(limits, limit{"slash_commands[].command", c.Command, maxCommandLength},
			limit{"slash_commands[].description", c.Description, 2000}, limit{"slash_commands[].usage_hint", c.UsageHint, 1000})
	}
	for _, l := range limits {
		if n := utf8.RuneCountInString(l.value); n == 0 || n > l.max {
			tb.Errorf("%s has %d characters, want 1 to %d: %q", l.field, n, l.max, l.value)
		}
	}
	if m.Features.BotUser.DisplayName != strings.ToLower(m.Features.BotUser.DisplayName) {
		tb.Errorf("bot_user.display_name %q: Slack takes a-z, 0-9, -, _ and .", m.Features.BotUser.DisplayName)
	}
}

func TestSlackManifest(t *testing.T) {
	const fn = "https://abc.lambda-url.us-east-1.on.aws"
	tests := []struct {
		name            string
		args            []string
		command         string
		commandsURL     string
		interactionsURL string
		socketMode      bool
		scopes          []string
	}{
		{name: "function URL with its trailing slash", args: []string{"--url", fn + "/"}, command: "/cdn-purge",
			commandsURL: fn + "/slack/commands", interactionsURL: fn + "/slack/interactions", scopes: []string{"commands"}},
		{name: "host without a slash", args: []string{"--url", "https://purge.example.com"}, command: "/cdn-purge",
			commandsURL: "https://purge.example.com/slack/commands", interactionsURL: "https://purge.example.com/slack/interactions", scopes: []string{"commands"}},
		{name: "port and path prefix", args: []string{"--url", "https://example.com:8443/cdnpurge/"}, command: "/cdn-purge",
			commandsURL: "https://example.com:8443/cdnpurge/slack/commands", interactionsURL: "https://example.com:8443/cdnpurge/slack/interactions", scopes: []string{"commands"}},
		{name: "HTTPS in capitals", args: []string{"--url", "HTTPS://example.com"}, command: "/cdn-purge",
			commandsURL: "https://example.com/slack/commands", interactionsURL: "https://example.com/slack/interactions", scopes: []string{"commands"}},
		{name: "another command, user groups", args: []string{"--url", fn, "--command", "/purge_cdn-2", "--usergroups"}, command: "/purge_cdn-2",
			commandsURL: fn + "/slack/commands", interactionsURL: fn + "/slack/interactions", scopes: []string{"commands", "usergroups:read"}},
		{name: "socket mode", args: []string{"--socket-mode"}, command: "/cdn-purge", socketMode: true, scopes: []string{"commands"}},
		{name: "empty command is the default", args: []string{"--socket-mode", "--command", ""}, command: "/cdn-purge", socketMode: true, scopes: []string{"commands"}},
		{name: "socket mode, user groups", args: []string{"--socket-mode", "--usergroups"}, command: "/cdn-purge", socketMode: true, scopes: []string{"commands", "usergroups:read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, nil, append([]string{"slack-manifest"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			m := mustParseManifest(t, out)
			checkManifestLimits(t, m)
			if len(m.Features.SlashCommands) != 1 {
				t.Fatalf("slash commands %+v, want one", m.Features.SlashCommands)
			}
			c := m.Features.SlashCommands[0]
			if c.Command != tt.command || c.Url != tt.commandsURL || c.ShouldEscape {
				t.Errorf("slash command %+v, want %s at %q, not escaped", c, tt.command, tt.commandsURL)
			}
			if !strings.Contains(c.UsageHint, "help") {
				t.Errorf("usage hint %q", c.UsageHint)
			}
			in := m.Settings.Interactivity
			if in == nil || !in.IsEnabled || in.RequestUrl != tt.interactionsURL {
				t.Errorf("interactivity %+v, want enabled at %q", in, tt.interactionsURL)
			}
			if m.Settings.SocketModeEnabled != tt.socketMode || m.Settings.OrgDeployEnabled || m.Settings.TokenRotationEnabled {
				t.Errorf("settings %+v, want socket_mode_enabled %v, no org deploy, no token rotation", m.Settings, tt.socketMode)
			}
			if !slices.Equal(m.OAuthConfig.Scopes.Bot, tt.scopes) || len(m.OAuthConfig.Scopes.User) != 0 {
				t.Errorf("scopes %+v, want bot %v only", m.OAuthConfig.Scopes, tt.scopes)
			}
			if tt.socketMode && strings.Contains(out, "url:") {
				t.Errorf("a Socket Mode manifest with a URL:\n%s", out)
			}
			if !strings.Contains(m.Display.LongDescription, tt.command+" help") {
				t.Errorf("long description does not name %s: %q", tt.command, m.Display.LongDescription)
			}
		})
	}
}

func TestSlackManifestRefused(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no URL", nil, "--url https://HOST is required"},
		{"http", []string{"--url", "http://example.com"}, "only https://"},
		{"not a URL", []string{"--url", "example.com"}, "must be a URL"},
		{"no host", []string{"--url", "https:///slack"}, "must be a URL"},
		{"opaque", []string{"--url", "https:example.com"}, "must be a URL"},
		{"unparsable", []string{"--url", "https://exa mple.com/%zz"}, "must be a URL"},
		{"query", []string{"--url", "https://example.com/?a=1"}, "no query"},
		{"fragment", []string{"--url", "https://example.com/#top"}, "no query or fragment"},
		{"a Request URL", []string{"--url", "https://example.com/slack/commands"}, "not a Request URL"},
		{"an interactions URL", []string{"--url", "https://example.com/slack/interactions/"}, "not a Request URL"},
		{"password", []string{"--url", "https://user:hunter2-secret@example.com"}, "no user or password"},
		{"URL with socket mode", []string{"--url", "https://example.com", "--socket-mode"}, "no Request URLs"},
		{"command without slash", []string{"--socket-mode", "--command", "cdn-purge"}, "starts with /"},
		{"command in capitals", []string{"--socket-mode", "--command", "/CDN-purge"}, "lowercase"},
		{"command with a space", []string{"--socket-mode", "--command", "/cdn purge"}, "lowercase"},
		{"command with a dot", []string{"--socket-mode", "--command", "/cdn.purge"}, "lowercase"},
		{"slash alone", []string{"--socket-mode", "--command", "/"}, "1 to 31 characters"},
		{"command too long", []string{"--socket-mode", "--command", "/" + strings.Repeat("a", 32)}, "1 to 31 characters"},
		{"stray argument", []string{"--socket-mode", "extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, nil, append([]string{"slack-manifest"}, tt.args...)...)
			if code != 2 || out != "" || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 2, nothing, %q", code, out, errOut, tt.want)
			}
			if strings.Contains(errOut, "hunter2") {
				t.Errorf("the password is in the error: %s", errOut)
			}
		})
	}
}

// TestManifestFilesAreGenerated keeps deploy/slack/*.yaml what the command
// prints for the placeholder URL, so that the files and the command never
// drift apart.
func TestManifestFilesAreGenerated(t *testing.T) {
	tests := []struct {
		file string
		args []string
	}{
		{"manifest.yaml", []string{"--url", placeholderURL}},
		{"manifest-socket-mode.yaml", []string{"--socket-mode"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			code, out, errOut := runCmd(t, nil, append([]string{"slack-manifest"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			got, err := os.ReadFile(filepath.Join("..", "..", "deploy", "slack", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != out {
				t.Errorf("deploy/slack/%s is not what the command prints; regenerate it:\n"+
					"  go run ./cmd/cdnpurge slack-manifest %s > deploy/slack/%s\nwant:\n%s",
					tt.file, strings.Join(tt.args, " "), tt.file, out)
			}
		})
	}
}

// FuzzSlackManifest checks the --url and --command parsers on any input:
// either refused, with no password quoted, or a manifest that parses back
// strictly into the one built, with https:// Request URLs on the given host.
//
//	go test ./cmd/cdnpurge -run '^$' -fuzz '^FuzzSlackManifest$' -fuzztime 60s
func FuzzSlackManifest(f *testing.F) {
	f.Add("https://abc.lambda-url.us-east-1.on.aws/", "/cdn-purge")
	f.Add("https://u:p@example.com:8443/a/", "/x")
	f.Add("http://example.com", "/cdn-purge")
	f.Add("example.com", "cdn")
	f.Fuzz(func(t *testing.T, base, command string) {
		m, err := slackManifest(manifestOptions{baseURL: base, command: command})
		if err != nil {
			if u, perr := url.Parse(base); perr == nil && u.User != nil {
				if p, ok := u.User.Password(); ok && len(p) > 3 && strings.Contains(err.Error(), p) {
					t.Fatalf("the password %q is in the error %q", p, err)
				}
			}
			return
		}
		u, err := url.Parse(base)
		if err != nil {
			t.Fatalf("%q accepted but does not parse: %v", base, err)
		}
		for _, got := range []string{m.Features.SlashCommands[0].Url, m.Settings.Interactivity.RequestUrl} {
			g, err := url.Parse(got)
			if err != nil || g.Scheme != "https" || g.Host != u.Host || g.User != nil || g.RawQuery != "" {
				t.Fatalf("%q gave the Request URL %q", base, got)
			}
		}
		out, err := marshalManifest(m)
		if err != nil {
			t.Fatal(err)
		}
		if back := mustParseManifest(t, string(out)); !reflect.DeepEqual(back, m) {
			t.Fatalf("manifest does not read back as built:\n%s", out)
		}
		if !bytes.HasPrefix(out, []byte("_metadata:")) {
			t.Fatalf("manifest begins %q", out[:min(len(out), 20)])
		}
	})
}
