package access

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

func TestNewTargets(t *testing.T) {
	a := Target{Name: "a", DistributionID: "E1", Channels: Channels{"c"}, Domains: []string{"a.example.com"}}
	b := Target{Name: "b", DistributionID: "E2", Channels: Channels{"c"}}
	tests := []struct {
		name    string
		targets []Target
		def     string
		wantErr string
	}{
		{"one, no default", []Target{a}, "", ""},
		{"two with default", []Target{a, b}, "b", ""},
		{"two without default", []Target{a, b}, "", "default target"},
		{"unknown default", []Target{a, b}, "c", "default target"},
		{"none", nil, "", "no targets"},
		{"same name", []Target{a, a}, "a", "two targets are named"},
		{"keyword name", []Target{{Name: "usage", DistributionID: "E1"}}, "", "command word"},
		{"same host", []Target{a, {Name: "b", DistributionID: "E2", Domains: []string{"a.example.com"}}}, "a", "belongs to targets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewTargets(tt.targets, tt.def)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("NewTargets = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestResolve covers what picks a target: a name, a URL's host, the
// default, and the one target of a team's own channel.
func TestResolve(t *testing.T) {
	ts, err := NewTargets([]Target{
		{Name: "www", DistributionID: "E1", Channels: Channels{"deploys"}, Domains: []string{"www.example.com"}},
		{Name: "open", DistributionID: "E2", Channels: Channels{"deploys"}},
		{Name: "docs", DistributionID: "E3", Channels: Channels{"docs"}},
		{Name: "ops1", DistributionID: "E4", Channels: Channels{"ops"}},
		{Name: "ops2", DistributionID: "E5", Channels: Channels{"ops"}},
	}, "www")
	if err != nil {
		t.Fatal(err)
	}
	p := &Policy{Targets: ts}
	deploys, docs, ops := Who{ChannelName: "deploys"}, Who{ChannelName: "docs"}, Who{ChannelName: "ops"}
	tests := []struct {
		name     string
		who      Who
		cmd      purge.Command
		want     string
		wantRule string
	}{
		{"default", deploys, purge.Command{}, "www", ""},
		{"named", deploys, purge.Command{Target: "open"}, "open", ""},
		{"host", deploys, purge.Command{Hosts: []string{"www.example.com"}}, "www", ""},
		{"any host on a target without domains", deploys, purge.Command{Target: "open", Hosts: []string{"elsewhere.example.org"}}, "open", ""},
		{"claimed host on a target without domains", deploys, purge.Command{Target: "open", Hosts: []string{"www.example.com"}}, "", RuleDomains},
		{"unknown host on the default", deploys, purge.Command{Hosts: []string{"elsewhere.example.org"}}, "", RuleDomains},
		{"known and unknown host", deploys, purge.Command{Hosts: []string{"elsewhere.example.org", "www.example.com"}}, "", RuleDomains},
		{"team channel: its only target", docs, purge.Command{}, "docs", ""},
		{"channel with two targets: the default", ops, purge.Command{}, "www", ""},
		{"unknown name", deploys, purge.Command{Target: "nope"}, "", RuleTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Resolve(context.Background(), tt.who, tt.cmd)
			if tt.wantRule != "" {
				if RefusedRule(err) != tt.wantRule || purge.ErrorCode(err) != purge.PermissionDenied {
					t.Fatalf("Resolve = %v, %v; want a refusal by %s", got, err, tt.wantRule)
				}
				return
			}
			if err != nil || got.Name != tt.want {
				t.Fatalf("Resolve = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

// TestUnnamedTarget checks the tutorial's single target: a bare word is
// taken for a path without its slash, as before targets had names.
func TestUnnamedTarget(t *testing.T) {
	ts, err := NewTargets([]Target{{DistributionID: "E1", Channels: Channels{"deploys"}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&Policy{Targets: ts}).Resolve(context.Background(), Who{ChannelName: "deploys"}, purge.Command{Target: "blog"})
	var np *NotAPath
	if purge.ErrorCode(err) != purge.Invalid || !errors.As(err, &np) || np.Word != "blog" {
		t.Fatalf("Resolve = %v", err)
	}
	if got := ts.Default().Label(); got != "E1" {
		t.Errorf("Label = %s", got)
	}
}

func TestCheckPaths(t *testing.T) {
	p := &Policy{}
	limited := &Target{Name: "docs", Paths: []string{"/guide/*", "/robots.txt"}}
	tests := []struct {
		target *Target
		paths  []string
		ok     bool
	}{
		{limited, []string{"/guide/a", "/guide/*", "/guide/a/*", "/robots.txt"}, true},
		{limited, []string{"/guide"}, false},
		{limited, []string{"/robots.txt2"}, false},
		{limited, []string{"/guide/./a"}, false},
		{limited, []string{"/guide/../api/x?q=/../"}, false},
		{limited, []string{"/guide/a?next=/../x"}, true},
		{limited, []string{"/guide/..a"}, true},
		{limited, []string{"#tag"}, false},
		{limited, []string{"/*"}, false},
		{&Target{}, []string{"/*", "#tag", "/a/../b"}, true},
	}
	for _, tt := range tests {
		err := p.CheckPaths(tt.target, tt.paths)
		if (err == nil) != tt.ok || err != nil && RefusedRule(err) != RulePaths {
			t.Errorf("CheckPaths(%q) = %v, want ok=%v", tt.paths, err, tt.ok)
		}
	}
}
