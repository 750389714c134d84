// Package config holds cdnpurge's settings: what they are, their defaults,
// how they are read from the environment, and how they are checked before
// anything starts.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cdnpurge/cdnpurge/internal/access"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/secretarn"
	"github.com/cdnpurge/cdnpurge/internal/slack"
)

// The environment variables cdnpurge reads. The first four are the
// tutorial's four CloudFormation parameters.
const (
	EnvDistributionID     = "CDNPURGE_DISTRIBUTION_ID"      // DistributionId
	EnvSigningSecret      = "CDNPURGE_SLACK_SIGNING_SECRET" // SigningKey
	EnvChannels           = "CDNPURGE_SLACK_CHANNEL"        // SlackChannel
	EnvWebhookURL         = "CDNPURGE_SLACK_WEBHOOK_URL"    // SlackUrl
	EnvCloudFrontEndpoint = "CDNPURGE_CLOUDFRONT_ENDPOINT"
	EnvDevAllowLoopback   = "CDNPURGE_DEV_ALLOW_LOOPBACK"
	EnvConfirm            = "CDNPURGE_CONFIRM"              // never | full-purge | always
	EnvConfirmOver        = "CDNPURGE_CONFIRM_OVER"         // confirm purges of more than N paths
	EnvApproverMustDiffer = "CDNPURGE_APPROVER_MUST_DIFFER" // 1: the requester may not approve
	// EnvConfigYAML holds the targets file's YAML itself, for a Lambda whose
	// configuration arrives in its environment (see EnvConfigFile).
	EnvConfigYAML = "CDNPURGE_CONFIG_YAML"
	// EnvBotToken is a Slack bot token (xoxb-…, scope usergroups:read),
	// needed only by targets limited to Slack user groups.
	EnvBotToken = "CDNPURGE_SLACK_BOT_TOKEN"
	// EnvSlackAPIURL replaces Slack's Web API (https://slack.com/api/) with a
	// stand-in, for local runs and tests; like the other Slack URLs it must
	// be https on slack.com unless CDNPURGE_DEV_ALLOW_LOOPBACK allows
	// loopback.
	EnvSlackAPIURL = "CDNPURGE_SLACK_API_URL"
	// EnvCloudflareEndpoint replaces Cloudflare's API
	// (https://api.cloudflare.com/client/v4), EnvFastlyEndpoint Fastly's
	// (https://api.fastly.com): the emulator, a test stand-in. Loopback
	// only with CDNPURGE_DEV_ALLOW_LOOPBACK.
	EnvCloudflareEndpoint = "CDNPURGE_CLOUDFLARE_ENDPOINT"
	EnvFastlyEndpoint     = "CDNPURGE_FASTLY_ENDPOINT"
	// EnvSlackAppToken is a Slack app-level token (xapp-…, scope
	// connections:write): with it, `serve` takes Slack's commands and
	// clicks over Socket Mode instead of public Request URLs.
	EnvSlackAppToken = "CDNPURGE_SLACK_APP_TOKEN"
	// EnvSealSecret keys the approval requests sealed into buttons when
	// there is no signing secret (Socket Mode): any long random string, the
	// same on every replica. Without it the signing secret keys them.
	EnvSealSecret = "CDNPURGE_SEAL_SECRET"
)

// ARNSuffix makes, from a secret setting's variable, the variable that
// names where the secret lives instead: a Secrets Manager secret ARN or an
// SSM SecureString parameter ARN, read once at start.
const ARNSuffix = "_ARN"

// The variables that name, by ARN, where a secret setting lives. A
// variable that a target's token_env names may hold such an ARN itself.
const (
	EnvSigningSecretARN = EnvSigningSecret + ARNSuffix
	EnvWebhookURLARN    = EnvWebhookURL + ARNSuffix
	EnvBotTokenARN      = EnvBotToken + ARNSuffix
	EnvSlackAppTokenARN = EnvSlackAppToken + ARNSuffix
	EnvSealSecretARN    = EnvSealSecret + ARNSuffix
)

