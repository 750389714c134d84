package lambdainvoke_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/lambdainvoke"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// The fake credentials of testutil; the tests check that none of them leaks
// into an error.
const (
	testAccessKeyID  = testutil.AWSAccessKeyID
	testSecretKey    = testutil.AWSSecretKey
	testSessionToken = testutil.AWSSessionToken
	testFunction     = "cdnpurge-Function-AbC123"
	// responseToken is the secret part of the response_url.
	responseToken = "xoxSecretResponseToken0123456789"
)

func TestMain(m *testing.M) {
	// Nothing in these tests may reach the EC2 instance metadata service.
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Exit(m.Run())
}

func testConfig() aws.Config { return testutil.AWSConfig() }

func testRequest() followup.Request {
	started := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	return followup.Request{
		DistributionID: "EDFDVBD6EXAMPLE",
		InvalidationID: "I2J0I21PCUYOIK",
		ResponseURL:    "https://hooks.slack.com/commands/T0001/1234567890/" + responseToken,
		UserID:         "U0001",
		// The approver travels to every hop, for the completion message.
		ApprovedBy: "U0002",
		ChannelID:  "C0DEPLOY01",
		Requested:  2,
		Started:    started,
		Deadline:   started.Add(followup.MaxWatch),
	}
}

// secrets are the strings no error may contain.
func secrets(req followup.Request) []string {
	return []string{req.ResponseURL, responseToken, url.QueryEscape(req.ResponseURL), testSecretKey, testSessionToken}
}

// invocation is what the stand-in saw of one Invoke request.
type invocation struct {
	method, path, invocationType, authorization string
	body                                        []byte
}

// standIn is a local stand-in for the Lambda Invoke API: it records each
// request and answers it with respond.
type standIn struct {
	mu    sync.Mutex
	calls []invocation
	URL   string
}

func (s *standIn) invocations() []invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]invocation(nil), s.calls...)
}

// mustStandIn starts the stand-in on loopback. respond gets the number of the
// attempt (from 1) and the request body, and writes the answer.
func mustStandIn(tb testing.TB, respond func(w http.ResponseWriter, r *http.Request, n int, body []byte)) *standIn {
	tb.Helper()
	s := &standIn{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.calls = append(s.calls, invocation{
			method:         r.Method,
			path:           r.URL.EscapedPath(),
			invocationType: r.Header.Get("X-Amz-Invocation-Type"),
			authorization:  r.Header.Get("Authorization"),
			body:           body,
		})
		n := len(s.calls)
		s.mu.Unlock()
		respond(w, r, n, body)
	}))
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// accepted answers as Lambda does when it has queued an event.
func accepted(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) {
	w.Header().Set("X-Amzn-RequestId", "8f5cd5f0-0000-4000-8000-000000000001")
	w.WriteHeader(http.StatusAccepted)
}

