package service

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// recordedMetrics records what the flow counts.
type recordedMetrics struct {
	mu       sync.Mutex
	purges   []string // "provider target outcome"
	refusals []string
}

func (m *recordedMetrics) Purge(provider, target, outcome string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.purges = append(m.purges, provider+" "+target+" "+outcome)
}

func (m *recordedMetrics) Refused(rule string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refusals = append(m.refusals, rule)
}

// take returns what was recorded since the last take.
func (m *recordedMetrics) take() (purges, refusals []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	purges, refusals, m.purges, m.refusals = m.purges, m.refusals, nil, nil
	return purges, refusals
}

// TestMetrics: each purge is counted once with its outcome, each refusal
// by its rule, and a request that is neither counts nothing.
func TestMetrics(t *testing.T) {
	rec := &recordedMetrics{}
	s := New(Options{
		SealSecret: testSecret, Invalidator: testutil.NewInProcessInvalidator(time.Hour), DistributionID: testDist,
		Channels: slack.Channels{"deploys"}, Confirm: purge.ConfirmPolicy{Mode: purge.ConfirmFullPurge},
		Poster: &slack.Poster{Attempts: 1}, Metrics: rec,
	})
	t.Cleanup(func() { s.Wait(context.Background()) })
	tests := []struct {
		name     string
		cmd      Command
		purges   []string
		refusals []string
	}{
		{"purge", command("/index.html"), []string{"cloudfront default ok"}, nil},
		{"the same delivery again", command("/index.html"), []string{"cloudfront default repeat"}, nil},
		{"channel refused", func() Command { c := command("/a.html"); c.ChannelID, c.ChannelName = "C0OTHER", "random"; return c }(), nil, []string{"channels"}},
		{"bad path", command("/a*b"), nil, nil},
		{"an approval asked for", command("/*"), nil, nil},
		{"help", command("help"), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Command(context.Background(), tt.cmd)
			purges, refusals := rec.take()
			if !slices.Equal(purges, tt.purges) || !slices.Equal(refusals, tt.refusals) {
				t.Errorf("counted purges %q and refusals %q, want %q and %q", purges, refusals, tt.purges, tt.refusals)
			}
			for _, p := range purges {
				if strings.Contains(p, "/") || strings.Contains(p, "U1") || strings.Contains(p, testDist) {
					t.Errorf("a label shows a path, a user or an ID: %q", p)
				}
			}
		})
	}
}

func TestPurgeOutcome(t *testing.T) {
	tests := []struct {
		p    purged
		err  error
		want string
	}{
		{purged{state: stateStarted}, nil, "ok"},
		{purged{state: stateRepeat}, nil, "repeat"},
		{purged{state: stateRetrying}, purge.Errorf(purge.Unavailable, "x"), "retrying"},
		{purged{state: stateFailed}, &purge.Error{Code: purge.Unavailable, Err: purge.ErrPartial}, "partial"},
		{purged{state: stateFailed}, purge.Errorf(purge.RateLimited, "x"), "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.p.outcome(tt.err); got != tt.want {
				t.Errorf("%q, want %q", got, tt.want)
			}
		})
	}
}
