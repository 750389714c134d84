package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

// cliInvalidation is the JSON the AWS CLI prints for an Invalidation.
type cliInvalidation struct {
	ID                string `json:"Id"`
	Status            string `json:"Status"`
	CreateTime        string `json:"CreateTime"`
	InvalidationBatch struct {
		Paths struct {
			Quantity int      `json:"Quantity"`
			Items    []string `json:"Items"`
		} `json:"Paths"`
		CallerReference string `json:"CallerReference"`
	} `json:"InvalidationBatch"`
}

// awsCLI runs the AWS CLI against an emulator on loopback, with fake
// credentials and nothing from the user's AWS configuration.
type awsCLI struct {
	path string
	url  string
	env  []string
}

// MustAWSCLI finds the aws program or skips the test, saying why.
func MustAWSCLI(tb testing.TB, srv *httptest.Server) *awsCLI {
	tb.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		tb.Skipf("the AWS CLI is not on PATH (%v); .ci/run installs it", err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY=fake-secret-key",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
		"AWS_PAGER=",
	)
	return &awsCLI{path: path, url: srv.URL, env: env}
}

// run runs `aws cloudfront ARGS... --endpoint-url URL --output json` and
// returns its standard output, or an error carrying its standard error.
func (c *awsCLI) run(tb testing.TB, args ...string) ([]byte, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args = append(append([]string{"cloudfront"}, args...), "--endpoint-url", c.url, "--output", "json")
	cmd := exec.CommandContext(ctx, c.path, args...)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &cliError{args: args, err: err, stderr: stderr.String()}
	}
	return stdout.Bytes(), nil
}

type cliError struct {
	args   []string
	err    error
	stderr string
}

func (e *cliError) Error() string {
	return "aws " + strings.Join(e.args, " ") + ": " + e.err.Error() + ": " + strings.TrimSpace(e.stderr)
}

func (e *cliError) Unwrap() error { return e.err }

