package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/config"
)

// goodSecret is shaped like a Slack signing secret: 32 characters.
const goodSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// TestBrokenTargetsFileAtStart checks what `serve` and the Lambda print at
// start for a targets file with a mistake: the file's problems, each as
// file:line: field: problem, and nothing about the settings the file
// replaces (CDNPURGE_DISTRIBUTION_ID, CDNPURGE_SLACK_CHANNEL) nor any Go
// type.
func TestBrokenTargetsFileAtStart(t *testing.T) {
	const broken = "default: www\ntargets:\n  - name: www\n    distribution: E2QWRUHEXAMPLE\n    channel: [deploys]\n    domains: www.example.com\n"
	path := filepath.Join(t.TempDir(), "cdnpurge.yaml")
	if err := os.WriteFile(path, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	want := func(name string) string {
		return "configuration:\n" +
			name + `:5: targets.0.channel: unknown field; did you mean "channels"?` + "\n" +
			name + ":6: targets.0.domains: must be a list, even of one: write [www.example.com]\n"
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"serve, CDNPURGE_CONFIG", []string{"serve", "--addr", "127.0.0.1:0"},
			map[string]string{config.EnvConfigFile: path}, "cdnpurge serve: " + want(path)},
		{"serve, CDNPURGE_CONFIG_YAML", []string{"serve", "--addr", "127.0.0.1:0"},
			map[string]string{config.EnvConfigYAML: broken}, "cdnpurge serve: " + want(config.EnvConfigYAML)},
		{"Lambda, CDNPURGE_CONFIG_YAML", nil,
			map[string]string{config.EnvConfigYAML: broken, "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9"}, "cdnpurge lambda: " + want(config.EnvConfigYAML)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env[config.EnvSigningSecret] = goodSecret
			code, _, errOut := runCmd(t, func(k string) string { return tt.env[k] }, tt.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if errOut != tt.want {
				t.Errorf("stderr:\n%s\nwant:\n%s", errOut, tt.want)
			}
			for _, replaced := range []string{config.EnvDistributionID, config.EnvChannels, "[]string", "!!", "config."} {
				if strings.Contains(errOut, replaced) {
					t.Errorf("stderr shows %q:\n%s", replaced, errOut)
				}
			}
		})
	}
}
