package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/cdnpurge/cdnpurge/internal/config"
)

// appFromEnv reads the configuration from the environment (and the secrets
// it names by ARN from AWS), checks it and wires the service, logging JSON
// lines: what `serve` and the Lambda share. `serve` logs to stdout, a
// container's log stream; the Lambda to stderr, as every other command.
func appFromEnv(ctx context.Context, e env, mode string) (config.Config, *app, error) {
	cfg := config.FromEnv(e.getenv)
	fromAWS, err := readSecrets(ctx, &cfg, e.getenv, nil)
	if err != nil {
		return cfg, nil, fmt.Errorf("configuration:\n%w", err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, fmt.Errorf("configuration:\n%w", err)
	}
	if mode == modeLambda && cfg.SigningSecret == "" {
		// Socket Mode is for a long-running `serve`: a Lambda answers the
		// Request URLs, which Slack signs.
		return cfg, nil, fmt.Errorf("configuration:\n%s is not set: the Lambda serves Slack's Request URLs, whose signature it checks (Socket Mode, %s, is for `cdnpurge serve`)", config.EnvSigningSecret, config.EnvSlackAppToken)
	}
	logTo := e
	if mode == modeServe {
		logTo.stderr = e.stdout
	}
	log := newLogger(logTo, slog.LevelInfo)
	if len(fromAWS) > 0 {
		log.Info("secrets read from AWS", "from", fromAWS)
	}
	if ignored := cfg.Ignored(); len(ignored) > 0 {
		log.Warn("targets come from the configuration file; these settings are not used", "ignored", ignored)
	}
	a, err := newApp(ctx, cfg, e.getenv, log, mode)
	return cfg, a, err
}

// runServe is `cdnpurge serve`: the HTTP server for Slack and, with
// CDNPURGE_SLACK_APP_TOKEN, the Socket Mode client beside it.
func runServe(ctx context.Context, e env) error {
	fs := newFlagSet("serve", e)
	addr := fs.String("addr", ":8080", "address to listen on, HOST:PORT")
	grace := fs.Duration("shutdown-grace", defaultShutdownGrace, "on SIGTERM, how long requests in flight and follow-ups get to finish before the channels of those still running are told to check later")
	slackRoutes := fs.Bool("slack-routes", false, "in Socket Mode (CDNPURGE_SLACK_APP_TOKEN set), also serve Slack's Request URLs over HTTP (needs CDNPURGE_SLACK_SIGNING_SECRET)")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if *grace <= 0 {
		return fmt.Errorf("%w: --shutdown-grace must be positive, not %s", errUsage, *grace)
	}
	listen, err := portFromEnv(*addr, e.getenv("PORT"))
	if err != nil {
		return err
	}
	cfg, a, err := appFromEnv(ctx, e, modeServe)
	if err != nil {
		return err
	}
	if listen != *addr {
		a.log.Info("PORT replaces the port of --addr", "addr_flag", *addr, "port", e.getenv("PORT"), "addr", listen)
	}
	if *slackRoutes && cfg.SocketMode() {
		if cfg.SigningSecret == "" {
			return fmt.Errorf("%w: --slack-routes serves Slack's signed Request URLs: set %s", errUsage, config.EnvSigningSecret)
		}
		a.enableSlackRoutes()
	}
	if err := a.Listen(listen); err != nil {
		return err
	}
	a.log.Info("serving Slack commands", "addr", a.ln.Addr().String(), "targets", a.handler.TargetNames(), "audit_webhook", cfg.WebhookURL != "", "cloudfront_endpoint", cfg.CloudFrontEndpoint,
		"socket_mode", cfg.SocketMode(), "slack_routes", !cfg.SocketMode() || *slackRoutes)
	return a.runWithShutdown(ctx, *grace)
}

// portFromEnv returns the address serve listens on: addr (--addr), its
// port replaced by port (the PORT variable most container platforms set)
// when that is not empty, the host kept. A port is a number from 1 to 65535,
// or 0 for any free one (what tests use).
func portFromEnv(addr, port string) (string, error) {
	if port == "" {
		return addr, nil
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || strconv.FormatUint(n, 10) != port {
		return "", fmt.Errorf("PORT %q is not a port number (1 to 65535)", port)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%w: --addr %q is not HOST:PORT, so PORT cannot replace its port: %v", errUsage, addr, err)
	}
	return net.JoinHostPort(host, port), nil
}