// mustRunJSON runs the CLI and decodes its JSON output into v.
func (c *awsCLI) mustRunJSON(tb testing.TB, v any, args ...string) {
	tb.Helper()
	out, err := c.run(tb, args...)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		tb.Fatalf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestAWSCLI(t *testing.T) {
	clock := newFakeClock()
	_, srv := MustStartEmulator(t, emulator.Options{CompleteAfter: time.Minute, Now: clock.Now})
	cli := MustAWSCLI(t, srv)

	var created struct {
		Location     string          `json:"Location"`
		Invalidation cliInvalidation `json:"Invalidation"`
	}
	cli.mustRunJSON(t, &created, "create-invalidation", "--distribution-id", testDistribution, "--paths", "/a", "/b*")
	inv := created.Invalidation
	if !invalidationIDPattern.MatchString(inv.ID) || inv.Status != "InProgress" ||
		!slices.Equal(inv.InvalidationBatch.Paths.Items, []string{"/a", "/b*"}) || inv.InvalidationBatch.Paths.Quantity != 2 ||
		!strings.HasPrefix(inv.InvalidationBatch.CallerReference, "cli-") {
		t.Errorf("create-invalidation printed %+v", inv)
	}
	if want := srv.URL + distPath + "/" + inv.ID; created.Location != want {
		t.Errorf("Location = %q, want %q", created.Location, want)
	}
	if ct, err := time.Parse(time.RFC3339, inv.CreateTime); err != nil || !ct.Equal(clock.Now()) {
		t.Errorf("CreateTime = %q (%v), want %v", inv.CreateTime, err, clock.Now())
	}

	t.Run("get-invalidation", func(t *testing.T) {
		for _, want := range []string{"InProgress", "Completed"} {
			var got struct{ Invalidation cliInvalidation }
			cli.mustRunJSON(t, &got, "get-invalidation", "--distribution-id", testDistribution, "--id", inv.ID)
			if got.Invalidation.ID != inv.ID || got.Invalidation.Status != want {
				t.Errorf("get-invalidation: Id %q Status %q, want %q %q", got.Invalidation.ID, got.Invalidation.Status, inv.ID, want)
			}
			clock.Advance(time.Minute)
		}
	})

	t.Run("list-invalidations", func(t *testing.T) {
		ids := []string{inv.ID}
		for range 2 {
			var more struct{ Invalidation cliInvalidation }
			cli.mustRunJSON(t, &more, "create-invalidation", "--distribution-id", testDistribution, "--paths", "/c")
			ids = append(ids, more.Invalidation.ID)
			clock.Advance(time.Second)
		}
		slices.Reverse(ids)
		cli.checkList(t, ids, "list-invalidations", "--distribution-id", testDistribution)
	})

	t.Run("errors", func(t *testing.T) {
		cli.checkErrors(t, []cliErrorCase{
			{"unknown distribution", []string{"create-invalidation", "--distribution-id", "E2NOPE", "--paths", "/a"}, "NoSuchDistribution"},
			{"unknown invalidation", []string{"get-invalidation", "--distribution-id", testDistribution, "--id", "I0000000000000"}, "NoSuchInvalidation"},
			{"bad path", []string{"create-invalidation", "--distribution-id", testDistribution, "--paths", "/a*b"}, "InvalidArgument"},
		})
	})
}

// checkList runs a list command of the CLI whole and page by page, and
// checks that it lists the invalidations want, newest first, each time.
func (c *awsCLI) checkList(t *testing.T, want []string, args ...string) {
	t.Helper()
	// --page-size makes the CLI page with MaxItems and Marker and merge the
	// pages.
	for _, page := range [][]string{nil, {"--page-size", "2"}, {"--page-size", "1"}} {
		var list struct {
			InvalidationList struct {
				Items []struct{ Id, Status, CreateTime string }
			}
		}
		c.mustRunJSON(t, &list, append(slices.Clone(args), page...)...)
		var got []string
		for _, s := range list.InvalidationList.Items {
			got = append(got, s.Id)
		}
		if !slices.Equal(got, want) {
			t.Errorf("aws cloudfront %s %v: %q, want %q", strings.Join(args, " "), page, got, want)
		}
	}
}

// cliErrorCase is a CLI command that must fail with an error code.
type cliErrorCase struct {
	name string
	args []string
	want string // the error code the CLI prints, e.g. NoSuchInvalidation
}

// checkErrors runs each case and checks that the CLI failed with its code,
// which it can only print if it parsed the ErrorResponse.
func (c *awsCLI) checkErrors(t *testing.T, tests []cliErrorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.run(t, tt.args...)
			ce, ok := errors.AsType[*cliError](err)
			if !ok {
				t.Fatalf("aws %v succeeded, want %s", tt.args, tt.want)
			}
			if !strings.Contains(ce.stderr, "("+tt.want+")") {
				t.Errorf("stderr lacks (%s): %s", tt.want, ce.stderr)
			}
		})
	}
}