// lambdaError answers with Lambda's REST-JSON error shape.
func lambdaError(w http.ResponseWriter, status int, errorType string, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", "8f5cd5f0-0000-4000-8000-000000000002")
	if errorType != "" {
		w.Header().Set("X-Amzn-ErrorType", errorType)
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func TestScheduleHop(t *testing.T) {
	srv := mustStandIn(t, accepted)
	s := lambdainvoke.New(testConfig(), testFunction, lambdainvoke.Options{Endpoint: srv.URL})
	req := testRequest()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()

	if err := s.Schedule(ctx, req); err != nil {
		t.Fatalf("Schedule: %v", err)
	}
	if err := s.ScheduleHop(ctx, req, 7); err != nil {
		t.Fatalf("ScheduleHop: %v", err)
	}

	calls := srv.invocations()
	if len(calls) != 2 {
		t.Fatalf("the stand-in saw %d requests, want 2", len(calls))
	}
	for i, wantHop := range []int{0, 7} {
		c := calls[i]
		if c.method != http.MethodPost {
			t.Errorf("call %d: method %s, want POST", i, c.method)
		}
		if want := "/2015-03-31/functions/" + testFunction + "/invocations"; c.path != want {
			t.Errorf("call %d: path %s, want %s", i, c.path, want)
		}
		if c.invocationType != "Event" {
			t.Errorf("call %d: X-Amz-Invocation-Type %q, want Event", i, c.invocationType)
		}
		if want := "AWS4-HMAC-SHA256 Credential=" + testAccessKeyID + "/"; !strings.HasPrefix(c.authorization, want) ||
			!strings.Contains(c.authorization, "/us-east-1/lambda/aws4_request") ||
			!strings.Contains(c.authorization, "Signature=") {
			t.Errorf("call %d: Authorization %q is not a SigV4 signature for lambda in us-east-1", i, c.authorization)
		}
		ev, ok, err := followup.ParseEvent(c.body)
		if !ok || err != nil {
			t.Fatalf("call %d: ParseEvent(%s) = ok %v, %v", i, c.body, ok, err)
		}
		if !reflect.DeepEqual(*ev.Followup, req) {
			t.Errorf("call %d: request %+v, want %+v", i, *ev.Followup, req)
		}
		if ev.Hop != wantHop {
			t.Errorf("call %d: hop %d, want %d", i, ev.Hop, wantHop)
		}
	}
}

// TestErrors checks each class of failure with the error shapes Lambda
// sends. Every error message quotes the payload back, as Lambda's
// InvalidRequestContentException does, whole and cut short, so that every row
// also proves the response_url is blotted out.
func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		errorType string                                       // X-Amzn-ErrorType
		body      func(payload string) any                     // the JSON body
		raw       func(w http.ResponseWriter, r *http.Request) // instead of status, errorType and body
		want      purge.Code
		message   string // a part of the user's message
	}{
		{
			name: "AccessDeniedException", status: 403, errorType: "AccessDeniedException",
			body: func(p string) any {
				return map[string]string{"Message": "User: arn:aws:sts::123456789012:assumed-role/cdnpurge-FunctionRole/" + testFunction +
					" is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:" +
					testFunction + " because no identity-based policy allows the lambda:InvokeFunction action; payload " + p}
			},
			want: purge.PermissionDenied, message: "lambda:InvokeFunction",
		},
		{
			name: "AccessDenied", status: 403, errorType: "AccessDenied",
			body: func(p string) any { return map[string]string{"message": "Access denied; payload " + p} },
			want: purge.PermissionDenied, message: "lambda:InvokeFunction",
		},
		{
			name: "ResourceNotFoundException", status: 404, errorType: "ResourceNotFoundException",
			body: func(p string) any {
				return map[string]string{"Type": "User", "Message": "Function not found: arn:aws:lambda:us-east-1:123456789012:function:" +
					testFunction + "; payload " + p}
			},
			want: purge.NotFound, message: testFunction,
		},
		{
			name: "TooManyRequestsException", status: 429, errorType: "TooManyRequestsException",
			body: func(p string) any {
				return map[string]string{"Reason": "CallerRateLimitExceeded", "Type": "User", "message": "Rate Exceeded. " + p}
			},
			want: purge.RateLimited, message: "rate",
		},
		{
			name: "ThrottlingException", status: 400, errorType: "ThrottlingException",
			body: func(p string) any { return map[string]string{"message": "Rate exceeded " + p} },
			want: purge.RateLimited, message: "rate",
		},
		{
			name: "429 without a code", status: 429,
			body: func(p string) any { return map[string]string{"message": "slow down " + p} },
			want: purge.RateLimited, message: "rate",
		},
		{
			name: "ServiceException", status: 500, errorType: "ServiceException",
			body: func(p string) any {
				return map[string]string{"Type": "Service", "Message": "Lambda encountered an internal error " + p}
			},
			want: purge.Unavailable, message: "did not answer",
		},
		{
			name: "503 from the front end", status: 503,
			raw: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "<html><body>Service Unavailable</body></html>")
			},
			want: purge.Unavailable, message: "did not answer",
		},
		{
			name: "ResourceNotReadyException", status: 502, errorType: "ResourceNotReadyException",
			body: func(p string) any {
				return map[string]string{"Type": "User", "message": "Functions are inactive " + p}
			},
			want: purge.Unavailable, message: "did not answer",
		},
		{
			name: "connection closed", raw: func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					conn.Close()
				}
			},
			want: purge.Unavailable, message: "did not answer",
		},
		{
			name: "InvalidSignatureException", status: 403, errorType: "InvalidSignatureException",
			body: func(p string) any {
				return map[string]string{"message": "The request signature we calculated does not match the signature you provided. " +
					"The Canonical String for this request should have been 'POST\n/2015-03-31/functions/" + testFunction +
					"/invocations\n\nx-amz-security-token:" + testSessionToken + "\n' " + p}
			},
			want: purge.Unauthenticated, message: "credentials",
		},
		{
			name: "InvalidRequestContentException", status: 400, errorType: "InvalidRequestContentException",
			body: func(p string) any {
				return map[string]string{"Type": "User", "message": "Could not parse request body into json: " + p}
			},
			want: purge.Internal, message: "internal error",
		},
		{
			name: "RequestTooLargeException", status: 413, errorType: "RequestTooLargeException",
			body: func(p string) any {
				return map[string]string{"Type": "User", "message": "Request must be smaller than 1048576 bytes " + p}
			},
			want: purge.Internal, message: "internal error",
		},
		{
			name: "200 instead of 202",
			raw:  func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) },
			want: purge.Internal, message: "internal error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mustStandIn(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
				if tt.raw != nil {
					tt.raw(w, r)
					return
				}
				// The payload whole, and cut inside the response_url.
				quoted := string(body) + " | " + string(body[:bytes.Index(body, []byte(responseToken))+5])
				lambdaError(w, tt.status, tt.errorType, tt.body(quoted))
			})
			s := lambdainvoke.New(testConfig(), testFunction, lambdainvoke.Options{Endpoint: srv.URL})
			req := testRequest()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()

			err := s.ScheduleHop(ctx, req, 3)
			if err == nil {
				t.Fatal("ScheduleHop succeeded, want an error")
			}
			if got := purge.ErrorCode(err); got != tt.want {
				t.Errorf("ErrorCode = %s, want %s; error: %v", got, tt.want, err)
			}
			if msg := purge.ErrorMessage(err); !strings.Contains(strings.ToLower(msg), strings.ToLower(tt.message)) {
				t.Errorf("ErrorMessage = %q, want it to mention %q", msg, tt.message)
			}
			var logged bytes.Buffer
			slog.New(slog.NewTextHandler(&logged, nil)).Error("follow-up not scheduled", "error", err)
			for _, secret := range secrets(req) {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("err.Error() contains the secret %q: %s", secret, err)
				}
				if strings.Contains(logged.String(), secret) {
					t.Errorf("the log line contains the secret %q: %s", secret, &logged)
				}
			}
			if strings.Contains(err.Error(), "hooks.slack.com/commands") {
				t.Errorf("err.Error() contains a part of the response_url: %s", err)
			}
		})
	}
}

