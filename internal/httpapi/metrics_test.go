package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/service"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// replyTimes records the transport of each reply measured.
type replyTimes struct {
	mu  sync.Mutex
	got []string
}

func (r *replyTimes) Reply(transport string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d <= 0 {
		transport += " (no duration)"
	}
	r.got = append(r.got, transport)
}

func (r *replyTimes) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

// TestReplyMeasured: the reply to each verified request is measured once,
// under the Handler's transport; a request refused before (unsigned, wrong
// method), ssl_check and /healthz are not.
func TestReplyMeasured(t *testing.T) {
	form := url.Values{"team_id": {"T0"}, "channel_id": {"C0"}, "channel_name": {"deploys"}, "user_id": {"U1"},
		"command": {"/cdn-purge"}, "text": {"help"}, "trigger_id": {"t.1"}}.Encode()
	for _, transport := range []string{"", "lambda"} {
		rec := &replyTimes{}
		h := New(Options{
			Service: service.New(service.Options{
				SealSecret: testSecret, DistributionID: testDist, Channels: slack.Channels{"deploys"},
				Invalidator: testutil.NewInProcessInvalidator(time.Hour),
			}),
			SigningSecret: testSecret, Metrics: rec, Transport: transport,
		})
		want := "http"
		if transport != "" {
			want = transport
		}
		tests := []struct {
			name string
			req  *http.Request
			want []string
		}{
			{"command", signedRequest(t, "/slack/commands", testSecret, form, 0), []string{want}},
			{"interaction", signedRequest(t, "/slack/interactions", testSecret, "payload="+url.QueryEscape(`{"type":"block_actions"}`), 0), []string{want}},
			{"unsigned", signedRequest(t, "/slack/commands", "not-the-secret", form, 0), nil},
			{"wrong method", httptest.NewRequest(http.MethodGet, "/slack/commands", nil), nil},
			{"ssl_check", httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader("ssl_check=1")), nil},
			{"healthz", httptest.NewRequest(http.MethodGet, "/healthz", nil), nil},
		}
		for _, tt := range tests {
			t.Run(want+"/"+tt.name, func(t *testing.T) {
				h.ServeHTTP(httptest.NewRecorder(), tt.req)
				if got := rec.take(); !slices.Equal(got, tt.want) {
					t.Errorf("measured %q, want %q", got, tt.want)
				}
			})
		}
	}
}
