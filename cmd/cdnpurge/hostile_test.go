package main

import (
	"github.com/cdnpurge/cdnpurge/internal/slack"

	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/httpapi"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/service"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// mustStartTunedApp is mustStartApp with the http.Server's settings changed
// by tune before it serves: the tests shrink the timeouts to fractions of a
// second, so that a slow client is cut off quickly.
func mustStartTunedApp(tb testing.TB, cfg config.Config, logs io.Writer, tune func(*http.Server)) *app {
	tb.Helper()
	return mustStartAppIn(tb, cfg, logs, modeServe, func(string) string { return "" }, tune)
}

// TestServeSettings pins the production server settings that keep slow and
// oversized clients out: each is set, and generous enough for Slack.
func TestServeSettings(t *testing.T) {
	a := mustStartApp(t, lambdaConfig(testutil.MustEmulator(t, time.Hour)), io.Discard)
	s := a.server
	tests := []struct {
		name     string
		got, max time.Duration
		min      time.Duration
	}{
		{"ReadHeaderTimeout", s.ReadHeaderTimeout, 10 * time.Second, time.Second},
		{"ReadTimeout", s.ReadTimeout, 30 * time.Second, time.Second},
		// The reply is bounded to httpapi.DefaultReplyBudget; the write
		// deadline must leave it room.
		{"WriteTimeout", s.WriteTimeout, time.Minute, httpapi.DefaultReplyBudget + time.Second},
		{"IdleTimeout", s.IdleTimeout, 5 * time.Minute, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got < tt.min || tt.got > tt.max {
				t.Fatalf("%s = %s, want between %s and %s", tt.name, tt.got, tt.min, tt.max)
			}
		})
	}
	if s.MaxHeaderBytes <= 0 || s.MaxHeaderBytes > 1<<20 {
		t.Errorf("MaxHeaderBytes = %d", s.MaxHeaderBytes)
	}
}

// signedCommand is a complete, correctly signed slash command request as
// bytes on the wire.
func signedCommand(trigger string) (head, body string) {
	body = commandForm("/slow", "deploys", trigger).Encode()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	head = "POST /slack/commands HTTP/1.1\r\nHost: cdnpurge.test\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		"X-Slack-Request-Timestamp: " + ts + "\r\nX-Slack-Signature: " + slack.Signature(lambdaSecret, ts, body) + "\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	return head, body
}