// SecretARN is a secret setting whose value lives in AWS: Variable is the
// setting (CDNPURGE_SLACK_SIGNING_SECRET, or a token_env variable), From
// the variable the ARN came from, ARN where the value lives.
type SecretARN struct {
	Variable, From string
	ARN            secretarn.ARN
}

// SlackSigningSecretLen is the length of the signing secrets Slack issues.
// A shorter one is refused at start, unless CDNPURGE_DEV_ALLOW_LOOPBACK is
// set (tests and local runs), since it is a truncated copy or a stand-in
// that is easy to guess.
const SlackSigningSecretLen = 32

// Secret is a string that never prints: fmt, %v, %+v, %#v, encoding/json and
// slog all show "[redacted]". Use Value to read it.
type Secret string

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

// String hides the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString hides the secret from %#v.
func (s Secret) GoString() string { return s.String() }

// MarshalText hides the secret from encoding/json and friends, which slog's
// JSON handler uses for a struct that holds a Secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue hides the secret from log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Config is everything cdnpurge needs to serve slash commands.
type Config struct {
	// DistributionID is the CloudFront distribution to purge.
	DistributionID string
	// SigningSecret is the Slack app's signing secret.
	SigningSecret Secret
	// Channels may run the command, by ID or name.
	Channels slack.Channels
	// WebhookURL receives the audit message; empty for none.
	WebhookURL Secret
	// CloudFrontEndpoint replaces AWS's CloudFront endpoint (the emulator,
	// moto_server); empty for AWS.
	CloudFrontEndpoint string
	// DevAllowLoopback lets Slack URLs be http(s) on loopback.
	DevAllowLoopback bool
	// Confirm says which purges wait for an approval click.
	Confirm purge.ConfirmPolicy
	// File is the targets file (CDNPURGE_CONFIG or CDNPURGE_CONFIG_YAML);
	// nil when the environment's single target is the only one.
	File *File
	// BotToken lets cdnpurge read Slack user groups; empty for none.
	BotToken Secret
	// SlackAPIURL replaces Slack's Web API; empty for Slack's.
	SlackAPIURL string
	// CloudflareEndpoint and FastlyEndpoint replace the providers' APIs;
	// empty for the real ones.
	CloudflareEndpoint, FastlyEndpoint string
	// AppToken is the Slack app-level token for Socket Mode; empty for
	// none (Slack calls the Request URLs).
	AppToken Secret
	// SealSecret keys the approval buttons' sealed requests; empty means
	// the signing secret does (see SealKey).
	SealSecret Secret

	// tokens are the values of the variables the file's token_env fields
	// name, by variable name; a variable that is not set is absent.
	tokens map[string]Secret
	// tokenErrs are why the variables a token_env names could not be
	// read, by variable name: an ARN that does not parse.
	tokenErrs map[string]error
	// arns are the secret settings given by ARN, by setting, until
	// SetSecret fills them in; read says which were.
	arns map[string]SecretARN
	read map[string]SecretARN

	// errs are what FromEnv could not read; Validate reports them.
	errs []error
	// fileErr is why the targets file could not be read or checked.
	fileErr error
}

