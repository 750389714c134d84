package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cdnpurge/cdnpurge/internal/access"
	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/httpapi"
	"github.com/cdnpurge/cdnpurge/internal/lambdainvoke"
	"github.com/cdnpurge/cdnpurge/internal/metrics"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/service"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/socketmode"
)

// defaultShutdownGrace is how long a stopping `serve` waits, by default
// (--shutdown-grace), for requests in flight, background deliveries and
// follow-ups, before it tells the channels of the follow-ups still running
// to check later. With followup's AbandonTimeout for that last step it
// stays inside the 10 s a container runtime gives a process between
// SIGTERM and SIGKILL.
const defaultShutdownGrace = 8 * time.Second

// app is the Slack service: the handler on an HTTP server and, with an app
// token, the Socket Mode client beside it. A test can start the whole
// service on 127.0.0.1:0 with newApp and Listen.
type app struct {
	handler *httpapi.Handler
	// socket takes Slack's commands and clicks over Socket Mode; nil
	// without an app token (and in Lambda).
	socket   *socketmode.Client
	server   *http.Server
	ln       net.Listener
	log      *slog.Logger
	follower *followup.Follower
	// pool runs follow-ups in `serve`; nil in Lambda, which invokes itself.
	pool *followup.Pool
	// scheduler is the Lambda's self-invocation; nil in `serve`.
	scheduler *lambdainvoke.Scheduler
	// metricsHandler serves /metrics on the listener: serve's Prometheus
	// registry, or serveMetrics' 404 in the Lambda build. (The Lambda
	// serves handler alone behind its Function URL, no /metrics.)
	metricsHandler http.Handler
	// emf is, in Lambda, the app's one metrics sink; it writes what each
	// invocation counted to emfOut (stdout) as CloudWatch EMF. It is nil
	// in `serve`, and emfOut nil writes nothing.
	emf    *metrics.EMF
	emfOut io.Writer
}

// Where the app runs decides how follow-ups run.
const (
	modeServe  = "serve"
	modeLambda = "lambda"
)