// TestServeCutsOffSlowClients runs the real server on loopback with short
// timeouts and plays clients that trickle their request: headers byte by
// byte (slow loris), or a body byte by byte. The server must end each
// connection long before the client would have finished, and create
// nothing; a client at normal speed on the same server is served.
func TestServeCutsOffSlowClients(t *testing.T) {
	const (
		headerTimeout = 300 * time.Millisecond
		readTimeout   = 600 * time.Millisecond
		// A client paced to take this long would finish long after every
		// timeout above; the server must cut it off well before.
		clientTakes = 8 * time.Second
	)
	emu := testutil.MustEmulator(t, time.Hour)
	a := mustStartTunedApp(t, lambdaConfig(emu), io.Discard, func(s *http.Server) {
		s.ReadHeaderTimeout, s.ReadTimeout = headerTimeout, readTimeout
	})
	tests := []struct {
		name string
		// fast is sent at once, slow byte by byte over clientTakes.
		fast, slow func(trigger string) string
		served     bool
	}{
		{"slow-loris headers", func(tr string) string { h, _ := signedCommand(tr); return h[:20] },
			func(tr string) string { h, b := signedCommand(tr); return h[20:] + b }, false},
		{"endless headers", func(string) string { return "POST /slack/commands HTTP/1.1\r\n" },
			func(string) string { return strings.Repeat("X-Slow: a\r\n", 200) }, false},
		{"slow body", func(tr string) string { h, b := signedCommand(tr); return h + b[:10] },
			func(tr string) string { _, b := signedCommand(tr); return b[10:] }, false},
		{"normal client", func(tr string) string { h, b := signedCommand(tr); return h + b }, nil, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trigger := fmt.Sprint("t.slow.", i)
			conn, err := net.Dial("tcp", a.ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			// The reader reports the response (or its absence) when the
			// server answers or closes the connection.
			answered := make(chan string, 1)
			go func() {
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					answered <- "closed without a response"
					return
				}
				resp.Body.Close()
				answered <- resp.Status
			}()
			if _, err := io.WriteString(conn, tt.fast(trigger)); err != nil {
				t.Fatal(err)
			}
			var outcome string
			if tt.slow != nil {
				slow := tt.slow(trigger)
				pace := clientTakes / time.Duration(len(slow))
				finished := true
				for j := 0; j < len(slow) && outcome == ""; j++ {
					select {
					case outcome = <-answered:
						finished = false
					case <-time.After(pace):
						if _, err := conn.Write([]byte{slow[j]}); err != nil {
							finished = false
						}
					}
				}
				if finished && outcome == "" {
					t.Fatalf("the server let a client trickle for %s", clientTakes)
				}
			}
			if outcome == "" {
				select {
				case outcome = <-answered:
				case <-time.After(clientTakes):
					t.Fatal("no answer and no close")
				}
			}
			t.Logf("outcome: %s", outcome)
			if got := strings.HasPrefix(outcome, "200"); got != tt.served {
				t.Fatalf("outcome %q, served: want %v", outcome, tt.served)
			}
			page, err := testutil.NewInvalidator(emu).ListInvalidations(context.Background(), defaultDistributionID, purge.ListOptions{MaxItems: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range page.Items {
				inv, _ := testutil.NewInvalidator(emu).GetInvalidation(context.Background(), defaultDistributionID, s.ID)
				if inv != nil && strings.HasSuffix(inv.CallerReference, trigger) && !tt.served {
					t.Fatalf("a cut-off request created %s", s.ID)
				}
			}
		})
	}
}

// TestServeRefusesOversizedRequests: through the real server, a body over
// the limit gets 413 and creates nothing, and a header block over
// MaxHeaderBytes gets 431 before any handler runs.
func TestServeRefusesOversizedRequests(t *testing.T) {
	emu := testutil.MustEmulator(t, time.Hour)
	a := mustStartApp(t, lambdaConfig(emu), io.Discard)
	head, body := signedCommand("t.big")
	bigBody := body + "&pad=" + strings.Repeat("x", httpapi.DefaultMaxBodyBytes)
	bigHead := strings.Replace(head, "Content-Length: "+strconv.Itoa(len(body)), "Content-Length: "+strconv.Itoa(len(bigBody)), 1)
	hugeHeader := strings.Replace(head, "\r\n\r\n", "\r\nX-Pad: "+strings.Repeat("a", 64<<10)+"\r\n\r\n", 1)
	tests := []struct {
		name, raw string
		status    int
	}{
		{"body over the limit", bigHead + bigBody, http.StatusRequestEntityTooLarge},
		{"header over MaxHeaderBytes", hugeHeader + body, http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", a.ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			go io.WriteString(conn, tt.raw)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
	page, err := testutil.NewInvalidator(emu).ListInvalidations(context.Background(), defaultDistributionID, purge.ListOptions{})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("oversized requests created %d invalidations (%v)", len(page.Items), err)
	}
}

// TestLambdaPanicIsRecovered: a panic while serving a Function URL event is
// answered like serve answers it, a bare 500 without detail, not a function
// error, and logged once.
func TestLambdaPanicIsRecovered(t *testing.T) {
	var logs testutil.LockedBuffer
	a := mustStartAppIn(t, lambdaConfig(testutil.MustEmulator(t, time.Hour)), &logs, modeLambda, func(string) string { return "" })
	a.handler = httpapi.New(httpapi.Options{Service: service.New(service.Options{
		DistributionID: defaultDistributionID, SealSecret: lambdaSecret, Channels: lambdaConfig("").Channels,
		Invalidator: panickyInvalidator{}, Logger: a.log,
	}), SigningSecret: lambdaSecret, Logger: a.log})
	f := commandForm("/boom", "deploys", "t.panic")
	ev := lambdaCase{path: "/", form: f, base64: true, signWith: "-"}.event(t)
	signEvent(&ev, lambdaSecret, f.Encode())
	resp, err := functionURLHandler(a)(context.Background(), ev)
	if err != nil {
		t.Fatalf("the panic reached Lambda as a function error: %v", err)
	}
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(resp.Body, "secret boom") {
		t.Fatalf("answer %d %q", resp.StatusCode, resp.Body)
	}
	if n := strings.Count(logs.String(), "panic serving request"); n != 1 {
		t.Fatalf("panic logged %d times:\n%s", n, logs.String())
	}
}

// panickyInvalidator panics on every call: the one failure no real backend
// produces on demand.
type panickyInvalidator struct{ purge.Invalidator }

func (panickyInvalidator) CreateInvalidation(context.Context, purge.Batch) (*purge.Invalidation, error) {
	panic("secret boom")
}
