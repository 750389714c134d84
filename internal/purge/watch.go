package purge

import (
	"context"
	"time"
)

// WatchOptions shape how Watch polls.
type WatchOptions struct {
	// FirstDelay is the pause before the second poll; 0 means 1 s. Most
	// invalidations finish in seconds, so polling starts fast.
	FirstDelay time.Duration
	// MaxDelay caps the pause between polls, which grows by half each time;
	// 0 means 30 s.
	MaxDelay time.Duration
	// Progress, if set, is called with every state read.
	Progress func(*Invalidation)
}

// Watch polls an invalidation until it is Completed or ctx is done, with a
// growing pause between polls. It returns the last state it read; the error
// is ctx's when the watch gave up first, or a backend error that is not
// Temporary (a Temporary one is polled again).
func Watch(ctx context.Context, inv Invalidator, distributionID, id string, opts WatchOptions) (*Invalidation, error) {
	delay, maxDelay := opts.FirstDelay, opts.MaxDelay
	if delay <= 0 {
		delay = time.Second
	}
	if maxDelay <= 0 {
		maxDelay = 30 * time.Second
	}
	var last *Invalidation
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-timer.C:
		}
		got, err := inv.GetInvalidation(ctx, distributionID, id)
		switch {
		case err == nil:
			last = got
			if opts.Progress != nil {
				opts.Progress(got)
			}
			if got.Done() {
				return got, nil
			}
		case ctx.Err() != nil:
			return last, ctx.Err()
		case !Temporary(err):
			return last, err
		}
		timer.Reset(delay)
		delay = min(delay+delay/2, maxDelay)
	}
}