// newApp wires the configuration to its backends. cfg must be valid.
func newApp(ctx context.Context, cfg config.Config, getenv func(string) string, log *slog.Logger, mode string) (*app, error) {
	awsCfg, err := loadAWSConfig(ctx, cfg, getenv)
	if err != nil {
		return nil, err
	}
	targets, err := cfg.Targets()
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	// The Lambda counts with the EMF sink alone; serve with Prometheus.
	var sink metrics.Sink
	var emf *metrics.EMF
	metricsHandler := http.NotFoundHandler()
	if mode == modeLambda {
		emf = metrics.NewEMF(nil)
		sink = emf
	} else {
		sink, metricsHandler = serveMetrics(log)
	}
	m := metrics.New(sink)
	inv := targetInvalidator(awsCfg, cfg, targets, m)
	poster := &slack.Poster{AllowLoopback: cfg.DevAllowLoopback, Metrics: m}
	// The handler and the follow-ups announce each invalidation once between
	// them: whichever created it.
	announced := &followup.Claims{}
	var auditor *slack.Auditor
	if cfg.WebhookURL.Value() != "" {
		// A follow-up's audit post must leave it time to hand on (Lambda) or
		// to finish inside the shutdown grace (serve).
		auditor = &slack.Auditor{Poster: poster, WebhookURL: cfg.WebhookURL.Value(), Logger: log, Timeout: 3 * time.Second}
	}
	a := &app{log: log, metricsHandler: metricsHandler, emf: emf, follower: &followup.Follower{Invalidator: inv, Poster: poster, Auditor: auditor, Announced: announced, Logger: log}}
	var followups followup.Scheduler
	switch mode {
	case modeLambda:
		// Lambda sets AWS_LAMBDA_FUNCTION_NAME; CDNPURGE_LAMBDA_ENDPOINT
		// points the self-invocation at a stand-in in tests.
		a.scheduler = lambdainvoke.New(awsCfg, getenv("AWS_LAMBDA_FUNCTION_NAME"), lambdainvoke.Options{Endpoint: getenv("CDNPURGE_LAMBDA_ENDPOINT")})
		followups = a.scheduler
	default:
		a.pool = followup.NewPool(a.follower, 0, log)
		followups = a.pool
		m.FollowupsInFlight(a.pool.Len)
	}
	var groups access.GroupMembers
	if cfg.BotToken != "" {
		groups = slack.NewUserGroups(cfg.BotToken.Value(), slack.UserGroupsOptions{APIURL: cfg.SlackAPIURL, Logger: log})
	}
	provs, err := providers(cfg, m)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	svc := service.New(service.Options{
		Providers:   provs,
		Targets:     targets,
		Groups:      groups,
		SealSecret:  cfg.SealKey().Value(),
		Invalidator: inv,
		WebhookURL:  cfg.WebhookURL.Value(),
		Poster:      poster,
		Logger:      log,
		Followups:   followups,
		Announced:   announced,
		Metrics:     m,
	})
	transport := metrics.TransportHTTP
	if mode == modeLambda {
		transport = metrics.TransportLambda
	}
	a.handler = httpapi.New(httpapi.Options{Service: svc, SigningSecret: cfg.SigningSecret.Value(), Logger: log, Metrics: m, Transport: transport})
	slackRoutes := true
	if cfg.SocketMode() && mode == modeServe {
		a.socket = socketmode.New(socketmode.Options{Service: svc, AppToken: cfg.AppToken.Value(), APIURL: cfg.SlackAPIURL, Poster: poster, Logger: log, Metrics: m})
		// Slack's commands come over the socket: the HTTP listener keeps
		// /healthz and /metrics, and the Slack routes only when
		// enableSlackRoutes asks.
		slackRoutes = false
	}
	a.server = &http.Server{
		Handler: a.routes(slackRoutes),
		// Slack's requests are small and quick; slow clients are cut off.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return a, nil
}

// targetInvalidator returns the CloudFront backend for the targets: the
// process's own credentials, and for each target with a role_arn a backend
// that assumes that role. Each role's credentials come from the SDK's STS
// AssumeRole provider inside its credentials cache, which refreshes them
// shortly before they expire, so a warm Lambda or `serve` calls STS about
// once an hour per role, not per purge.
//
// Every CloudFront call is counted by m; STS's are not.
func targetInvalidator(awsCfg aws.Config, cfg config.Config, targets *access.Targets, m *metrics.Metrics) purge.Invalidator {
	opts := cloudfrontcdn.Options{Endpoint: cfg.CloudFrontEndpoint}
	cfCfg := awsCfg.Copy()
	cfCfg.APIOptions = append(slices.Clone(awsCfg.APIOptions), m.AWSAPIOption(config.ProviderCloudFront))
	own := cloudfrontcdn.New(cfCfg, opts)
	router := purge.Router{Default: own, ByDistribution: map[string]purge.Invalidator{}}
	byRole := map[string]purge.Invalidator{}
	var stsClient *sts.Client
	for _, t := range targets.All() {
		if t.RoleARN == "" {
			continue
		}
		inv, ok := byRole[t.RoleARN]
		if !ok {
			if stsClient == nil {
				stsClient = sts.NewFromConfig(awsCfg)
			}
			roleCfg := cfCfg.Copy()
			roleCfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, t.RoleARN, func(o *stscreds.AssumeRoleOptions) {
				o.RoleSessionName = "cdnpurge"
				// An hour is every role's default MaximumSessionDuration;
				// the SDK's own default is 15 minutes.
				o.Duration = time.Hour
			}))
			inv = cloudfrontcdn.New(roleCfg, opts)
			byRole[t.RoleARN] = inv
		}
		router.ByDistribution[t.DistributionID] = inv
	}
	if len(byRole) == 0 {
		return own
	}
	return router
}

// newInvalidator builds the CloudFront backend from the AWS SDK's standard
// configuration chain. With a local endpoint and no AWS credentials in the
// environment it signs with placeholder credentials, which the emulator and
// moto_server accept, so that local runs need no AWS account.
func newInvalidator(ctx context.Context, cfg config.Config, getenv func(string) string) (*cloudfrontcdn.Invalidator, error) {
	awsCfg, err := loadAWSConfig(ctx, cfg, getenv)
	if err != nil {
		return nil, err
	}
	return cloudfrontcdn.New(awsCfg, cloudfrontcdn.Options{Endpoint: cfg.CloudFrontEndpoint}), nil
}

// localAccessKeyID is the placeholder access key for a local endpoint with
// no AWS credentials: shaped like a real one (word characters), so that
// emulators that read it take it as one.
const localAccessKeyID = "CDNPURGELOCAL"

