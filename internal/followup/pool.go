package followup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Errors from Pool.Schedule.
var (
	ErrPoolFull   = errors.New("follow-up pool is full")
	ErrPoolClosed = errors.New("follow-up pool is shutting down")
)

// ErrCutOff is in the error of Pool.Shutdown when the grace period ended
// with follow-ups still running.
var ErrCutOff = errors.New("grace period over with follow-ups still running")

// ErrUntold is in the error of Pool.Shutdown for each follow-up cut off
// whose channel could not be told to check later: a message lost.
var ErrUntold = errors.New("channel not told")

// Pool runs follow-ups in the background of a long-lived server, at most
// Size at once. A request for an invalidation already being followed is
// taken once. Shutdown stops it taking work, lets follow-ups finish within
// a grace period, and tells the channel about the rest.
type Pool struct {
	follower *Follower
	size     int
	log      *slog.Logger

	ctx    context.Context // ends the follow-ups when the grace period is over
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	inflight map[string]bool
	cutOff   int     // follow-ups the end of the grace period stopped
	untold   []error // why their channels were not told
}

// AbandonTimeout bounds how long a follow-up cut off by Shutdown takes to
// tell its channel to check later: after the grace period, a stopping
// server has little time left before it is killed (a container runtime
// waits 10 s after SIGTERM; serve's default grace is 8 s).
const AbandonTimeout = 1500 * time.Millisecond

// DefaultPoolSize bounds concurrent follow-ups in `serve`: each is a
// goroutine polling every few seconds, so the bound is about memory and the
// CloudFront API rate, not CPU.
const DefaultPoolSize = 256

// NewPool returns a Pool of at most size follow-ups (DefaultPoolSize if 0).
func NewPool(f *Follower, size int, log *slog.Logger) *Pool {
	if size <= 0 {
		size = DefaultPoolSize
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Pool{follower: f, size: size, log: log, ctx: ctx, cancel: cancel, inflight: map[string]bool{}}
}

// Schedule starts following req in the background. It returns at once:
// ErrPoolFull or ErrPoolClosed when it cannot take the request (the caller
// tells the user so), nil otherwise, also for a request already followed.
func (p *Pool) Schedule(_ context.Context, req Request) error {
	if err := req.Validate(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return ErrPoolClosed
	case p.inflight[req.Key()]:
		return nil
	case len(p.inflight) >= p.size:
		return ErrPoolFull
	}
	p.inflight[req.Key()] = true
	p.wg.Add(1)
	go p.run(req)
	return nil
}

func (p *Pool) run(req Request) {
	defer p.wg.Done()
	// The key it was scheduled under: Follow names the invalidation in req
	// once it creates one, which changes req.Key().
	key := req.Key()
	defer func() {
		p.mu.Lock()
		delete(p.inflight, key)
		p.mu.Unlock()
	}()
	// A panic in one follow-up must not stop the server and every other.
	defer func() {
		if v := recover(); v != nil {
			p.log.Error("panic in a follow-up", "invalidation", req.InvalidationID, "panic", v)
		}
	}()
	outcome, err := p.follower.Follow(p.ctx, &req)
	if outcome != Unfinished {
		if err != nil {
			p.log.Error("follow-up failed", "invalidation", req.InvalidationID, "outcome", outcome, "error", err)
		}
		return
	}
	// The server is stopping: hand the invalidation over to the people in
	// the channel, with its ID to check later.
	ctx, cancel := context.WithTimeout(context.Background(), AbandonTimeout)
	defer cancel()
	err = p.follower.Abandon(ctx, req)
	p.mu.Lock()
	p.cutOff++
	if err != nil {
		p.untold = append(p.untold, fmt.Errorf("%w: %w", ErrUntold, err))
	}
	p.mu.Unlock()
	if err != nil {
		p.log.Error("follow-up abandoned without telling the channel", "invalidation", req.InvalidationID, "error", err)
	}
}

// Len reports how many follow-ups are running.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.inflight)
}

// Shutdown stops taking follow-ups and waits for those running until ctx
// ends; then it stops them, each telling its channel that it is still in
// progress, and waits for that too. It returns nil when every follow-up
// finished in time; otherwise an error matching ErrCutOff that says how
// many were cut off, joined with the failures to tell their channels.
func (p *Pool) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	p.log.Warn("grace period over: handing follow-ups back to their channels", "running", p.Len())
	p.cancel()
	<-done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cutOff == 0 {
		// They all finished as the grace period ended.
		return nil
	}
	return errors.Join(append([]error{fmt.Errorf("%w: %d cut off", ErrCutOff, p.cutOff)}, p.untold...)...)
}
