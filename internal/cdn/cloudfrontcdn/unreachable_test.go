package cloudfrontcdn_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// MustRefusingAddr returns "127.0.0.1:PORT" where nothing listens: the port
// of a listener it opened and closed, checked to refuse connections.
func MustRefusingAddr(tb testing.TB) string {
	tb.Helper()
	addr, err := testutil.FreeAddr()
	if err != nil {
		tb.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
		tb.Fatalf("something listens on %s", addr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		tb.Fatalf("dial %s: %v, want connection refused", addr, err)
	}
	return addr
}

// mustAcceptingAddr returns the address of a listener on 127.0.0.1 that
// accepts connections and hands each to serve.
func mustAcceptingAddr(tb testing.TB, serve func(net.Conn)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln.Addr().String()
}

// mustNXDOMAINResolver returns a DNS server on 127.0.0.1 (UDP) that answers
// every question "no such name", so that resolving a .invalid name never
// leaves the machine, whatever its resolver configuration.
func mustNXDOMAINResolver(tb testing.TB) string {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := buf[:n]
			// The header, then the question: a name of labels ending in a
			// zero byte, then the type and class.
			end := 12
			for end < n && q[end] != 0 {
				end += int(q[end]) + 1
			}
			end += 1 + 4
			if n < 12 || end > n {
				continue
			}
			resp := append([]byte{}, q[:end]...)
			resp[2] = 0x81 // a response; recursion desired
			resp[3] = 0x83 // recursion available; NXDOMAIN
			copy(resp[4:12], []byte{0, 1, 0, 0, 0, 0, 0, 0})
			pc.WriteTo(resp, from)
		}
	}()
	return pc.LocalAddr().String()
}

