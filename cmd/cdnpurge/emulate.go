package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

// defaultDistributionID is the example ID of the AWS documentation, used by
// the emulator and the demo when none is given.
const defaultDistributionID = "EDFDVBD6EXAMPLE"

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// runEmulate is `cdnpurge emulate`: a local CloudFront API.
func runEmulate(ctx context.Context, e env) error {
	fs := newFlagSet("emulate", e)
	addr := fs.String("addr", "127.0.0.1:4510", "address to listen on, HOST:PORT")
	var dists stringList
	fs.Var(&dists, "distribution", "a distribution ID that exists (repeatable; default "+defaultDistributionID+")")
	completeAfter := fs.Duration("complete-after", 5*time.Second, "how long an invalidation stays InProgress")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if len(dists) == 0 {
		dists = stringList{defaultDistributionID}
	}
	for _, d := range dists {
		if !config.IsDistributionID(d) {
			return fmt.Errorf("%w: --distribution %q is not a distribution ID (upper-case letters and digits)", errUsage, d)
		}
	}
	log := newLogger(e, slog.LevelInfo)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	srv := &http.Server{
		Handler:           emulator.New(emulator.Options{Distributions: dists, CompleteAfter: *completeAfter, Logger: log}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	fmt.Fprintf(e.stdout, "CloudFront emulator on http://%s (distributions: %s; invalidations complete after %s)\n"+
		"Try: aws cloudfront create-invalidation --endpoint-url http://%[1]s --distribution-id %[4]s --paths '/*'\n",
		ln.Addr(), strings.Join(dists, ", "), *completeAfter, dists[0])
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
