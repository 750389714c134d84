package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	slackapi "github.com/slack-go/slack"
	"go.yaml.in/yaml/v3"
)

// `cdnpurge slack-manifest` prints the Slack app manifest, to paste at
// Create New App → From an app manifest. It is built from slack-go's
// manifest types and marshalled to YAML, and deploy/slack/*.yaml are its
// output for a placeholder URL (TestManifestFilesAreGenerated keeps them
// so): one source for both.

// Defaults and names of the manifest.
const (
	defaultCommand = "/cdn-purge"
	// placeholderURL is the base URL in deploy/slack/manifest.yaml.
	placeholderURL = "https://YOUR-HOST"
	// commandsPath and interactionsPath are the routes of internal/httpapi
	// the manifest's Request URLs point at.
	commandsPath     = "/slack/commands"
	interactionsPath = "/slack/interactions"
	// scopeCommands lets the app add slash commands; scopeUserGroups lets
	// its bot token read user groups' members, for targets with
	// `usergroups` (CDNPURGE_SLACK_BOT_TOKEN).
	scopeCommands   = "commands"
	scopeUserGroups = "usergroups:read"
)

// Slack's limits on manifest fields (the manifest reference, as
// @slack/web-api's Manifest type documents them).
const (
	maxCommandLength = 32 // slash_commands[].command, with its "/"
)

// manifestOptions say which manifest to build.
type manifestOptions struct {
	// baseURL is where Slack reaches the server (https://HOST, a Function
	// URL); the Request URLs are under it. Empty with socketMode.
	baseURL string
	// socketMode builds a Socket Mode app: no Request URLs.
	socketMode bool
	// command is the slash command, "/cdn-purge" when empty.
	command string
	// userGroups adds the usergroups:read bot scope.
	userGroups bool
}

