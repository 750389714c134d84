package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cdnpurge/cdnpurge/internal/config"
)

// runServe is `cdnpurge serve`: the HTTP server for Slack.
func runServe(ctx context.Context, e env) error {
	fs := newFlagSet("serve", e)
	addr := fs.String("addr", ":8080", "address to listen on, HOST:PORT")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	cfg := config.FromEnv(e.getenv)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := newLogger(e, slog.LevelInfo)
	a, err := newApp(ctx, cfg, e.getenv, log)
	if err != nil {
		return err
	}
	if err := a.Listen(*addr); err != nil {
		return err
	}
	log.Info("serving Slack commands", "addr", a.ln.Addr().String(), "distribution", cfg.DistributionID,
		"channels", cfg.Channels, "audit_webhook", cfg.WebhookURL != "", "cloudfront_endpoint", cfg.CloudFrontEndpoint)
	return a.runWithShutdown(ctx)
}