// FromEnv reads the configuration from environment variables through
// getenv (os.Getenv in production, a map in tests). It only reads; call
// Validate before serving.
func FromEnv(getenv func(string) string) Config {
	c := Config{
		DistributionID:     strings.TrimSpace(getenv(EnvDistributionID)),
		Channels:           slack.ParseChannels(getenv(EnvChannels)),
		CloudFrontEndpoint: strings.TrimSpace(getenv(EnvCloudFrontEndpoint)),
		DevAllowLoopback:   getenv(EnvDevAllowLoopback) == "1",
		SlackAPIURL:        strings.TrimSpace(getenv(EnvSlackAPIURL)),
		CloudflareEndpoint: strings.TrimSpace(getenv(EnvCloudflareEndpoint)),
		FastlyEndpoint:     strings.TrimSpace(getenv(EnvFastlyEndpoint)),
	}
	c.SigningSecret = c.secretFromEnv(getenv, EnvSigningSecret)
	c.WebhookURL = c.secretFromEnv(getenv, EnvWebhookURL)
	c.BotToken = c.secretFromEnv(getenv, EnvBotToken)
	c.AppToken = c.secretFromEnv(getenv, EnvSlackAppToken)
	c.SealSecret = c.secretFromEnv(getenv, EnvSealSecret)
	var err error
	switch path, inline := strings.TrimSpace(getenv(EnvConfigFile)), getenv(EnvConfigYAML); {
	case path != "" && strings.TrimSpace(inline) != "":
		err = fmt.Errorf("%s and %s are both set: give the targets one way", EnvConfigFile, EnvConfigYAML)
	case path != "":
		c.File, err = LoadFile(path)
	case strings.TrimSpace(inline) != "":
		c.File, err = ParseFile(EnvConfigYAML, []byte(inline))
	}
	if err != nil {
		c.errs, c.fileErr = append(c.errs, err), err
	}
	if c.File != nil {
		for _, t := range c.File.Targets {
			if t.TokenEnv == "" {
				continue
			}
			v := strings.TrimSpace(getenv(t.TokenEnv))
			if secretarn.LooksLikeARN(v) {
				// An ARN is not secret: it may be quoted.
				if a, err := secretarn.Parse(v); err != nil {
					err = fmt.Errorf("%s (token_env of target %q) holds an ARN that does not parse: %w", t.TokenEnv, t.Name, err)
					c.errs = append(c.errs, err)
					if c.tokenErrs == nil {
						c.tokenErrs = map[string]error{}
					}
					c.tokenErrs[t.TokenEnv] = err
				} else {
					c.addARN(SecretARN{Variable: t.TokenEnv, From: t.TokenEnv, ARN: a})
				}
				continue
			}
			if v != "" {
				if c.tokens == nil {
					c.tokens = map[string]Secret{}
				}
				c.tokens[t.TokenEnv] = Secret(v)
			}
		}
	}
	mode, err := purge.ParseConfirmMode(getenv(EnvConfirm))
	if err != nil {
		c.errs = append(c.errs, fmt.Errorf("%s: %w", EnvConfirm, err))
	}
	c.Confirm.Mode = mode
	if v := strings.TrimSpace(getenv(EnvConfirmOver)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			c.errs = append(c.errs, fmt.Errorf("%s=%q is not a number of paths (0 or more)", EnvConfirmOver, v))
		}
		c.Confirm.Over = n
	}
	switch v := strings.TrimSpace(getenv(EnvApproverMustDiffer)); v {
	case "", "0":
	case "1":
		c.Confirm.ApproverMustDiffer = true
	default:
		c.errs = append(c.errs, fmt.Errorf("%s=%q: use 1 or 0", EnvApproverMustDiffer, v))
	}
	return c
}

// secretFromEnv reads the secret setting name, or records the ARN that
// name_ARN gives instead; both set, or an ARN that does not parse, is an
// error for Validate. The value is never quoted; the ARN may be.
func (c *Config) secretFromEnv(getenv func(string) string, name string) Secret {
	plain := strings.TrimSpace(getenv(name))
	ref := strings.TrimSpace(getenv(name + ARNSuffix))
	switch {
	case ref == "":
		return Secret(plain)
	case plain != "":
		c.errs = append(c.errs, fmt.Errorf("%s and %s are both set: give the secret one way (the value, or the ARN of where it lives)", name, name+ARNSuffix))
		return ""
	}
	a, err := secretarn.Parse(ref)
	if err != nil {
		c.errs = append(c.errs, fmt.Errorf("%s: %w", name+ARNSuffix, err))
		return ""
	}
	c.addARN(SecretARN{Variable: name, From: name + ARNSuffix, ARN: a})
	return ""
}

func (c *Config) addARN(s SecretARN) {
	if c.arns == nil {
		c.arns = map[string]SecretARN{}
	}
	c.arns[s.Variable] = s
}

