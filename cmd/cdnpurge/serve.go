package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cdnpurge/cdnpurge/internal/config"
)

// appFromEnv reads the configuration from the environment (and the secrets
// it names by ARN from AWS), checks it and wires the service, logging JSON to stderr: what `serve` and the Lambda
// share.
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
	log := newLogger(e, slog.LevelInfo)
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
	cfg, a, err := appFromEnv(ctx, e, modeServe)
	if err != nil {
		return err
	}
	if *slackRoutes && cfg.SocketMode() {
		if cfg.SigningSecret == "" {
			return fmt.Errorf("%w: --slack-routes serves Slack's signed Request URLs: set %s", errUsage, config.EnvSigningSecret)
		}
		a.enableSlackRoutes()
	}
	if err := a.Listen(*addr); err != nil {
		return err
	}
	a.log.Info("serving Slack commands", "addr", a.ln.Addr().String(), "targets", a.handler.TargetNames(), "audit_webhook", cfg.WebhookURL != "", "cloudfront_endpoint", cfg.CloudFrontEndpoint,
		"socket_mode", cfg.SocketMode(), "slack_routes", !cfg.SocketMode() || *slackRoutes)
	return a.runWithShutdown(ctx, *grace)
}
