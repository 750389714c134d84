package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cdnpurge/cdnpurge/internal/config"
)

// appFromEnv reads and checks the configuration from the environment and
// wires the service, logging JSON to stderr: what `serve` and the Lambda
// share.
func appFromEnv(ctx context.Context, e env, mode string) (config.Config, *app, error) {
	cfg := config.FromEnv(e.getenv)
	if err := cfg.Validate(); err != nil {
		return cfg, nil, fmt.Errorf("configuration:\n%w", err)
	}
	log := newLogger(e, slog.LevelInfo)
	if ignored := cfg.Ignored(); len(ignored) > 0 {
		log.Warn("targets come from the configuration file; these settings are not used", "ignored", ignored)
	}
	a, err := newApp(ctx, cfg, e.getenv, log, mode)
	return cfg, a, err
}

// runServe is `cdnpurge serve`: the HTTP server for Slack.
func runServe(ctx context.Context, e env) error {
	fs := newFlagSet("serve", e)
	addr := fs.String("addr", ":8080", "address to listen on, HOST:PORT")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	cfg, a, err := appFromEnv(ctx, e, modeServe)
	if err != nil {
		return err
	}
	if err := a.Listen(*addr); err != nil {
		return err
	}
	a.log.Info("serving Slack commands", "addr", a.ln.Addr().String(), "targets", a.handler.TargetNames(), "audit_webhook", cfg.WebhookURL != "", "cloudfront_endpoint", cfg.CloudFrontEndpoint)
	return a.runWithShutdown(ctx, shutdownGrace)
}