// SecretARNs returns the secret settings whose values live in AWS and are
// still to be read, by setting name; none when every secret came as a
// value, so that nothing calls AWS.
func (c Config) SecretARNs() []SecretARN {
	out := make([]SecretARN, 0, len(c.arns))
	for _, s := range c.arns {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b SecretARN) int { return strings.Compare(a.Variable, b.Variable) })
	return out
}

// SetSecret sets the secret setting variable (one of SecretARNs'
// Variable) to v, read from where its ARN says. Validate then checks it as
// it checks a value from the environment, its errors naming the _ARN
// variable it came from.
func (c *Config) SetSecret(variable string, v Secret) {
	v = Secret(strings.TrimSpace(v.Value()))
	switch variable {
	case EnvSigningSecret:
		c.SigningSecret = v
	case EnvWebhookURL:
		c.WebhookURL = v
	case EnvBotToken:
		c.BotToken = v
	case EnvSlackAppToken:
		c.AppToken = v
	case EnvSealSecret:
		c.SealSecret = v
	default:
		// Copied: a Config is a value, and its copies must not see this.
		c.tokens = maps.Clone(c.tokens)
		if c.tokens == nil {
			c.tokens = map[string]Secret{}
		}
		c.tokens[variable] = v
	}
	if s, ok := c.arns[variable]; ok {
		c.arns, c.read = maps.Clone(c.arns), maps.Clone(c.read)
		delete(c.arns, variable)
		if c.read == nil {
			c.read = map[string]SecretARN{}
		}
		c.read[variable] = s
	}
}

// label names the setting variable in an error: with the _ARN variable it
// was read from, if it was.
func (c Config) label(variable string) string {
	if s, ok := c.read[variable]; ok {
		return fmt.Sprintf("%s (read from %s, %s)", variable, s.From, s.ARN)
	}
	return variable
}