// loadAWSConfig reads the AWS SDK's standard configuration chain (see
// newInvalidator for the local-endpoint exception).
func loadAWSConfig(ctx context.Context, cfg config.Config, getenv func(string) string) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if cfg.CloudFrontEndpoint != "" && getenv("AWS_ACCESS_KEY_ID") == "" && getenv("AWS_PROFILE") == "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(localAccessKeyID, "cdnpurge-local-placeholder", "")))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return awsCfg, nil
}

// Listen binds the server's address; "127.0.0.1:0" picks a free port.
func (a *app) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	a.ln = ln
	return nil
}

// enableSlackRoutes serves Slack's Request URLs over HTTP beside Socket
// Mode (serve --slack-routes); without Socket Mode they are always served.
func (a *app) enableSlackRoutes() { a.server.Handler = a.routes(true) }

// routes is what the listener serves: /metrics, /healthz, and Slack's
// routes when slackRoutes is set.
func (a *app) routes(slackRoutes bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metricsHandler)
	if slackRoutes {
		mux.Handle("/", a.handler)
	} else {
		mux.Handle("/healthz", a.handler)
	}
	return mux
}

// URL is the base URL the server answers on.
func (a *app) URL() string { return "http://" + a.ln.Addr().String() }

// Serve serves until Close; it returns nil after a clean Close.
func (a *app) Serve() error {
	if err := a.server.Serve(a.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops taking requests, lets those in flight finish, waits for
// background deliveries, and gives follow-ups the rest of ctx to finish;
// those still running then tell their channels to check later.
func (a *app) Close(ctx context.Context) error {
	err := a.server.Shutdown(ctx)
	if a.socket != nil {
		err = errors.Join(err, a.socket.Wait(ctx))
	}
	err = errors.Join(err, a.handler.Wait(ctx))
	if a.pool != nil {
		err = errors.Join(err, a.pool.Shutdown(ctx))
	}
	return err
}

// runWithShutdown serves until ctx is done, then closes: the Socket Mode
// client (if any) answers and acknowledges the envelopes in flight and
// closes its socket, the listener stops taking requests, and requests in
// flight, background deliveries and follow-ups get grace to finish; then
// the follow-ups still running tell their channels to check later (see
// Close). A Socket Mode client that stops by itself (Slack refused the
// token) stops the server the same way, and its error is returned.
func (a *app) runWithShutdown(ctx context.Context, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- a.Serve() }()
	sockCtx, stopSocket := context.WithCancel(ctx)
	defer stopSocket()
	var sockc chan error // nil, so never ready, without Socket Mode
	if a.socket != nil {
		sockc = make(chan error, 1)
		go func() { sockc <- a.socket.Run(sockCtx) }()
	}
	var failed error
	select {
	case err := <-errc:
		stopSocket()
		if sockc != nil {
			<-sockc
		}
		return err
	case err := <-sockc:
		sockc = nil
		if err != nil {
			failed = fmt.Errorf("socket mode: %w", err)
		}
	case <-ctx.Done():
	}
	a.log.Info("shutting down", "grace_seconds", grace.Seconds(), "followups_running", a.followupsRunning())
	stopSocket()
	if sockc != nil {
		<-sockc
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	switch err := a.Close(sctx); {
	case err == nil:
	case toldCutOff(err):
		// Follow-ups the grace period cut off are the operator's to know;
		// their channels were told to check later, so nothing was lost.
		a.log.Warn("shutdown", "error", err)
	default:
		a.log.Error("shutdown", "error", err)
		return errors.Join(failed, fmt.Errorf("shutdown: %w", err))
	}
	if failed != nil {
		return failed
	}
	return <-errc
}

// toldCutOff reports whether err from Close says only that follow-ups were
// cut off, each having told its channel: no request, delivery or message
// was lost.
func toldCutOff(err error) bool {
	if !errors.Is(err, followup.ErrCutOff) || errors.Is(err, followup.ErrUntold) {
		return false
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return true
	}
	for _, e := range joined.Unwrap() {
		if !toldCutOff(e) {
			return false
		}
	}
	return true
}

// followupsRunning is how many follow-ups the pool is running (0 in
// Lambda).
func (a *app) followupsRunning() int {
	if a.pool == nil {
		return 0
	}
	return a.pool.Len()
}

// newLogger returns the JSON logger every command writes to stderr.
func newLogger(e env, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level}))
}