func runSlackManifest(_ context.Context, e env) error {
	fs := newFlagSet("slack-manifest", e)
	base := fs.String("url", "", "where Slack reaches the server, `https://HOST` (a Function URL from the stack's output works); the Request URLs are HOST"+commandsPath+" and HOST"+interactionsPath+"; required unless --socket-mode")
	socket := fs.Bool("socket-mode", false, "a Socket Mode app (serve with CDNPURGE_SLACK_APP_TOKEN): no Request URLs, no --url")
	command := fs.String("command", defaultCommand, "the slash command")
	groups := fs.Bool("usergroups", false, "add the "+scopeUserGroups+" bot scope, for targets with usergroups (CDNPURGE_SLACK_BOT_TOKEN)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: cdnpurge slack-manifest [--url https://HOST] [--socket-mode] [--command /cdn-purge] [--usergroups]\n\n"+
			"Prints the Slack app manifest (YAML) with the Request URLs filled in, for\n"+
			"https://api.slack.com/apps → Create New App → From an app manifest.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	m, err := slackManifest(manifestOptions{baseURL: *base, socketMode: *socket, command: *command, userGroups: *groups})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	out, err := marshalManifest(m)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(out)
	return err
}

// slackManifest builds the app manifest for o: the slash command, the
// interactivity approvals need, the bot scopes, and either Request URLs
// under o.baseURL or Socket Mode.
func slackManifest(o manifestOptions) (*slackapi.Manifest, error) {
	if o.command == "" {
		o.command = defaultCommand
	}
	if err := checkCommandName(o.command); err != nil {
		return nil, err
	}
	var commandsURL, interactionsURL string
	switch {
	case o.socketMode && o.baseURL != "":
		return nil, errors.New("--url with --socket-mode: a Socket Mode app has no Request URLs")
	case !o.socketMode && o.baseURL == "":
		return nil, errors.New("--url https://HOST is required (or --socket-mode, for an app with no public endpoint)")
	case !o.socketMode:
		var err error
		if commandsURL, interactionsURL, err = requestURLs(o.baseURL); err != nil {
			return nil, err
		}
	}
	scopes := []string{scopeCommands}
	if o.userGroups {
		scopes = append(scopes, scopeUserGroups)
	}
	return &slackapi.Manifest{
		Metadata: slackapi.ManifestMetadata{MajorVersion: 1, MinorVersion: 1},
		Display: slackapi.Display{
			Name:        "cdnpurge",
			Description: "Purge the CDN cache from Slack: paths, URLs, cache tags, or everything.",
			LongDescription: "cdnpurge purges CloudFront, Cloudflare, Fastly and Varnish caches from a Slack channel. " +
				"Type " + o.command + " with the paths or URLs to purge; the channel sees the purge start and finish. " +
				"Channels, people and paths are allowed per target, and a purge can wait for an approval. " +
				"Type " + o.command + " help for more.",
		},
		Features: slackapi.Features{
			BotUser: slackapi.BotUser{DisplayName: "cdnpurge"},
			SlashCommands: []slackapi.ManifestSlashCommand{{
				Command:     o.command,
				Description: "Purge the CDN cache",
				UsageHint:   "[TARGET] [paths, URLs or #tags…] | status | list | targets | usage | help",
				Url:         commandsURL,
				// should_escape stays false (Slack's default): escaped, a
				// cache tag such as #product may arrive as a channel
				// link when a channel of that name exists. Pasted links are
				// read either way (slack.PlainText).
				ShouldEscape: false,
			}},
		},
		OAuthConfig: slackapi.OAuthConfig{Scopes: slackapi.OAuthScopes{Bot: scopes}},
		Settings: slackapi.Settings{
			// Approvals are buttons: their clicks arrive as interactions.
			Interactivity:     &slackapi.Interactivity{IsEnabled: true, RequestUrl: interactionsURL},
			SocketModeEnabled: o.socketMode,
		},
	}, nil
}

// requestURLs returns the slash command's and the interactions' Request
// URLs under base, an https:// URL (a path prefix and a trailing slash are
// kept as one "/"). Errors never quote a password base may hold.
func requestURLs(base string) (commands, interactions string, err error) {
	u, perr := url.Parse(base)
	if perr != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "", "", errors.New("--url must be a URL such as https://HOST (the stack's FunctionURL output, or where serve is reached)")
	}
	switch {
	case !strings.EqualFold(u.Scheme, "https"):
		return "", "", fmt.Errorf("--url %s: Slack calls only https:// Request URLs", u.Redacted())
	case u.User != nil:
		return "", "", fmt.Errorf("--url %s: no user or password in a Request URL (Slack signs its requests instead)", u.Redacted())
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", "", fmt.Errorf("--url %s: give the base URL, with no query or fragment", u.Redacted())
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	if strings.HasSuffix(path, commandsPath) || strings.HasSuffix(path, interactionsPath) {
		return "", "", fmt.Errorf("--url %s: give the base URL (https://HOST), not a Request URL: %s and %s are added to it", u.Redacted(), commandsPath, interactionsPath)
	}
	root := "https://" + u.Host + path
	return root + commandsPath, root + interactionsPath, nil
}

// checkCommandName applies Slack's rules for a slash command's name: a
// "/", then lowercase letters, digits, "-" or "_" (no spaces, no capitals),
// at most maxCommandLength characters in all. Slack's own check is looser
// about letters outside ASCII; this one keeps to what is sure to pass.
func checkCommandName(c string) error {
	if !strings.HasPrefix(c, "/") {
		return fmt.Errorf("--command %q: a slash command starts with /", c)
	}
	if len(c) < 2 || len(c) > maxCommandLength {
		return fmt.Errorf("--command %q: a slash command has 1 to %d characters after its /", c, maxCommandLength-1)
	}
	for _, r := range c[1:] {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("--command %q: a slash command has only lowercase letters, digits, - and _ after its /", c)
		}
	}
	return nil
}

// marshalManifest writes m as YAML, indented by two as Slack's own
// manifests are.
func marshalManifest(m *slackapi.Manifest) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return b.Bytes(), nil
}