// ValidateTarget checks what any purge needs: a distribution and, if set, a
// usable CloudFront endpoint.
func (c Config) ValidateTarget() error {
	var errs []error
	if c.DistributionID == "" {
		errs = append(errs, fmt.Errorf("%s is not set: the CloudFront distribution ID to purge (e.g. E2QWRUHEXAMPLE)", EnvDistributionID))
	} else if !IsDistributionID(c.DistributionID) {
		errs = append(errs, fmt.Errorf("%s=%q does not look like a CloudFront distribution ID (upper-case letters and digits, e.g. E2QWRUHEXAMPLE)", EnvDistributionID, c.DistributionID))
	}
	if err := c.validateEndpoint(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Validate checks everything serving slash commands needs. The error lists
// every problem, each naming its variable (or, for the targets file, its
// file, line and field); secret values are never quoted. With a targets
// file, even one with mistakes, the environment's single target
// (distribution, channels, confirmation) is not needed, and not used.
func (c Config) Validate() error {
	errs := append([]error(nil), c.errs...)
	// A targets file that does not read replaces the environment's target
	// all the same: only its own problems are reported.
	if c.File == nil && c.fileErr == nil {
		errs = append(errs, c.ValidateTarget())
		if len(c.Channels) == 0 {
			errs = append(errs, fmt.Errorf("%s is not set: the channel(s) allowed to purge, by ID or name, comma-separated", EnvChannels))
		}
	} else if err := c.validateEndpoint(); err != nil {
		errs = append(errs, err)
	}
	switch {
	case c.SigningSecret == "" && c.AppToken == "":
		errs = append(errs, fmt.Errorf("%s is not set: the Slack app's signing secret (Basic Information → App Credentials); or, for Socket Mode, set %s", EnvSigningSecret, EnvSlackAppToken))
	case c.SigningSecret == "":
		// Socket Mode: Slack signs nothing over the socket, but the
		// approval buttons are sealed with a secret every replica has.
		if c.SealSecret == "" {
			errs = append(errs, fmt.Errorf("%s is not set: in Socket Mode (%s) the approval buttons are sealed with it (any random string of %d characters or more, the same on every replica), or with %s if you set that instead",
				EnvSealSecret, EnvSlackAppToken, SlackSigningSecretLen, EnvSigningSecret))
		}
	case len(c.SigningSecret) < SlackSigningSecretLen && !c.DevAllowLoopback:
		// The value is never shown, nor its length: only what to do.
		errs = append(errs, fmt.Errorf("%s is shorter than a Slack signing secret (%d characters): copy the whole Signing Secret from Basic Information → App Credentials (a shorter one is accepted only for local runs, with %s=1)",
			c.label(EnvSigningSecret), SlackSigningSecretLen, EnvDevAllowLoopback))
	}
	if c.SealSecret != "" && len(c.SealSecret) < SlackSigningSecretLen && !c.DevAllowLoopback {
		errs = append(errs, fmt.Errorf("%s is too short: use a random string of %d characters or more (e.g. openssl rand -hex 32)", c.label(EnvSealSecret), SlackSigningSecretLen))
	}
	if c.AppToken != "" && !strings.HasPrefix(c.AppToken.Value(), "xapp-") {
		errs = append(errs, fmt.Errorf("%s is not a Slack app-level token: it must start with xapp- (Basic Information → App-Level Tokens, scope connections:write)", c.label(EnvSlackAppToken)))
	}
	if c.WebhookURL != "" {
		if err := slack.CheckURL(c.WebhookURL.Value(), c.DevAllowLoopback); err != nil {
			errs = append(errs, fmt.Errorf("%s is not usable: %w", c.label(EnvWebhookURL), err))
		}
	}
	if c.File != nil && c.File.usesUserGroups() && c.BotToken == "" {
		errs = append(errs, fmt.Errorf("%s is not set: targets with usergroups need a Slack bot token (xoxb-…) with the usergroups:read scope", EnvBotToken))
	}
	if c.BotToken != "" && !strings.HasPrefix(c.BotToken.Value(), "xoxb-") {
		errs = append(errs, fmt.Errorf("%s is not a Slack bot token: a bot token must start with xoxb-", c.label(EnvBotToken)))
	}
	if c.SlackAPIURL != "" {
		if err := slack.CheckAPIURL(c.SlackAPIURL, c.DevAllowLoopback); err != nil {
			errs = append(errs, fmt.Errorf("%s is not usable: %w", EnvSlackAPIURL, err))
		}
	}
	errs = append(errs, c.validateTokens())
	return errors.Join(errs...)
}

// validateTokens checks that every variable a token_env names is set, at
// the file's line of token_env. The value is never shown.
func (c Config) validateTokens() error {
	if c.File == nil {
		return nil
	}
	var errs []error
	for i, t := range c.File.Targets {
		if t.TokenEnv == "" || c.tokens[t.TokenEnv] != "" || c.tokenErrs[t.TokenEnv] != nil {
			continue // set, or already reported as an ARN that does not parse
		}
		if s, ok := c.arns[t.TokenEnv]; ok {
			errs = append(errs, fmt.Errorf("%s:%d: targets.%d.token_env: %s names %s, which was not read from AWS", c.File.name, t.tokenEnvLine, i, t.TokenEnv, s.ARN))
			continue
		}
		errs = append(errs, fmt.Errorf("%s:%d: targets.%d.token_env: %s is not set in the environment: it must hold the %s API token of target %q",
			c.File.name, t.tokenEnvLine, i, t.TokenEnv, providerTitle(t.ProviderName()), t.Name))
	}
	return errors.Join(errs...)
}

// SocketMode reports whether Slack's commands come over Socket Mode (an
// app token is set) rather than to Request URLs.
func (c Config) SocketMode() bool { return c.AppToken != "" }

// SealKey is the secret the approval buttons are sealed with:
// CDNPURGE_SEAL_SECRET, or else the signing secret.
func (c Config) SealKey() Secret {
	if c.SealSecret != "" {
		return c.SealSecret
	}
	return c.SigningSecret
}

// Token returns the API token of a target of the file: the value of the
// variable its token_env names; empty when it names none.
func (c Config) Token(t Target) Secret { return c.tokens[t.TokenEnv] }

// TokenError is why t's token could not be read from the variable its
// token_env names (an ARN that does not parse), or nil.
func (c Config) TokenError(t Target) error { return c.tokenErrs[t.TokenEnv] }

// ValidateFile checks what purging a named target from the command line
// needs: a targets file that reads and checks, and a usable CloudFront
// endpoint. Unlike Validate it needs no Slack settings.
func (c Config) ValidateFile() error {
	if c.File == nil && c.fileErr == nil {
		return fmt.Errorf("no targets file: set %s (a path) or %s (the YAML itself)", EnvConfigFile, EnvConfigYAML)
	}
	return errors.Join(c.fileErr, c.validateEndpoint())
}

// Ignored names the environment settings a targets file overrides, for a
// warning at start: with a file they are not used.
func (c Config) Ignored() []string {
	if c.File == nil {
		return nil
	}
	var out []string
	if c.DistributionID != "" {
		out = append(out, EnvDistributionID)
	}
	if len(c.Channels) > 0 {
		out = append(out, EnvChannels)
	}
	if c.Confirm.Mode != purge.ConfirmNever {
		out = append(out, EnvConfirm)
	}
	if c.Confirm.Over != 0 {
		out = append(out, EnvConfirmOver)
	}
	if c.Confirm.ApproverMustDiffer {
		out = append(out, EnvApproverMustDiffer)
	}
	return out
}

// Targets returns the targets to serve: the file's, or the environment's
// single unnamed target. c must be valid.
func (c Config) Targets() (*access.Targets, error) {
	if c.File == nil {
		return access.Single(c.DistributionID, c.Channels, c.Confirm), nil
	}
	ts := make([]access.Target, len(c.File.Targets))
	for i, t := range c.File.Targets {
		id := t.Distribution
		if t.Tenant != "" {
			id = t.Tenant
		}
		domains := make([]string, len(t.Domains))
		for j, d := range t.Domains {
			domains[j] = strings.ToLower(d)
		}
		mode, _ := purge.ParseConfirmMode(string(t.Confirm))
		ts[i] = access.Target{
			Name: t.Name, DistributionID: id, Domains: domains, Channels: slack.Channels(t.Channels),
			Users: t.Users, UserGroups: t.UserGroups, Paths: t.Paths, RoleARN: t.RoleARN,
			Confirm: purge.ConfirmPolicy{Mode: mode, Over: t.ConfirmOver, ApproverMustDiffer: t.ApproverMustDiffer},
		}
	}
	return access.NewTargets(ts, c.File.Default)
}

func (c Config) validateEndpoint() error {
	var errs []error
	if c.CloudFrontEndpoint != "" {
		u, err := url.Parse(c.CloudFrontEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s=%q is not an http(s) URL", EnvCloudFrontEndpoint, c.CloudFrontEndpoint))
		}
	}
	for _, e := range []struct{ name, value string }{{EnvCloudflareEndpoint, c.CloudflareEndpoint}, {EnvFastlyEndpoint, c.FastlyEndpoint}} {
		if e.value != "" {
			if err := checkProviderEndpoint(e.value, c.DevAllowLoopback); err != nil {
				errs = append(errs, fmt.Errorf("%s is not usable: %w", e.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// checkProviderEndpoint allows a provider's API to be replaced only by a
// stand-in on loopback, and only when allowLoopback says this is a local
// run: a token sent anywhere else would leave the machine.
func checkProviderEndpoint(raw string, allowLoopback bool) error {
	// The value is never shown: a URL may carry a password.
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("it is not an http(s) URL")
	}
	if u.User != nil {
		return errors.New("it has a user or password in it: a provider's API takes its token from token_env")
	}
	if !allowLoopback {
		return fmt.Errorf("it may point only at a local stand-in, with %s=1", EnvDevAllowLoopback)
	}
	if !slack.IsLoopback(u.Hostname()) {
		return fmt.Errorf("host %q is not on loopback (127.0.0.1, ::1 or localhost)", u.Hostname())
	}
	return nil
}

// IsDistributionID reports whether s has the shape of a CloudFront
// distribution ID: upper-case letters and digits, 1 to 32 of them.
func IsDistributionID(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