// TestUnreachable checks that a call that never reached CloudFront says so,
// naming the endpoint, and that one that reached it and got no answer still
// says the invalidation may have been created.
func TestUnreachable(t *testing.T) {
	refusingAddr := MustRefusingAddr(t)
	refused := "http://" + refusingAddr
	// CloudFront's own endpoint, dialed to the refusing port instead, so
	// that nothing leaves the machine.
	toRefused := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, refusingAddr)
		}
	})
	// A server that accepts the connection and never answers.
	silent := "http://" + mustAcceptingAddr(t, func(c net.Conn) {
		t.Cleanup(func() { c.Close() })
	})
	// A server that accepts the connection and closes it at once.
	hangsUp := "http://" + mustAcceptingAddr(t, func(c net.Conn) { c.Close() })
	dns := mustNXDOMAINResolver(t)
	localDNS := awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) {
		d.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", dns)
		}}
	})

	const (
		nothingPurged = "nothing was purged"
		mayHave       = "may have been created"
	)
	tests := []struct {
		name        string
		call        func(context.Context, *cloudfrontcdn.Invalidator) error
		endpoint    string         // Options.Endpoint
		client      aws.HTTPClient // Options.HTTPClient
		unreachable bool
		want        []string // in the user message
		notWant     []string
	}{
		{"refused create", create, refused, nil, true,
			[]string{"could not be reached at " + refused + " (connection refused)", nothingPurged, "CDNPURGE_CLOUDFRONT_ENDPOINT"}, []string{mayHave, "in time"}},
		{"refused get", get, refused, nil, true,
			[]string{"could not be reached at " + refused + " (connection refused)", "CDNPURGE_CLOUDFRONT_ENDPOINT"}, []string{nothingPurged, "in time"}},
		{"refused list", list, refused, nil, true,
			[]string{"could not be reached at " + refused + " (connection refused)"}, []string{nothingPurged, "in time"}},
		// Only the scheme, host and port of the endpoint: a path, a query
		// or user info may hold a secret.
		{"refused, endpoint with secrets", create, strings.Replace(refused, "//", "//user:hunter2@", 1) + "/base/?token=hunter2", nil, true,
			[]string{"could not be reached at " + refused + " (", nothingPurged}, []string{"hunter2", "user", "/base"}},
		{"unknown host create", create, "http://cloudfront.invalid:80", localDNS, true,
			[]string{"could not be reached at http://cloudfront.invalid:80 (unknown host)", nothingPurged}, []string{mayHave, "in time"}},
		{"unknown host get", get, "http://cloudfront.invalid:80", localDNS, true,
			[]string{"could not be reached at http://cloudfront.invalid:80 (unknown host)"}, []string{nothingPurged, "in time"}},
		{"unknown host list", list, "http://cloudfront.invalid:80", localDNS, true,
			[]string{"could not be reached at http://cloudfront.invalid:80 (unknown host)"}, []string{nothingPurged, "in time"}},
		{"refused, CloudFront's endpoint", create, "", toRefused, true,
			[]string{"could not be reached at https://cloudfront.amazonaws.com (connection refused)", nothingPurged, "network access"}, []string{"CDNPURGE_CLOUDFRONT_ENDPOINT"}},
		// Connected: the request may have been sent and done.
		{"no answer create", create, silent, nil, false, []string{"did not answer in time", mayHave}, []string{"could not be reached", nothingPurged}},
		{"no answer get", get, silent, nil, false, []string{"did not answer in time"}, []string{"could not be reached"}},
		{"no answer list", list, silent, nil, false, []string{"did not answer in time"}, []string{"could not be reached"}},
		{"hung up create", create, hangsUp, nil, false, []string{mayHave}, []string{"could not be reached", nothingPurged}},
		{"hung up get", get, hangsUp, nil, false, nil, []string{"could not be reached"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := fastOptions(tt.endpoint)
			opts.HTTPClient = tt.client
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()
			err := tt.call(ctx, cloudfrontcdn.New(testConfig(), opts))
			checkError(t, err, purge.Unavailable, "")
			if got := purge.Unreachable(err); got != tt.unreachable {
				t.Errorf("Unreachable = %v, want %v; error: %v", got, tt.unreachable, err)
			}
			msg := purge.ErrorMessage(err)
			for _, s := range tt.want {
				if !strings.Contains(msg, s) {
					t.Errorf("user message %q does not say %q", msg, s)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(msg, s) {
					t.Errorf("user message %q says %q", msg, s)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks the endpoint's secrets: %v", err)
			}
		})
	}
}

// TestUnreachableAfterReached checks that a call whose first attempt reached
// CloudFront is not called unreachable when a retry is refused: the first
// one may have created the invalidation.
func TestUnreachableAfterReached(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		// One connection, hung up on; then nothing listens.
		c, err := ln.Accept()
		ln.Close()
		if err == nil {
			c.Close()
		}
	}()
	_, err = cloudfrontcdn.New(testConfig(), fastOptions("http://"+ln.Addr().String())).CreateInvalidation(t.Context(), testBatch)
	checkError(t, err, purge.Unavailable, "may have been created")
	if purge.Unreachable(err) {
		t.Errorf("Unreachable after an attempt that reached the server: %v", err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("the last attempt was not refused, the test proves nothing: %v", err)
	}
}

// TestUnreachableFailsFast checks that, with the default retry settings and
// no deadline, a refused connection is reported well inside the 2 s a Slack
// reply may take: the SDK retries it, but quickly.
func TestUnreachableFailsFast(t *testing.T) {
	endpoint := "http://" + MustRefusingAddr(t)
	inv := cloudfrontcdn.New(testConfig(), cloudfrontcdn.Options{Endpoint: endpoint})
	var slowest time.Duration
	for range 10 {
		start := time.Now()
		_, err := inv.CreateInvalidation(context.Background(), testBatch)
		slowest = max(slowest, time.Since(start))
		if !purge.Unreachable(err) {
			t.Fatalf("not unreachable: %v", err)
		}
	}
	t.Logf("slowest of 10: %v", slowest)
	if slowest > time.Second {
		t.Errorf("a refused CreateInvalidation took %v, want under 1s", slowest)
	}
}