func TestRetriesTransientFailure(t *testing.T) {
	srv := mustStandIn(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		if n == 1 {
			lambdaError(w, http.StatusServiceUnavailable, "ServiceException",
				map[string]string{"Type": "Service", "Message": "Service unavailable"})
			return
		}
		accepted(w, r, n, body)
	})
	s := lambdainvoke.New(testConfig(), testFunction, lambdainvoke.Options{Endpoint: srv.URL})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := s.Schedule(ctx, testRequest()); err != nil {
		t.Fatalf("Schedule: %v", err)
	}
	calls := srv.invocations()
	if len(calls) != 2 {
		t.Fatalf("the stand-in saw %d requests, want 2 (a 503, then a retry)", len(calls))
	}
	if !bytes.Equal(calls[0].body, calls[1].body) {
		t.Errorf("the retry sent another payload:\n%s\n%s", calls[0].body, calls[1].body)
	}
}

func TestHangingServerBoundedByContext(t *testing.T) {
	release := make(chan struct{})
	var attempts atomic.Int32
	srv := mustStandIn(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		attempts.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close

	s := lambdainvoke.New(testConfig(), testFunction, lambdainvoke.Options{Endpoint: srv.URL})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Schedule(ctx, testRequest())
	elapsed := time.Since(start)
	if got := purge.ErrorCode(err); got != purge.Unavailable {
		t.Errorf("ErrorCode = %s, want %s; error: %v", got, purge.Unavailable, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v is not context.DeadlineExceeded", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("Schedule returned after %v, want about the context's 300ms", elapsed)
	}
	if attempts.Load() == 0 {
		t.Error("the stand-in saw no request")
	}
}

func TestRefusesBeforeSending(t *testing.T) {
	srv := mustStandIn(t, accepted)
	noURL := testRequest()
	noURL.ResponseURL = ""
	tests := []struct {
		name     string
		function string
		req      followup.Request
		hop      int
		want     purge.Code
	}{
		{"no function name", "", testRequest(), 0, purge.Internal},
		{"negative hop", testFunction, testRequest(), -1, purge.Invalid},
		{"no response_url", testFunction, noURL, 0, purge.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := lambdainvoke.New(testConfig(), tt.function, lambdainvoke.Options{Endpoint: srv.URL})
			err := s.ScheduleHop(t.Context(), tt.req, tt.hop)
			if got := purge.ErrorCode(err); got != tt.want {
				t.Errorf("ErrorCode = %s, want %s; error: %v", got, tt.want, err)
			}
			if strings.Contains(err.Error(), responseToken) {
				t.Errorf("err.Error() contains the response_url: %s", err)
			}
		})
	}
	if n := len(srv.invocations()); n != 0 {
		t.Errorf("the stand-in saw %d requests, want none", n)
	}
}

// TestNoDeadline checks that a call without a deadline is still bounded.
func TestNoDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for DefaultTimeout")
	}
	release := make(chan struct{})
	srv := mustStandIn(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	s := lambdainvoke.New(testConfig(), testFunction, lambdainvoke.Options{Endpoint: srv.URL})
	start := time.Now()
	err := s.Schedule(context.Background(), testRequest())
	if got := purge.ErrorCode(err); got != purge.Unavailable {
		t.Errorf("ErrorCode = %s, want %s; error: %v", got, purge.Unavailable, err)
	}
	if elapsed := time.Since(start); elapsed > lambdainvoke.DefaultTimeout+time.Second {
		t.Errorf("Schedule returned after %v, want about DefaultTimeout (%v)", elapsed, lambdainvoke.DefaultTimeout)
	}
}
