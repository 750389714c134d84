// Command cdnpurge purges CloudFront caches from Slack, from a terminal, or
// from a pipeline. One binary serves every role: `serve` (HTTP), `demo` (the
// whole flow on this machine), `emulate` (a local CloudFront API) and, named
// bootstrap with AWS_LAMBDA_RUNTIME_API set, the Lambda handler.
//
// main only reads flags and the environment and hands them to the app; the
// work lives in the internal packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `cdnpurge: purge CloudFront caches from Slack.

Usage:
  cdnpurge demo [--socket-mode]       the whole flow on this machine: emulator, server, a signed command
                                      (--socket-mode: over a Socket Mode stand-in's WebSocket)
  cdnpurge serve [--addr HOST:PORT] [--shutdown-grace D] [--slack-routes]
                                      serve Slack's slash commands over HTTP, or over Socket Mode
                                      with CDNPURGE_SLACK_APP_TOKEN (then --slack-routes keeps HTTP's too);
                                      PORT, when set, replaces the port of --addr; logs JSON lines to stdout
  cdnpurge emulate [--addr HOST:PORT] [--distribution ID]... [--tenant dt_ID]... [--complete-after D]
                   [--cloudflare-zone ID]... [--fastly-service ID]...
                                      a local CloudFront API for the AWS CLI and SDKs (and Cloudflare's, Fastly's)
  cdnpurge invalidate [--distribution ID | --target NAME] [--wait] [--timeout D] [--caller-reference REF] [--json] PATH_OR_URL...
                                      purge from a terminal or a pipeline; --wait follows it to Completed
  cdnpurge status [--distribution ID | --target NAME] [--json] [ID]
                                      one invalidation (the latest without ID): status, age, paths, who asked
  cdnpurge list [--distribution ID | --target NAME] [--max N] [--json]
                                      recent invalidations, newest first
  cdnpurge slack-manifest [--url https://HOST] [--socket-mode] [--command /cdn-purge] [--usergroups]
                                      print the Slack app manifest, Request URLs filled in
  cdnpurge version                    the version, VCS revision and platform (also --version)
  cdnpurge help                       this text

With no arguments and AWS_LAMBDA_RUNTIME_API set (the binary named bootstrap in
a Lambda), it serves Lambda Function URL events.

Configuration comes from the environment: CDNPURGE_DISTRIBUTION_ID,
CDNPURGE_SLACK_SIGNING_SECRET, CDNPURGE_SLACK_CHANNEL, CDNPURGE_SLACK_WEBHOOK_URL,
CDNPURGE_CLOUDFRONT_ENDPOINT, CDNPURGE_DEV_ALLOW_LOOPBACK; AWS credentials and
region from the AWS SDK's standard chain. See README.md.

Exit codes of invalidate, status and list, for pipelines: 0 success (created, or
completed with --wait); 1 any other failure (e.g. configuration); 2 usage mistake
(bad flag, no paths, status or list on a provider that keeps no record of purges);
3 input refused (a path the CDN would refuse or cannot purge); 4 CDN error (not
found, access denied, rate limited, unavailable...); 5 --wait timed out (the
invalidation keeps running; the message gives its ID).
`

// env is what a command reads from outside: arguments, environment, output.
type env struct {
	args   []string
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	// settings pace invalidate, status and list; nil means
	// defaultSettings().
	settings *settings
}

// errUsage marks a command-line mistake: exit code 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, env{args: os.Args[1:], getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr}))
}

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, e env) int {
	if len(e.args) == 0 {
		if e.getenv("AWS_LAMBDA_RUNTIME_API") != "" {
			return exitCode("lambda", runLambda(ctx, e), e)
		}
		fmt.Fprint(e.stderr, usage)
		return 2
	}
	commands := map[string]func(context.Context, env) error{
		"demo":           runDemo,
		"serve":          runServe,
		"emulate":        runEmulate,
		"invalidate":     runInvalidate,
		"status":         runStatus,
		"list":           runList,
		"slack-manifest": runSlackManifest,
	}
	name := e.args[0]
	if name == "version" || name == "--version" || name == "-version" {
		fmt.Fprintln(e.stdout, versionLine())
		return 0
	}
	if name == "help" || name == "-h" || name == "--help" || name == "-help" {
		fmt.Fprint(e.stdout, usage)
		return 0
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(e.stderr, "cdnpurge: unknown command %q\n\n%s", name, usage)
		return 2
	}
	e.args = e.args[1:]
	return exitCode(name, cmd(ctx, e), e)
}

// exitCode reports err on stderr and maps it to the process exit code:
// 0 for none (or --help), 2 for a usage mistake, an *exitError's own code,
// 1 for anything else.
func exitCode(name string, err error, e env) int {
	var xe *exitError
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &xe):
		fmt.Fprintf(e.stderr, "cdnpurge %s: %v\n", name, xe)
		return xe.code
	case errors.Is(err, errUsage):
		fmt.Fprintf(e.stderr, "cdnpurge %s: %v\n", name, err)
		return 2
	default:
		fmt.Fprintf(e.stderr, "cdnpurge %s: %v\n", name, err)
		return 1
	}
}