// TestAWSCLITenant drives the distribution-tenant operations with the AWS
// CLI, whose requests and parsers come from AWS's own service model: the
// emulator's routes and documents for tenants are what AWS sends and reads.
func TestAWSCLITenant(t *testing.T) {
	clock := newFakeClock()
	e, srv := MustStartEmulator(t, emulator.Options{CompleteAfter: time.Minute, Now: clock.Now})
	cli := MustAWSCLI(t, srv)
	// The tenant command has no --paths shorthand: the batch is spelled out.
	tenantBatchJSON := func(ref string, paths ...string) string {
		b, err := json.Marshal(map[string]any{
			"CallerReference": ref,
			"Paths":           map[string]any{"Quantity": len(paths), "Items": paths},
		})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	create := func(t *testing.T, ref string, paths ...string) (location string, inv cliInvalidation) {
		t.Helper()
		var out struct {
			Location     string          `json:"Location"`
			Invalidation cliInvalidation `json:"Invalidation"`
		}
		cli.mustRunJSON(t, &out, "create-invalidation-for-distribution-tenant", "--id", testTenant,
			"--invalidation-batch", tenantBatchJSON(ref, paths...))
		return out.Location, out.Invalidation
	}

	location, inv := create(t, "tenant-1", "/a", "/b*", "#product")
	if !invalidationIDPattern.MatchString(inv.ID) || inv.Status != "InProgress" ||
		!slices.Equal(inv.InvalidationBatch.Paths.Items, []string{"/a", "/b*", "#product"}) ||
		inv.InvalidationBatch.Paths.Quantity != 3 || inv.InvalidationBatch.CallerReference != "tenant-1" {
		t.Errorf("create-invalidation-for-distribution-tenant printed %+v", inv)
	}
	if want := srv.URL + tenantPath + "/" + inv.ID; location != want {
		t.Errorf("Location = %q, want %q", location, want)
	}
	if ct, err := time.Parse(time.RFC3339, inv.CreateTime); err != nil || !ct.Equal(clock.Now()) {
		t.Errorf("CreateTime = %q (%v), want %v", inv.CreateTime, err, clock.Now())
	}
	// The CLI signs with SigV4 as every AWS SDK does.
	if got := e.AccessKeyOf(inv.ID); got != "AKIDEXAMPLE" {
		t.Errorf("AccessKeyOf(%s) = %q, want the CLI's AKIDEXAMPLE", inv.ID, got)
	}
	if _, again := create(t, "tenant-1", "/b*", "#product", "/a"); again.ID != inv.ID {
		t.Errorf("repeat with the same caller reference: Id %s, want %s", again.ID, inv.ID)
	}

	t.Run("get-invalidation-for-distribution-tenant", func(t *testing.T) {
		for _, want := range []string{"InProgress", "Completed"} {
			var got struct{ Invalidation cliInvalidation }
			cli.mustRunJSON(t, &got, "get-invalidation-for-distribution-tenant",
				"--distribution-tenant-id", testTenant, "--id", inv.ID)
			if got.Invalidation.ID != inv.ID || got.Invalidation.Status != want ||
				got.Invalidation.InvalidationBatch.CallerReference != "tenant-1" {
				t.Errorf("get: %+v, want Id %s Status %s", got.Invalidation, inv.ID, want)
			}
			clock.Advance(time.Minute)
		}
	})

	t.Run("list-invalidations-for-distribution-tenant", func(t *testing.T) {
		ids := []string{inv.ID}
		for i := range 2 {
			clock.Advance(time.Second)
			_, more := create(t, fmt.Sprint("tenant-more-", i), "/c")
			ids = append(ids, more.ID)
		}
		slices.Reverse(ids)
		cli.checkList(t, ids, "list-invalidations-for-distribution-tenant", "--id", testTenant)
	})

	t.Run("errors", func(t *testing.T) {
		cli.checkErrors(t, []cliErrorCase{
			{"unknown tenant", []string{"create-invalidation-for-distribution-tenant", "--id", "dt_NoSuchTenant",
				"--invalidation-batch", tenantBatchJSON("r", "/a")}, "EntityNotFound"},
			{"unknown tenant on get", []string{"get-invalidation-for-distribution-tenant", "--distribution-tenant-id", "dt_NoSuchTenant",
				"--id", inv.ID}, "EntityNotFound"},
			{"unknown tenant on list", []string{"list-invalidations-for-distribution-tenant", "--id", "dt_NoSuchTenant"}, "EntityNotFound"},
			{"unknown invalidation", []string{"get-invalidation-for-distribution-tenant", "--distribution-tenant-id", testTenant,
				"--id", "I0000000000000"}, "NoSuchInvalidation"},
			{"caller reference reused", []string{"create-invalidation-for-distribution-tenant", "--id", testTenant,
				"--invalidation-batch", tenantBatchJSON("tenant-1", "/other")}, "InvalidationBatchAlreadyExists"},
			{"bad path", []string{"create-invalidation-for-distribution-tenant", "--id", testTenant,
				"--invalidation-batch", tenantBatchJSON("r", "/a*b")}, "InvalidArgument"},
		})
	})
}
