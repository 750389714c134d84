package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// The distributions and tenant of the targets below.
const (
	ownDist     = "EOWNEXAMPLE01"
	partnerDist = "EPARTNEREXAMPL"
	shopTenant  = "dt_shopexample"
	partnerRole = "arn:aws:iam::210987654321:role/cdnpurge-partner"
)

// targetsYAML is a targets file as an operator writes it: the service's own
// distribution, one in a partner's account reached through a role, and a
// tenant of a multi-tenant distribution.
const targetsYAML = `default: www
targets:
  - name: www
    distribution: ` + ownDist + `
    channels: [deploys]
  - name: partner
    distribution: ` + partnerDist + `
    channels: [deploys]
    role_arn: ` + partnerRole + `
  - name: shop
    tenant: ` + shopTenant + `
    domains: [shop.example.net]
    channels: [deploys]
`

// postForm sends a slash command form to the server, signed as Slack signs
// it, and returns the status and the raw reply.
func postForm(t *testing.T, baseURL string, form url.Values) (int, []byte) {
	t.Helper()
	body := form.Encode()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, _ := http.NewRequest(http.MethodPost, baseURL+"/slack/commands", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", slack.Signature(lambdaSecret, ts, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// postCommand sends a signed slash command to the server and returns the
// invalidation its reply names.
func postCommand(t *testing.T, a *app, text, trigger string) string {
	t.Helper()
	status, raw := postForm(t, a.URL(), commandForm(text, "deploys", trigger))
	var m slackapi.WebhookMessage
	if err := json.Unmarshal(raw, &m); err != nil || status != 200 {
		t.Fatalf("%q: %d %v", text, status, err)
	}
	id := invalidationID(&m)
	if id == "" {
		t.Fatalf("%q started nothing: %s", text, blocksOf(&m))
	}
	return id
}

// TestTargetRoleAssumedThroughSTS runs `serve` with a target in another
// account: its purges must be signed with the credentials STS hands out for
// its role (moto_server stands in for STS, through the SDK's own
// AWS_ENDPOINT_URL_STS), those credentials must be reused, not fetched per
// purge, and the other targets keep the service's own credentials.
func TestTargetRoleAssumedThroughSTS(t *testing.T) {
	moto := testutil.MustStartMoto(t)
	t.Setenv("AWS_ENDPOINT_URL_STS", moto)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	emu := emulator.New(emulator.Options{Distributions: []string{ownDist, partnerDist}, Tenants: []string{shopTenant}, CompleteAfter: time.Hour})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	vars := map[string]string{
		config.EnvConfigYAML:         targetsYAML,
		config.EnvSigningSecret:      lambdaSecret,
		config.EnvCloudFrontEndpoint: srv.URL,
	}
	getenv := func(k string) string { return vars[k] }
	cfg := config.FromEnv(getenv)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var logs testutil.LockedBuffer
	a := mustStartAppIn(t, cfg, &logs, modeServe, getenv)

	own := postCommand(t, a, "/own", "sts.1")
	partner := postCommand(t, a, "partner /theirs", "sts.2")
	again := postCommand(t, a, "partner /again", "sts.3")
	tenant := postCommand(t, a, "https://shop.example.net/cart", "sts.4")

	ownKey, partnerKey := emu.AccessKeyOf(own), emu.AccessKeyOf(partner)
	if ownKey != localAccessKeyID || emu.AccessKeyOf(tenant) != ownKey {
		t.Errorf("own targets signed with %q and %q, want the service's own %s", ownKey, emu.AccessKeyOf(tenant), localAccessKeyID)
	}
	if partnerKey == "" || partnerKey == ownKey || !strings.HasPrefix(partnerKey, "ASIA") {
		t.Errorf("the partner target signed with %q, want temporary credentials from STS (ASIA…)", partnerKey)
	}
	if k := emu.AccessKeyOf(again); k != partnerKey {
		t.Errorf("second partner purge signed with %q, want the cached %q", k, partnerKey)
	}
	for _, c := range []struct{ dist, id string }{{ownDist, own}, {partnerDist, partner}, {partnerDist, again}, {shopTenant, tenant}} {
		if got := string(awsCLI(t, srv.URL, cliGetArgs(c.dist, c.id)...)); !strings.Contains(got, c.id) {
			t.Errorf("%s is not on %s: %s", c.id, c.dist, got)
		}
	}
	if strings.Contains(logs.String(), partnerKey) {
		t.Error("the assumed role's access key is in the log")
	}
}

// cliGetArgs are the AWS CLI's arguments to read an invalidation of a
// distribution or a tenant.
func cliGetArgs(dist, id string) []string {
	if strings.HasPrefix(dist, "dt_") {
		return []string{"get-invalidation-for-distribution-tenant", "--distribution-tenant-id", dist, "--id", id}
	}
	return []string{"get-invalidation", "--distribution-id", dist, "--id", id}
}

// TestLambdaTargetsUnderRIE runs the real bootstrap under aws-lambda-rie
// with the targets file inline in its environment, as the stack's
// TargetsConfig parameter sets it, and purges a named target and a tenant
// picked by a pasted URL.
func TestLambdaTargetsUnderRIE(t *testing.T) {
	rie := findRIE(t)
	bootstrap := buildBootstrap(t)
	emu := emulator.New(emulator.Options{Distributions: []string{ownDist, partnerDist}, Tenants: []string{shopTenant}, CompleteAfter: time.Hour})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	invoke, _ := startRIE(t, rie, bootstrap, []string{
		config.EnvCloudFrontEndpoint + "=" + srv.URL,
		config.EnvConfigYAML + "=" + strings.ReplaceAll(targetsYAML, "    role_arn: "+partnerRole+"\n", ""),
	})
	tests := []struct {
		text, wantOn, wantText string
	}{
		{"partner /theirs", partnerDist, "on `partner`"},
		{"https://shop.example.net/cart #sale", shopTenant, "Purging 2 paths on `shop`"},
		{"/own", ownDist, "on `www`"},
	}
	for i, tt := range tests {
		c := lambdaCase{path: "/", form: commandForm(tt.text, "deploys", "rie.targets."+strconv.Itoa(i)), base64: true}
		payload, _ := json.Marshal(c.event(t))
		resp, err := http.Post(invoke, "application/json", bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var out events.LambdaFunctionURLResponse
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("invoke: %q: %v", raw, err)
		}
		body := out.Body
		if out.IsBase64Encoded {
			b, _ := base64.StdEncoding.DecodeString(out.Body)
			body = string(b)
		}
		var m slackapi.WebhookMessage
		json.Unmarshal([]byte(body), &m)
		id := invalidationID(&m)
		if out.StatusCode != 200 || id == "" || !strings.Contains(body, tt.wantText) {
			t.Fatalf("%q: %d %s", tt.text, out.StatusCode, body)
		}
		if got := string(awsCLI(t, srv.URL, cliGetArgs(tt.wantOn, id)...)); !strings.Contains(got, id) {
			t.Errorf("%s is not on %s: %s", id, tt.wantOn, got)
		}
	}
}

// TestCLITarget checks `--target` on the command line: a pipeline purges a
// target of the targets file (here a tenant and a distribution) by name, and
// mistakes are usage errors or configuration errors with the reason.
func TestCLITarget(t *testing.T) {
	emu := emulator.New(emulator.Options{Distributions: []string{ownDist, partnerDist}, Tenants: []string{shopTenant}, CompleteAfter: time.Hour})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	vars := map[string]string{
		config.EnvCloudFrontEndpoint: srv.URL,
		config.EnvConfigYAML:         strings.ReplaceAll(targetsYAML, "    role_arn: "+partnerRole+"\n", ""),
	}
	getenv := func(k string) string { return vars[k] }

	if code, out, errOut := runCmd(t, getenv, "status", "--target", "shop"); code != 0 || out != "Distribution tenant "+shopTenant+" has no invalidations.\n" {
		t.Errorf("status --target shop, before any: %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := runCmd(t, getenv, "invalidate", "--target", "shop", "/cart", "#sale")
	id := fieldValue(out, "invalidation")
	// A tenant is a tenant, never a "distribution".
	if code != 0 || id == "" || fieldValue(out, "tenant") != shopTenant || strings.Contains(out, "distribution") {
		t.Fatalf("invalidate --target shop: %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runCmd(t, getenv, "list", "--target", "shop", "--json"); code != 0 || !strings.Contains(out, `"tenant": "`+shopTenant+`"`) || strings.Contains(out, "distribution") {
		t.Errorf("list --target shop --json: %d\n%s", code, out)
	}
	if code, out, _ := runCmd(t, getenv, "status", "--target", "shop", "--json", id); code != 0 || !strings.Contains(out, `"tenant": "`+shopTenant+`"`) || strings.Contains(out, "distribution") {
		t.Errorf("status --target shop --json: %d\n%s", code, out)
	}
	// The command to check on it later names the same target.
	if code, _, errOut := runCmd(t, getenv, "invalidate", "--target", "shop", "--wait", "--timeout", "200ms", "/later"); code != exitTimeout || !strings.Contains(errOut, "`cdnpurge status --target shop I") {
		t.Errorf("invalidate --target shop --wait timing out: %d\n%s", code, errOut)
	}
	if got := string(awsCLI(t, srv.URL, cliGetArgs(shopTenant, id)...)); !strings.Contains(got, "#sale") {
		t.Fatalf("the tenant's invalidation: %s", got)
	}
	if ids := listIDs(t, getenv, "--target", "shop"); len(ids) != 2 || ids[1] != id {
		t.Errorf("list --target shop = %v, want [… %s]", ids, id)
	}
	if code, out, _ := runCmd(t, getenv, "status", "--target", "shop", id); code != 0 || !strings.Contains(out, "/cart") || fieldValue(out, "tenant") != shopTenant || strings.Contains(out, "distribution") {
		t.Errorf("status --target shop: %d %s", code, out)
	}
	if code, _, _ := runCmd(t, getenv, "invalidate", "--target", "partner", "/p"); code != 0 {
		t.Errorf("invalidate --target partner: %d", code)
	}

	tests := []struct {
		name     string
		env      func(string) string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"unknown target", getenv, []string{"invalidate", "--target", "blog", "/x"}, 2, `--target "blog" is not in the targets file (www, partner, shop)`},
		{"both flags", getenv, []string{"list", "--target", "shop", "--distribution", ownDist}, 2, "not both"},
		{"no targets file", func(k string) string { return map[string]string{config.EnvCloudFrontEndpoint: srv.URL}[k] }, []string{"invalidate", "--target", "shop", "/x"}, exitFailure, "no targets file: set CDNPURGE_CONFIG"},
		{"bad targets file", func(k string) string {
			return map[string]string{config.EnvCloudFrontEndpoint: srv.URL, config.EnvConfigYAML: "targets:\n  - name: shop\n    tenant: nope\n    channels: [x]\n"}[k]
		}, []string{"invalidate", "--target", "shop", "/x"}, exitFailure, "targets.0.tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, tt.env, tt.args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d, want %d; stderr %q lacks %q", code, tt.wantCode, errOut, tt.wantErr)
			}
		})
	}
}

// TestBotTokenStaysSecret runs `serve` with a target limited to a Slack
// user group, the bot token in the environment and a stand-in for Slack's
// Web API, through members and non-members, a token Slack stops accepting,
// targets, usage and help, and then scans every log line and reply for the
// token.
func TestBotTokenStaysSecret(t *testing.T) {
	const token = "xoxb-1111-2222-BOTTOKENSECRET7e3f"
	api := testutil.NewSlackAPI(t, token)
	api.SetMembers("S0SHOPTEAM", "U1")
	emu := emulator.New(emulator.Options{Distributions: []string{ownDist, partnerDist}, Tenants: []string{shopTenant}, CompleteAfter: time.Hour})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	vars := map[string]string{
		// www, and the tenant limited to a user group.
		config.EnvConfigYAML: targetsYAML[:strings.Index(targetsYAML, "  - name: partner")] +
			"  - name: shop\n    tenant: " + shopTenant + "\n    domains: [shop.example.net]\n    channels: [deploys]\n    usergroups: [S0SHOPTEAM]\n" +
			"  - name: ops\n    distribution: " + partnerDist + "\n    channels: [deploys]\n    usergroups: [S0OPSTEAM1]\n",
		config.EnvSigningSecret:      lambdaSecret,
		config.EnvCloudFrontEndpoint: srv.URL,
		config.EnvBotToken:           token,
		config.EnvSlackAPIURL:        api.URL,
		config.EnvDevAllowLoopback:   "1",
	}
	var logs testutil.LockedBuffer
	_, a, err := appFromEnv(t.Context(), env{getenv: func(k string) string { return vars[k] }, stdout: &logs}, modeServe) // serve logs to stdout
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	go a.Serve()
	closeApp := func() {
		// Follow-ups get a moment, then hand their messages back.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		a.Close(ctx)
	}

	var replies []string
	send := func(text, user, trigger string) string {
		v := commandForm(text, "deploys", trigger)
		v.Set("user_id", user)
		_, raw := postForm(t, a.URL(), v)
		replies = append(replies, string(raw))
		return string(raw)
	}
	if r := send("shop /cart", "U1", "tok.1"); !strings.Contains(r, "Purging 1 path on `shop`") {
		t.Fatalf("member: %s", r)
	}
	if r := send("shop /cart", "U2", "tok.2"); !strings.Contains(r, "rule: users/usergroups") {
		t.Fatalf("non-member: %s", r)
	}
	send("targets", "U1", "tok.3")
	send("usage", "U1", "tok.4")
	send("help", "U2", "tok.5")
	api.Reply(200, nil, []byte(`{"ok":false,"error":"invalid_auth"}`))
	if r := send("ops /x", "U1", "tok.6"); strings.Contains(r, "Purging") || !strings.Contains(r, "token") {
		t.Fatalf("Slack refused the token, and the reply says: %s", r)
	}
	closeApp()
	for _, s := range append(replies, logs.String()) {
		if strings.Contains(s, token) || strings.Contains(s, "BOTTOKENSECRET") {
			t.Fatalf("the bot token leaked: %s", s)
		}
	}
	if !strings.Contains(logs.String(), "invalid_auth") {
		t.Errorf("the refused token left no trace in the log:\n%s", logs.String())
	}
}
